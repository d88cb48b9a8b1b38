"""Shared fixtures: one real local SparkSession for the whole run, and the bundled sample data."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

SAMPLE_DIR = Path(__file__).resolve().parents[1] / "src" / "sparktag" / "data" / "sample"


@pytest.fixture(scope="session")
def spark():
    """A real local[2] SparkSession, stopped at the end of the run."""
    import sparktag

    session = sparktag.start(master="local[2]", driver_memory="2g")
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()


@pytest.fixture(scope="session")
def sample_dir() -> Path:
    return SAMPLE_DIR

"""Shared fixtures: one real local SparkSession for the whole run, and the bundled sample data."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest

os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
# Every Spark JVM of a test run (this session's, and those of the `sparktag` commands and workers the tests
# start) lives minutes at most, on two cores: C2's optimised code does not repay compiling it. C1 alone runs the
# same code on a third less CPU (tests/spark: 66 -> 44 CPU-s; one `sparktag train`: its JVM's 36 -> 18).
os.environ.setdefault("PYSPARK_SUBMIT_ARGS", "--driver-java-options=-XX:TieredStopAtLevel=1 pyspark-shell")
# Caches (word-vector indexes) go to a folder of this run, never the user's home.
os.environ.setdefault("SPARKTAG_CACHE", tempfile.mkdtemp(prefix="sparktag-test-cache-"))

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


def sample_words() -> list[str]:
    """Every distinct token of the bundled sample, in first-seen order."""
    from sparktag.embeddings.tiny import conll_words

    return conll_words(SAMPLE_DIR / "train.conll", SAMPLE_DIR / "test.conll")


@pytest.fixture(scope="session")
def sample_bert_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny random 1-layer BERT (hidden 32) whose vocab holds every sample word, saved as an HF folder."""
    from sparktag.embeddings.tiny import save_tiny_bert

    return save_tiny_bert(tmp_path_factory.mktemp("sample_bert"), sample_words())

"""Shared fixtures: one real local SparkSession for the whole run, and the bundled sample data."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest

os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
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
    words: dict[str, None] = {}
    for name in ("train.conll", "test.conll"):
        for line in (SAMPLE_DIR / name).read_text(encoding="utf-8").splitlines():
            parts = line.split(" ")
            if len(parts) >= 4 and parts[0] != "-DOCSTART-":
                words.setdefault(parts[0], None)
    return list(words)


@pytest.fixture(scope="session")
def sample_bert_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny random 1-layer BERT (hidden 32) whose vocab holds every sample word, saved as an HF folder.

    Random weights still give each word its own contextual vector, which is all a tagger needs to fit the
    sample; nothing is downloaded.
    """
    import torch
    from transformers import BertConfig, BertModel, BertTokenizer

    folder = tmp_path_factory.mktemp("sample_bert")
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *sample_words()]
    tokenizer = BertTokenizer(vocab={w: i for i, w in enumerate(vocab)}, do_lower_case=False)
    tokenizer.save_pretrained(folder)
    torch.manual_seed(0)
    config = BertConfig(
        vocab_size=len(vocab),
        hidden_size=32,
        num_hidden_layers=1,
        num_attention_heads=2,
        intermediate_size=48,
        max_position_embeddings=256,
    )
    BertModel(config).eval().save_pretrained(folder)
    return folder

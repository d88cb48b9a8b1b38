"""A tiny random BERT saved as a local Hugging Face folder, so encoder tests need no download."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")

# Cased words and their lowercase forms, so ``case_sensitive`` changes the wordpieces.
TINY_WORDS = (  # noqa: SIM905 (one string reads better than 36 one-word lines)
    "the cat sat on a mat . , john John lives in new york New York peter Peter berlin Berlin "
    "eu EU rejects german German call to boycott british lamb un ##aff ##able ##s ##ing ##ed"
).split()


@pytest.fixture(scope="session")
def tiny_bert_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A cased 2-layer BERT (hidden size 32) with a 41-entry vocab, saved with ``save_pretrained``."""
    from transformers import AutoTokenizer

    from tiny_bert import save_tiny_bert

    folder = save_tiny_bert(tmp_path_factory.mktemp("tiny_bert"), TINY_WORDS, layers=2, intermediate_size=37)
    reloaded = AutoTokenizer.from_pretrained(str(folder), local_files_only=True)
    assert reloaded.tokenize("unaffable John") == ["un", "##aff", "##able", "John"]
    return folder

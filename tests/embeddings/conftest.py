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
TINY_VOCAB = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *TINY_WORDS]


@pytest.fixture(scope="session")
def tiny_bert_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A cased 2-layer BERT (hidden size 32) with a 41-entry vocab, saved with ``save_pretrained``."""
    import torch
    from transformers import AutoTokenizer, BertConfig, BertModel, BertTokenizer

    folder = tmp_path_factory.mktemp("tiny_bert")
    # transformers 5 ignores ``vocab_file=``; a vocab dict builds the real WordPiece tokenizer.
    tokenizer = BertTokenizer(vocab={w: i for i, w in enumerate(TINY_VOCAB)}, do_lower_case=False)
    tokenizer.save_pretrained(folder)
    (folder / "vocab.txt").write_text("\n".join(TINY_VOCAB) + "\n", encoding="utf-8")
    torch.manual_seed(0)
    config = BertConfig(
        vocab_size=len(TINY_VOCAB),
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=37,
        max_position_embeddings=256,
    )
    BertModel(config).eval().save_pretrained(folder)
    reloaded = AutoTokenizer.from_pretrained(str(folder), local_files_only=True)
    assert reloaded.tokenize("unaffable John") == ["un", "##aff", "##able", "John"]
    return folder

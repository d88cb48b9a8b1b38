"""Tiny random BERT folders, made locally: for tests and benchmarks that must not download a model.

Random weights still give each vocabulary word its own contextual vector, which is all a tagger needs to
fit a small sample; the folder loads like any Hugging Face model (``BertEmbeddings.loadSavedModel``).
"""

from __future__ import annotations

import os
from pathlib import Path

SPECIAL_TOKENS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]


def conll_words(*paths: str | os.PathLike[str]) -> list[str]:
    """Every distinct token of the CoNLL files, in first-seen order."""
    from sparktag.core.conll import read_conll_documents

    words: dict[str, None] = {}
    for path in paths:
        for doc in read_conll_documents(str(path)):
            for sentence in doc.sentences:
                for token in sentence.tokens:
                    words.setdefault(token.text, None)
    return list(words)


def save_tiny_bert(
    folder: str | os.PathLike[str],
    words: list[str],
    *,
    hidden_size: int = 32,
    layers: int = 1,
    heads: int = 2,
    intermediate_size: int = 48,
    max_positions: int = 256,
    seed: int = 0,
) -> Path:
    """Save a cased WordPiece tokenizer over ``words`` and a random BERT with ``save_pretrained``.

    Args:
        folder: where to write (created if needed).
        words: the vocabulary after the special tokens (``##`` pieces allowed).
        hidden_size, layers, heads, intermediate_size, max_positions: the BertConfig.
        seed: torch seed of the weights: same seed, same model.

    Returns:
        the folder.
    """
    import torch
    from transformers import BertConfig, BertModel, BertTokenizer

    out = Path(folder)
    vocab = [*SPECIAL_TOKENS, *words]
    # transformers 5 ignores ``vocab_file=``; a vocab dict builds the real WordPiece tokenizer.
    BertTokenizer(vocab={w: i for i, w in enumerate(vocab)}, do_lower_case=False).save_pretrained(out)
    torch.manual_seed(seed)
    config = BertConfig(
        vocab_size=len(vocab),
        hidden_size=hidden_size,
        num_hidden_layers=layers,
        num_attention_heads=heads,
        intermediate_size=intermediate_size,
        max_position_embeddings=max_positions,
    )
    BertModel(config).eval().save_pretrained(out)
    return out

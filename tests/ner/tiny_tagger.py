"""A tiny tagger trained on six repeated sentences, for the tests of the predictor and of the model files
(``test_tagger.py``, ``test_model_files.py``): it learns the data exactly within a second."""

from __future__ import annotations

import numpy as np

from sparktag.ner.config import TrainConfig
from sparktag.ner.data import NerExample
from sparktag.ner.train import TrainResult, train

DIM = 12
ENTITIES = {"Paris": "B-LOC", "Rome": "B-LOC", "Anna": "B-PER", "Marco": "B-PER", "Rossi": "I-PER"}
WORDS = ["Paris", "Rome", "Anna", "Marco", "Rossi", "went", "to", "from", "and", "."]
TABLE = {w: np.random.default_rng(i).standard_normal(DIM).astype(np.float32) for i, w in enumerate(WORDS)}


def sentence(words: list[str]) -> NerExample:
    return NerExample(words, np.stack([TABLE[w] for w in words]), [ENTITIES.get(w, "O") for w in words])


DATA = [
    sentence(s.split())
    for s in [
        "Anna went to Paris .",
        "Marco Rossi went to Rome .",
        "Anna and Marco went from Rome to Paris",
        "Marco went to Paris .",
        "Anna Rossi went from Paris .",
        "Rome and Paris",
    ]
    * 4
]


def train_tiny(casing_dim: int = 0) -> TrainResult:
    config = TrainConfig(
        lr=0.02,
        po=0.0,
        max_epochs=8,
        random_seed=1,
        dropout=0.9,
        char_cnn_filters=6,
        lstm_hidden=12,
        num_threads=1,
        casing_dim=casing_dim,
    )
    return train(DATA, config)


def inputs(examples: list[NerExample]) -> tuple[list[list[str]], list[np.ndarray]]:
    return [e.tokens for e in examples], [e.embeddings for e in examples]

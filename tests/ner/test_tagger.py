"""The predictor: tags in input order, CRF confidences and per-tag scores, clear errors on wrong inputs."""

from __future__ import annotations

import numpy as np
import pytest

from sparktag.ner.data import NerExample
from sparktag.ner.tagger import Tagger, TokenPrediction

from tiny_tagger import DATA, DIM, TABLE, inputs, train_tiny


@pytest.fixture(scope="module")
def tagger() -> Tagger:
    return train_tiny().tagger


def test_predict_tags_in_input_order_with_scores(tagger: Tagger) -> None:
    examples = [DATA[2], NerExample([], np.zeros((0, DIM), np.float32)), DATA[0]]
    tokens, embeddings = inputs(examples)
    plain = tagger.predict(tokens, embeddings, batch_size=1)
    assert [[p.tag for p in s] for s in plain] == [DATA[2].tags, [], DATA[0].tags]  # it learned the data
    assert plain[0][0] == TokenPrediction("B-PER", None, None)
    scored = tagger.predict(tokens, embeddings, include_confidence=True, include_all_scores=True)
    for predictions in scored:
        for tag, confidence, scores in predictions:
            assert confidence is not None and scores is not None
            assert 0.0 <= confidence <= 1.0 and confidence == pytest.approx(scores[tag])
            assert sum(scores.values()) == pytest.approx(1.0, abs=1e-5) and list(scores) == tagger.tags
    confident = tagger.predict(tokens, embeddings, include_confidence=True)
    assert confident[0][0].scores is None and confident[0][0].confidence == scored[0][0].confidence


def test_embedding_dimension_mismatch_names_both_dims(tagger: Tagger) -> None:
    with pytest.raises(
        ValueError,
        match=f"sentence 1: word embeddings have dimension 7 but the model was trained with dim {DIM}",
    ):
        tagger.predict([["Anna"], ["Rome"]], [TABLE["Anna"][None], np.zeros((1, 7), np.float32)])
    with pytest.raises(ValueError, match="2 token lists but 1 embedding arrays"):
        tagger.predict([["Anna"], ["Rome"]], [TABLE["Anna"][None]])

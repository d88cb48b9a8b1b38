"""Gold labels against tokens: the tag each token gets, and the labels no token carries."""

from __future__ import annotations

from sparktag.annotation import Annotation
from sparktag.core.labels import align_labels, labels_without_token


def ann(kind: str, begin: int, end: int, result: str) -> Annotation:
    return Annotation(kind, begin, end, result, {})


def test_align_labels_matches_by_span_and_continues_split_words():
    # "New-York is big": the label covers "New-York", which a tokenizer split into three tokens
    tokens = [ann("token", 0, 2, "New"), ann("token", 3, 3, "-"), ann("token", 4, 7, "York")]
    tokens += [ann("token", 9, 10, "is"), ann("token", 12, 14, "big")]
    labels = [
        ann("named_entity", 0, 7, "B-LOC"),
        ann("named_entity", 9, 10, "O"),
        ann("named_entity", 12, 14, "S-X"),
    ]
    assert align_labels(tokens, labels) == ["B-LOC", "I-LOC", "I-LOC", "O", "S-X"]
    assert align_labels(tokens, labels, entities=["X"]) == ["O", "O", "O", "O", "S-X"]
    assert align_labels(tokens, []) == ["O"] * 5


def test_labels_without_token_tells_lost_labels_from_absorbed_ones():
    # "Ms New York visited" with an exception joining "New York" into one token, and "Ms" dropped by minLength
    tokens = [ann("token", 3, 10, "New York"), ann("token", 12, 18, "visited")]
    labels = [
        ann("named_entity", 0, 1, "B-PER"),
        ann("named_entity", 3, 5, "B-LOC"),
        ann("named_entity", 7, 10, "I-LOC"),
        ann("named_entity", 12, 18, "O"),
        ann("named_entity", 20, 22, "O"),
    ]
    assert [(a.begin, a.result) for a in labels_without_token(tokens, labels)] == [(0, "B-PER")]
    assert labels_without_token([], [ann("named_entity", 0, 2, "O")]) == []
    assert labels_without_token(tokens[::-1], labels[1:3]) == []

"""tag_rows: one named_entity annotation per token, sentences tagged in one call across rows."""

from __future__ import annotations

import pytest

from sparktag.annotation import Annotation
from sparktag.ner.annotate import tag_rows


class Tagger:
    def __init__(self):
        self.calls = []

    def predict(self, tokens, vectors, batch_size, include_confidence, include_all_scores):
        self.calls.append((tokens, [v.shape for v in vectors], batch_size))
        return [
            [("B-X" if i == 0 else "O", 0.5, {"B-X": 0.25, "O": 0.75}) for i, _ in enumerate(s)]
            for s in tokens
        ]


def row(words: str, sentence: str = "0") -> tuple[list[Annotation], list[Annotation]]:
    toks, embs, pos = [], [], 0
    for word in words.split():
        meta = {"sentence": sentence}
        toks.append(Annotation("token", pos, pos + len(word) - 1, word, meta))
        embs.append(Annotation("word_embeddings", pos, pos + len(word) - 1, word, meta, [1.0, 2.0]))
        pos += len(word) + 1
    return toks, embs


def test_every_token_gets_a_tag_and_the_scores_asked_for():
    (t1, e1), (t2, e2) = row("Anna lives"), row("Oslo")
    tagger = Tagger()
    out = tag_rows([t1, [], t2], [e1, [], e2], tagger, 8, with_conf=True, with_all=False)
    assert tagger.calls == [([["Anna", "lives"], ["Oslo"]], [(2, 2), (1, 2)], 8)]
    assert [[a.result for a in r] for r in out] == [["B-X", "O"], [], ["B-X"]]
    assert out[0][0].metadata == {"word": "Anna", "sentence": "0", "confidence": "0.5000"}
    (every,) = tag_rows([t2], [e2], Tagger(), 8, with_conf=False, with_all=True)
    assert every[0].metadata == {"word": "Oslo", "sentence": "0", "B-X": "0.2500", "O": "0.7500"}


def test_a_token_without_a_vector_is_an_error():
    tokens, embeddings = row("Anna lives")
    with pytest.raises(ValueError, match="token 'lives' at 5-9 has no word embedding"):
        tag_rows([tokens], [embeddings[:1]], Tagger(), 8, False, False)

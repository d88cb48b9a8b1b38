"""Token annotations -> word_embeddings annotations (what BertEmbeddings and WordEmbeddingsModel map)."""

from __future__ import annotations

import numpy as np

from sparktag.annotation import Annotation
from sparktag.embeddings.annotate import embed_rows, lookup_rows


def tokens(words: str, sentence: str = "0", start: int = 0) -> list[Annotation]:
    out, pos = [], start
    for word in words.split():
        out.append(Annotation("token", pos, pos + len(word) - 1, word, {"sentence": sentence}))
        pos += len(word) + 1
    return out


def test_embed_rows_encodes_each_sentence_once_across_rows():
    calls = []

    def embed(sentences):
        calls.append(sentences)
        return [np.full((len(s), 2), i, np.float32) for i, s in enumerate(sentences)]

    rows = [tokens("Anna lives") + tokens("Bye", "1", 11), [], tokens("Oslo")]
    out = embed_rows(rows, embed)
    assert calls == [[["Anna", "lives"], ["Bye"], ["Oslo"]]]  # one call for the batch, one sentence each
    assert [[a.embeddings.tolist() for a in row] for row in out] == [[[0, 0], [0, 0], [1, 1]], [], [[2, 2]]]
    assert out[0][2].metadata == {"sentence": "1", "token": "Bye", "isWordStart": "true", "isOOV": "false"}
    assert embed_rows([[]], embed) == [[]] and len(calls) == 1  # nothing to embed: no call


class Vectors:
    def lookup(self, words, case_sensitive):
        known = {"anna": [1.0, 2.0]}
        matrix = np.array([known.get(w.lower(), [0.0, 0.0]) for w in words], np.float32)
        return matrix, [w.lower() not in known for w in words]


def test_lookup_rows_marks_unknown_tokens():
    (row,) = lookup_rows([tokens("Anna zzz")], Vectors(), case_sensitive=False)
    assert [a.embeddings.tolist() for a in row] == [[1.0, 2.0], [0.0, 0.0]]
    assert [a.metadata["isOOV"] for a in row] == ["false", "true"]
    assert list(row[0].metadata) == ["sentence", "token", "isOOV", "isWordStart"]  # Spark NLP's order

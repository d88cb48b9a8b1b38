"""Token annotations -> ``word_embeddings`` annotations, from a transformer encoder or a word-vector index.

The logic of the ``BertEmbeddings`` and ``WordEmbeddingsModel`` stages: the Spark stages map these functions over
Arrow batches and LightPipeline calls them in-process, so both give the same annotations.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from sparktag.annotation import Annotation, AnnotatorType
from sparktag.core.tokens import tokens_by_sentence


def _embedding(token: Annotation, vector: Any, flags: dict[str, str]) -> Annotation:
    """Spark NLP's ``word_embeddings`` annotation of one token; ``flags`` are ``isWordStart`` and ``isOOV``, in
    the order the stage writes them (metadata order shows in Finisher's string output)."""
    metadata = {"sentence": token.metadata.get("sentence", "0"), "token": token.result, **flags}
    return Annotation(AnnotatorType.WORD_EMBEDDINGS, token.begin, token.end, token.result, metadata, vector)


_IN_CONTEXT = {"isWordStart": "true", "isOOV": "false"}  # BertEmbeddings: every token has a vector


def embed_rows(
    token_rows: Sequence[Sequence[Annotation]], embed: Callable[[list[list[str]]], Sequence[Any]]
) -> list[list[Annotation]]:
    """Embed every sentence of a batch of rows in one call; one ``word_embeddings`` annotation per token.

    Tokens are grouped by their ``sentence`` metadata, so a row's sentences are encoded separately
    (a sentence is the model's context, as in Spark NLP); the sentence column itself is not needed.

    Args:
        token_rows: each row's ``token`` annotations.
        embed: sentences (lists of words) -> one ``(n_words, dim)`` float32 matrix each, e.g.
            ``lambda s: encoder.embed(s, config)`` of a :class:`~sparktag.embeddings.transformer.TransformerEncoder`.

    Returns:
        One list of annotations per row; each vector is a row of its sentence's matrix (no copy).
    """
    groups: list[list[Annotation]] = []  # one list of tokens per sentence, across all rows
    owners: list[int] = []  # row of each group
    for row, tokens in enumerate(token_rows):
        for sentence_tokens in tokens_by_sentence(tokens):
            groups.append(sentence_tokens)
            owners.append(row)
    vectors = embed([[t.result for t in g] for g in groups]) if groups else []
    out: list[list[Annotation]] = [[] for _ in token_rows]
    for group, row, matrix in zip(groups, owners, vectors, strict=True):
        out[row].extend(_embedding(t, vector, _IN_CONTEXT) for t, vector in zip(group, matrix, strict=True))
    return out


def lookup_rows(
    token_rows: Sequence[Sequence[Annotation]], vectors: Any, case_sensitive: bool
) -> list[list[Annotation]]:
    """Look every token up in a word-vector index; one ``word_embeddings`` annotation per token.

    Args:
        token_rows: each row's ``token`` annotations.
        vectors: a :class:`~sparktag.embeddings.word_vectors.WordVectors` index.
        case_sensitive: match words with their case; otherwise as the index's lowercase fallback does.

    Returns:
        One list of annotations per row; an unknown token gets a zero vector and metadata ``isOOV=true``.
    """
    out = []
    for tokens in token_rows:
        matrix, oov = vectors.lookup([t.result for t in tokens], case_sensitive)
        out.append(
            [
                _embedding(t, row, {"isOOV": "true" if is_oov else "false", "isWordStart": "true"})
                for t, row, is_oov in zip(tokens, matrix, oov, strict=True)
            ]
        )
    return out

"""A trained tagger over annotation rows: tokens + word embeddings in, one ``named_entity`` per token out.

The logic of ``NerDLModel``: the Spark stage maps :func:`tag_rows` over Arrow batches and LightPipeline calls it
in-process, so both give the same annotations. No Spark, no MLflow: the tagger is any object with
``predict(tokens, vectors, batch_size=..., include_confidence=..., include_all_scores=...)``.
"""

from __future__ import annotations

from typing import Any

from sparktag.annotation import Annotation, AnnotatorType
from sparktag.core.tokens import tokens_by_sentence


def tag_rows(
    token_rows: list[list[Annotation]],
    embedding_rows: list[list[Annotation]],
    tagger: Any,
    batch_size: int,
    with_conf: bool,
    with_all: bool,
) -> list[list[Annotation]]:
    """Tag every sentence of a batch of rows in one call; one ``named_entity`` annotation per token.

    Args:
        token_rows: each row's ``token`` annotations; a row's sentences are told apart by ``sentence`` metadata.
        embedding_rows: each row's ``word_embeddings`` annotations, matched to tokens by their begin.
        tagger: the trained ``Tagger`` (what NerDLModel loads from its files).
        batch_size: sentences per forward pass.
        with_conf: add the chosen tag's probability as metadata ``confidence`` (includeConfidence).
        with_all: add every tag's probability, keyed by the tag (includeAllConfidenceScores).

    Returns:
        One list of annotations per row, metadata ``word`` and ``sentence`` (plus the scores asked for).

    Raises:
        ValueError: a token has no word embedding (the embeddings come from another token column).
    """
    import numpy as np

    sentences: list[list[Annotation]] = []
    vectors: list[Any] = []
    owners: list[int] = []
    for row, (tokens, embeddings) in enumerate(zip(token_rows, embedding_rows, strict=True)):
        by_begin = {e.begin: e.embeddings for e in embeddings}
        for group in tokens_by_sentence(tokens):
            missing = [t for t in group if t.begin not in by_begin]
            if missing:
                t = missing[0]
                raise ValueError(
                    f"NerDLModel: token {t.result!r} at {t.begin}-{t.end} has no word embedding; the embeddings "
                    "column must come from the same token column"
                )
            sentences.append(group)
            vectors.append(np.asarray([by_begin[t.begin] for t in group], dtype=np.float32))
            owners.append(row)
    predictions = (
        tagger.predict(
            [[t.result for t in g] for g in sentences],
            vectors,
            batch_size=batch_size,
            include_confidence=with_conf,
            include_all_scores=with_all,
        )
        if sentences
        else []
    )
    out: list[list[Annotation]] = [[] for _ in token_rows]
    for group, row, tagged in zip(sentences, owners, predictions, strict=True):
        for token, (tag, confidence, scores) in zip(group, tagged, strict=True):
            meta = {"word": token.result, "sentence": token.metadata.get("sentence", "0")}
            if with_conf and confidence is not None:
                meta["confidence"] = f"{confidence:.4f}"
            if with_all and scores:
                meta.update({k: f"{v:.4f}" for k, v in scores.items()})
            out[row].append(Annotation(AnnotatorType.NAMED_ENTITY, token.begin, token.end, tag, meta))
    return out

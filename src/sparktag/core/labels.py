"""Gold labels against tokens: which tag each token gets, and which labels no token carries.

A labelled DataFrame (``CoNLL().readDataset``, or any ``named_entity`` column) and the tokens a pipeline makes
of the same text are matched by character span, as Spark NLP's NerDLApproach matches them. NerDLApproach's
featurising and the trackers' evaluation call these functions; what a valid tag is lives in
:func:`sparktag.core.chunks.is_iob_tag`.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Sequence

from sparktag.annotation import Annotation


def align_labels(
    tokens: Sequence[Annotation], labels: Sequence[Annotation], entities: Sequence[str] | None = None
) -> list[str]:
    """Each token's gold tag, matched by character span as Spark NLP does.

    The label whose span covers the token's begin; a token no label covers is ``O``. When re-tokenizing splits
    one labelled word into several tokens, the pieces after the first continue the entity (``B-X`` becomes
    ``I-X``).

    Args:
        tokens: one sentence's (or row's) ``token`` annotations, in order.
        labels: the row's ``named_entity`` labels.
        entities: entity types to keep; a tag of any other type becomes ``O``. All when empty or None.

    Returns:
        One tag per token.

    Example:
        >>> tokens = [Annotation("token", 0, 3, "Anna"), Annotation("token", 5, 8, "Berg")]
        >>> align_labels(tokens, [Annotation("named_entity", 0, 8, "B-PER")])
        ['B-PER', 'I-PER']
    """
    spans = sorted((a.begin, a.end, a.result) for a in labels)
    tags: list[str] = []
    j = 0
    last_span = None
    for token in tokens:
        while j < len(spans) and spans[j][1] < token.begin:
            j += 1
        tag = "O"
        if j < len(spans) and spans[j][0] <= token.begin <= spans[j][1]:
            tag = spans[j][2]
            if last_span == j and tag.startswith(("B-", "S-")):
                tag = "I-" + tag[2:]
            last_span = j
        if entities and tag != "O" and tag.split("-", 1)[-1] not in entities:
            tag = "O"
        tags.append(tag)
    return tags


def labels_without_token(tokens: Sequence[Annotation], labels: Sequence[Annotation]) -> list[Annotation]:
    """Entity labels (not ``O``) whose character span overlaps no token.

    Labels describing another text, or tokens a tokenizer setting dropped. A label merely absorbed into a longer
    token (an exception joining "New York") overlaps that token and is not reported.

    Example:
        >>> tokens = [Annotation("token", 3, 10, "New York")]
        >>> labels = [Annotation("named_entity", 0, 1, "B-PER"), Annotation("named_entity", 3, 5, "B-LOC")]
        >>> [a.result for a in labels_without_token(tokens, labels)]
        ['B-PER']
    """
    ordered = sorted(tokens, key=lambda t: t.begin)
    ends = [t.end for t in ordered]
    lost = []
    for label in labels:
        if label.result == "O":
            continue
        i = bisect_left(ends, label.begin)  # first token ending at or after the label's begin
        if i == len(ordered) or ordered[i].begin > label.end:
            lost.append(label)
    return lost

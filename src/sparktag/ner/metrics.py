"""Token-level scores (what Spark NLP's NerDL log prints) and entity-level scores (what conlleval prints).

* :func:`token_scores` counts tag by tag, as ``TensorflowNer.measure`` in Spark NLP does: ``B-PER`` and
  ``I-PER`` are separate labels, ``O`` is never a label, and a token tagged wrong is a false positive of the
  predicted tag and a false negative of the gold tag.
* :func:`entity_scores` is strict CoNLL: a predicted chunk counts only if its type, first and last token all
  match a gold chunk (chunks read by :func:`sparktag.core.chunks.tags_to_chunks`, i.e. conlleval's rules).

Both return :class:`~sparktag.ner.events.Scores`, the counts the trainer's events carry.
:func:`categorize_entities` and :func:`count_categories` (from :mod:`sparktag.ner.error_categories`) sort every
entity into the MUC error categories, counted as nervaluate counts them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sparktag.annotation import Annotation
from sparktag.core.chunks import tags_to_chunks

# The MUC error categories (nervaluate's counts) have a module of their own; re-exported beside the scores.
from sparktag.ner.error_categories import ALL_TYPES as ALL_TYPES
from sparktag.ner.error_categories import CATEGORIES as CATEGORIES
from sparktag.ner.error_categories import EntityOutcome as EntityOutcome
from sparktag.ner.error_categories import Tags, check_same_shape
from sparktag.ner.error_categories import categorize_entities as categorize_entities
from sparktag.ner.error_categories import count_categories as count_categories
from sparktag.ner.events import LabelCounts, Scores


def token_scores(gold: Tags, pred: Tags) -> Scores:
    """Spark NLP NerDL's token-level counts, one label per non-``O`` tag.

    For each token: equal tags are a true positive of that tag; otherwise a false positive of the predicted
    tag and, unless the gold tag is ``O``, a false negative of the gold tag. Labels are every non-``O`` tag
    seen in gold or pred, sorted.

    Args:
        gold: one list of tags per sentence.
        pred: the predicted tags, same shape.

    Returns:
        Per-tag counts; ``Scores.micro_*`` and ``Scores.macro_*`` are the log's two averages.

    Example:
        >>> s = token_scores([["B-PER", "I-PER", "O"]], [["B-PER", "O", "B-LOC"]])
        >>> {k: (c.tp, c.fp, c.fn) for k, c in s.per_label.items()}
        {'B-LOC': (0, 1, 0), 'B-PER': (1, 0, 0), 'I-PER': (0, 0, 1)}
    """
    check_same_shape(gold, pred)
    counts: dict[str, LabelCounts] = {}

    def get(tag: str) -> LabelCounts:
        if tag not in counts:
            counts[tag] = LabelCounts()
        return counts[tag]

    for g_sentence, p_sentence in zip(gold, pred, strict=True):
        for g, p in zip(g_sentence, p_sentence, strict=True):
            if g == p:
                get(g).tp += 1
            else:
                get(p).fp += 1
                if g != "O":
                    get(g).fn += 1
    return Scores({tag: counts[tag] for tag in sorted(counts) if tag not in ("O", "")})


def entity_scores(gold: Tags, pred: Tags, scheme: str = "auto") -> Scores:
    """Strict conlleval chunk scores, one label per entity type.

    Args:
        gold: one list of tags per sentence.
        pred: the predicted tags, same shape.
        scheme: ``"IOB1"``, ``"IOB2"``, ``"BIOES"`` or ``"auto"`` (see :func:`tags_to_chunks`).

    Returns:
        Per-type counts: ``tp`` chunks found exactly, ``fp`` predicted chunks not in gold, ``fn`` gold chunks
        not predicted. Types are every type seen in gold or pred chunks, sorted.

    Example:
        >>> s = entity_scores([["B-PER", "I-PER", "O"]], [["B-PER", "O", "B-LOC"]])
        >>> {k: (c.tp, c.fp, c.fn) for k, c in s.per_label.items()}
        {'LOC': (0, 1, 0), 'PER': (0, 1, 1)}
    """
    check_same_shape(gold, pred)
    counts: dict[str, LabelCounts] = {}
    for g_tags, p_tags in zip(gold, pred, strict=True):
        g_chunks = set(tags_to_chunks(g_tags, scheme))
        p_chunks = set(tags_to_chunks(p_tags, scheme))
        for chunk in g_chunks | p_chunks:
            c = counts.setdefault(chunk.entity, LabelCounts())
            if chunk in g_chunks and chunk in p_chunks:
                c.tp += 1
            elif chunk in p_chunks:
                c.fp += 1
            else:
                c.fn += 1
    return Scores({entity: counts[entity] for entity in sorted(counts)})


def evaluate(gold: Tags, pred: Tags) -> tuple[Scores, Scores]:
    """Both scores at once: ``(token_scores, entity_scores)``; the callable the trainer takes."""
    return token_scores(gold, pred), entity_scores(gold, pred)


def classification_report(
    gold: Tags, pred: Tags, labels: Sequence[str] | None = None, digits: int = 2
) -> tuple[str, dict[str, Any]]:
    """scikit-learn's ``classification_report`` over the flattened tags, as Spark NLP's docs compute it.

    Args:
        gold: one list of tags per sentence.
        pred: the predicted tags, same shape.
        labels: the tags to report (default: every tag seen, ``O`` included, as in the docs).
        digits: decimals in the text report.

    Returns:
        ``(text, dict)``: the printed report and the same numbers as a dict (``output_dict=True``).
    """
    from sklearn.metrics import classification_report as sk_report

    check_same_shape(gold, pred)
    y_true = [t for sentence in gold for t in sentence]
    y_pred = [t for sentence in pred for t in sentence]
    label_list = list(labels) if labels is not None else None
    text = sk_report(y_true, y_pred, labels=label_list, digits=digits, zero_division=0)
    table = sk_report(y_true, y_pred, labels=label_list, output_dict=True, zero_division=0)
    return str(text), dict(table)  # type: ignore[arg-type]


def entity_report(scores: Scores, tokens: int | None = None, correct_tokens: int | None = None) -> str:
    """A conlleval-style text table of entity scores.

    Args:
        scores: entity-level scores (:func:`entity_scores`).
        tokens: number of tokens, for conlleval's "processed" and "accuracy" (omitted if ``None``).
        correct_tokens: tokens whose tag was right, for the accuracy.

    Returns:
        Lines as conlleval prints them; the number after each type's FB1 is how many chunks of that type
        were predicted.

    Example:
        >>> print(entity_report(entity_scores([["B-PER", "O"]], [["B-PER", "B-LOC"]])))
        found: 2 phrases; correct: 1; gold: 1 phrases.
        precision:  50.00%; recall: 100.00%; FB1:  66.67
                      LOC: precision:   0.00%; recall:   0.00%; FB1:   0.00  1
                      PER: precision: 100.00%; recall: 100.00%; FB1: 100.00  1
    """
    total = scores.total
    found_gold = total.tp + total.fn
    found_pred = total.tp + total.fp
    lines = []
    if tokens is not None:
        lines.append(
            f"processed {tokens} tokens with {found_gold} phrases; "
            f"found: {found_pred} phrases; correct: {total.tp}."
        )
        head = ""
        if correct_tokens is not None and tokens:
            head = f"accuracy: {100 * correct_tokens / tokens:6.2f}%; "
    else:
        lines.append(f"found: {found_pred} phrases; correct: {total.tp}; gold: {found_gold} phrases.")
        head = ""
    lines.append(
        f"{head}precision: {100 * total.precision:6.2f}%; recall: {100 * total.recall:6.2f}%; "
        f"FB1: {100 * total.f1:6.2f}"
    )
    for entity, c in scores.per_label.items():
        lines.append(
            f"{entity:>17}: precision: {100 * c.precision:6.2f}%; recall: {100 * c.recall:6.2f}%; "
            f"FB1: {100 * c.f1:6.2f}  {c.tp + c.fp}"
        )
    return "\n".join(lines)


def _annotations(cell: Any) -> list[Annotation]:
    """One DataFrame cell (list/array of ``Annotation``, dicts or Rows; ``None``) as annotations."""
    if cell is None:
        return []
    return [a if isinstance(a, Annotation) else Annotation.from_dict(a) for a in cell]


def _aligned_tags(
    labels: Sequence[Annotation], predictions: Sequence[Annotation]
) -> list[tuple[list[str], list[str]]]:
    """Gold and predicted tags per sentence of one row, matched by token begin offset.

    Sentences follow the gold annotations' ``sentence`` metadata (one sentence if absent); a gold token with
    no prediction at its offset counts as predicted ``O``.
    """
    predicted = {a.begin: a.result for a in predictions}
    sentences: dict[str, tuple[list[str], list[str]]] = {}
    for a in sorted(labels, key=lambda a: a.begin):
        g, p = sentences.setdefault(a.metadata.get("sentence", "0"), ([], []))
        g.append(a.result)
        p.append(predicted.get(a.begin, "O"))
    return list(sentences.values())


def scores_from_dataframe(
    df: Any, label_col: str = "label", prediction_col: str = "ner"
) -> tuple[Scores, Scores]:
    """Score a pandas DataFrame of annotation columns: ``(token_scores, entity_scores)``.

    Args:
        df: a pandas DataFrame (e.g. ``spark_df.toPandas()``) whose two columns hold, per row, a list of
            ``named_entity`` annotations as :class:`Annotation`, dicts or Spark Rows.
        label_col: the gold column (Spark NLP's CoNLL reader calls it ``label``).
        prediction_col: the predicted column.

    Returns:
        Token-level and entity-level scores over all rows.

    Raises:
        KeyError: a column is missing, with the columns the DataFrame has.
    """
    for col in (label_col, prediction_col):
        if col not in df.columns:
            raise KeyError(f"column {col!r} not found; the DataFrame has {list(df.columns)}")
    gold: list[list[str]] = []
    pred: list[list[str]] = []
    for labels, predictions in zip(df[label_col], df[prediction_col], strict=True):
        for g, p in _aligned_tags(_annotations(labels), _annotations(predictions)):
            gold.append(g)
            pred.append(p)
    return evaluate(gold, pred)


#: the confusion matrix's row for spurious predictions and column for missed entities
NO_CHUNK = "(none)"


def confusion_counts(gold: Tags, pred: Tags) -> tuple[list[str], list[list[int]]]:
    """Chunk-level entity-type confusion counts.

    Chunks are read from each sentence's tags by :func:`~sparktag.core.chunks.tags_to_chunks` (conlleval's
    rules, any scheme). Matching is by exact span only, as strict CoNLL scoring is:

    * a gold chunk and a predicted chunk with the same first and last token count once in
      ``(gold type, predicted type)``: the diagonal is the entity-level ``tp``, off-diagonal cells are
      type confusions;
    * a gold chunk with no predicted chunk of the same span is missed: ``(gold type, "(none)")``;
    * a predicted chunk with no gold chunk of the same span is spurious: ``("(none)", predicted type)``.

    A partial overlap (``[PER Ann Lee]`` predicted as ``[PER Ann]``) is therefore one missed and one spurious
    chunk. With this rule, row sums minus the diagonal are conlleval's ``fn`` per type and column sums minus
    the diagonal its ``fp``, so the matrix agrees with :func:`entity_scores`.

    Args:
        gold: one list of tags per sentence.
        pred: the predicted tags, same shape.

    Returns:
        ``(labels, matrix)``: the entity types (sorted) followed by :data:`NO_CHUNK`, used for both rows
        (gold) and columns (predicted); ``matrix[i][j]`` counts chunks of gold ``labels[i]`` predicted as
        ``labels[j]``. ``matrix[-1][-1]`` is always 0.

    Raises:
        ValueError: gold and pred differ in the number of sentences or of tags in a sentence.

    Example:
        >>> confusion_counts([["B-PER", "I-PER", "B-LOC"]], [["B-ORG", "I-ORG", "O"]])
        (['LOC', 'ORG', 'PER', '(none)'], [[0, 0, 0, 1], [0, 0, 0, 0], [0, 1, 0, 0], [0, 0, 0, 0]])
    """
    check_same_shape(gold, pred)
    pairs: list[tuple[str, str]] = []
    for g_tags, p_tags in zip(gold, pred, strict=True):
        g_spans = {(c.start, c.end): c.entity for c in tags_to_chunks(g_tags)}
        p_spans = {(c.start, c.end): c.entity for c in tags_to_chunks(p_tags)}
        for span, g_type in g_spans.items():
            pairs.append((g_type, p_spans.get(span, NO_CHUNK)))
        pairs.extend((NO_CHUNK, p_type) for span, p_type in p_spans.items() if span not in g_spans)
    labels = sorted({t for pair in pairs for t in pair} - {NO_CHUNK}) + [NO_CHUNK]
    index = {label: i for i, label in enumerate(labels)}
    matrix = [[0] * len(labels) for _ in labels]
    for g_type, p_type in pairs:
        matrix[index[g_type]][index[p_type]] += 1
    return labels, matrix

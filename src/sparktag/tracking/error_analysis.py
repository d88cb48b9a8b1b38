"""Error analysis of a tagged test set: one self-contained ``error_analysis.html``, and the sentences behind it.

* :class:`TaggedSentence`: one test sentence with its gold tags, predicted tags and per-token confidences;
  :func:`write_tagged_sentences` / :func:`read_tagged_sentences` keep them as ``tagged_test_sentences.json``
  so that a later run can compare itself with this one.
* :func:`analyze_errors`: scores, every entity's MUC category
  (:func:`sparktag.ner.error_categories.categorize_entities`), the most frequent type confusions, and the
  entities fixed and broken since a previous run.
* :func:`write_error_analysis`: the analysis as one HTML file (drawn by :mod:`sparktag.tracking.error_page`)
  that opens standalone and in the MLflow UI's artifact viewer.

Example:
    >>> write_error_analysis(out_dir / ERROR_ANALYSIS_FILE, sentences, title="ner_v2 on testa")  # doctest: +SKIP
"""

from __future__ import annotations

import json
import os
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from sparktag.core.chunks import Chunk
from sparktag.ner.error_categories import ALL_TYPES, EntityOutcome, categorize_entities, count_categories
from sparktag.ner.events import Scores
from sparktag.ner.metrics import entity_scores, token_scores
from sparktag.tracking.error_page import render_error_page

ERROR_ANALYSIS_FILE = "error_analysis.html"
TAGGED_SENTENCES_FILE = "tagged_test_sentences.json"
FORMAT_VERSION = 1
_KIND = "sparktag.tagged_sentences"
TOP_CONFUSIONS = 10  # type confusions the page lists
CONFUSION_EXAMPLES = 3  # example sentences per confusion


@dataclass
class TaggedSentence:
    """One test sentence as the model tagged it.

    Args:
        words: the tokens.
        gold: one gold tag per token (IOB1, IOB2 or BIOES).
        pred: one predicted tag per token.
        confidence: the model's confidence in each predicted tag (None for a token it gave none), or None.
    """

    words: list[str]
    gold: list[str]
    pred: list[str]
    confidence: list[float | None] | None = None

    def __post_init__(self) -> None:
        n = len(self.words)
        sizes = {"gold tags": len(self.gold), "predicted tags": len(self.pred)}
        if self.confidence is not None:
            sizes["confidences"] = len(self.confidence)
        wrong = {name: size for name, size in sizes.items() if size != n}
        if wrong:
            found = ", ".join(f"{size} {name}" for name, size in wrong.items())
            raise ValueError(f"a sentence of {n} words has {found}; give one of each per word")

    def entity_confidence(self, chunk: Chunk) -> float | None:
        """The confidence in a predicted entity: the mean of its tokens' confidences (None if it has none)."""
        if self.confidence is None:
            return None
        known = [c for c in self.confidence[chunk.start : chunk.end + 1] if c is not None]
        return sum(known) / len(known) if known else None


def write_tagged_sentences(path: str | os.PathLike[str], sentences: Sequence[TaggedSentence]) -> Path:
    """Keep tagged sentences as JSON (with a ``format_version``), for :func:`read_tagged_sentences`.

    Args:
        path: the file to write, by convention ``<folder>/tagged_test_sentences.json``.
        sentences: the tagged test set.

    Returns:
        The path written (atomically: a reader never sees half a file).
    """
    out = Path(path)
    payload = {
        "format_version": FORMAT_VERSION,
        "kind": _KIND,
        "sentences": [
            {"words": s.words, "gold": s.gold, "pred": s.pred, "confidence": s.confidence} for s in sentences
        ],
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(payload, ensure_ascii=False, separators=(",", ":")), encoding="utf-8")
    os.replace(tmp, out)
    return out


def read_tagged_sentences(path: str | os.PathLike[str]) -> list[TaggedSentence]:
    """Read the sentences :func:`write_tagged_sentences` kept (a previous run's, to compare with).

    Raises:
        FileNotFoundError: no file at ``path``.
        ValueError: the file is not JSON, not a tagged-sentences file of sparktag, of a newer format, or
            damaged; the message names the file (and the sentence) and what to do.
    """
    source = Path(path)
    what = f"pass the {TAGGED_SENTENCES_FILE} a sparktag run logged beside its {ERROR_ANALYSIS_FILE}"
    if not source.is_file():
        raise FileNotFoundError(f"no tagged-sentences file at {source}; {what}")
    try:
        data = json.loads(source.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as err:
        raise ValueError(f"cannot read {source} as JSON ({err}); {what}") from err
    if not isinstance(data, dict) or data.get("kind") != _KIND:
        raise ValueError(f"{source} is not a tagged-sentences file of sparktag (no kind {_KIND!r}); {what}")
    version = data.get("format_version")
    if not isinstance(version, int) or version > FORMAT_VERSION:
        raise ValueError(
            f"{source} has format_version {version!r}; this sparktag reads format_version {FORMAT_VERSION} "
            "and older: upgrade sparktag to read it"
        )
    sentences = []
    for i, record in enumerate(data.get("sentences") or []):
        try:
            sentences.append(TaggedSentence(**record))
        except (TypeError, ValueError) as err:
            raise ValueError(f"{source}: sentence {i} is damaged ({err}); write the file again") from err
    return sentences


@dataclass
class Confusion:
    """Gold entities of one type predicted as another (``wrong_type`` or ``wrong_type_and_boundary``)."""

    gold_type: str
    pred_type: str
    count: int
    examples: list[int]  # sentence indices, up to CONFUSION_EXAMPLES


@dataclass
class EntityChange:
    """A gold entity whose outcome changed between the previous run and this one."""

    sentence: int  # index in this run's sentences
    previous_sentence: int  # index in the previous run's
    gold: Chunk
    before: EntityOutcome
    now: EntityOutcome


@dataclass
class Comparison:
    """This run against a previous one, over the sentences both tagged (same words and gold tags)."""

    label: str
    previous: list[TaggedSentence]  # the previous run's sentences
    matched: int  # sentences found in both runs
    unmatched: int  # sentences of this run the previous one did not tag
    fixed: list[EntityChange]  # wrong before, correct now
    broken: list[EntityChange]  # correct before, wrong now
    previous_counts: dict[str, int]  # categories of the previous run, over the matched sentences
    counts: dict[str, int]  # and of this run


@dataclass
class ErrorAnalysis:
    """Everything ``error_analysis.html`` shows; :func:`analyze_errors` makes it."""

    sentences: list[TaggedSentence]
    outcomes: list[list[EntityOutcome]]  # per sentence
    counts: dict[str, dict[str, int]]  # count_categories: type -> category -> count, and the "(all)" row
    entity: Scores  # strict conlleval, per type
    token: Scores  # per tag
    confusions: list[Confusion]
    comparison: Comparison | None = None
    error_sentences: list[int] = field(default_factory=list)  # indices, most errors first

    def errors(self, sentence: int) -> int:
        """How many outcomes of a sentence are not ``correct``."""
        return sum(o.is_error for o in self.outcomes[sentence])


def _outcomes_by_sentence(sentences: Sequence[TaggedSentence]) -> list[list[EntityOutcome]]:
    by_sentence: list[list[EntityOutcome]] = [[] for _ in sentences]
    for outcome in categorize_entities([s.gold for s in sentences], [s.pred for s in sentences]):
        by_sentence[outcome.sentence].append(outcome)
    return by_sentence


def _confusions(outcomes: list[list[EntityOutcome]]) -> list[Confusion]:
    """The most frequent (gold type, predicted type) pairs, most first, with example sentences."""
    counts: Counter[tuple[str, str]] = Counter()
    examples: dict[tuple[str, str], list[int]] = defaultdict(list)
    for sentence in outcomes:
        for o in sentence:
            if o.category in ("wrong_type", "wrong_type_and_boundary") and o.gold and o.pred:
                pair = (o.gold.entity, o.pred.entity)
                counts[pair] += 1
                if len(examples[pair]) < CONFUSION_EXAMPLES and o.sentence not in examples[pair]:
                    examples[pair].append(o.sentence)
    ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))[:TOP_CONFUSIONS]
    return [Confusion(g, p, n, examples[(g, p)]) for (g, p), n in ranked]


def _compare(
    sentences: Sequence[TaggedSentence],
    outcomes: list[list[EntityOutcome]],
    previous: Sequence[TaggedSentence],
    label: str,
) -> Comparison:
    """Match sentences by words and gold tags (repeats in order) and compare each gold entity's outcome."""
    waiting: dict[tuple[tuple[str, ...], tuple[str, ...]], list[int]] = defaultdict(list)
    for j, s in enumerate(previous):
        waiting[(tuple(s.words), tuple(s.gold))].append(j)
    pairs = []
    for i, s in enumerate(sentences):
        queue = waiting.get((tuple(s.words), tuple(s.gold)))
        if queue:
            pairs.append((i, queue.pop(0)))
    before_outcomes = _outcomes_by_sentence([previous[j] for _, j in pairs])
    fixed: list[EntityChange] = []
    broken: list[EntityChange] = []
    for (i, j), before_list in zip(pairs, before_outcomes, strict=True):
        before = {o.gold: o for o in before_list if o.gold is not None}
        for now in outcomes[i]:
            was = before.get(now.gold) if now.gold is not None else None
            if now.gold is None or was is None:
                continue
            if was.is_error and not now.is_error:
                fixed.append(EntityChange(i, j, now.gold, was, now))
            elif not was.is_error and now.is_error:
                broken.append(EntityChange(i, j, now.gold, was, now))
    matched_now = [o for i, _ in pairs for o in outcomes[i]]
    return Comparison(
        label=label,
        previous=list(previous),
        matched=len(pairs),
        unmatched=len(sentences) - len(pairs),
        fixed=fixed,
        broken=broken,
        previous_counts=count_categories(o for s in before_outcomes for o in s)[ALL_TYPES],
        counts=count_categories(matched_now)[ALL_TYPES],
    )


def analyze_errors(
    sentences: Sequence[TaggedSentence],
    previous: Sequence[TaggedSentence] | None = None,
    previous_label: str | None = None,
) -> ErrorAnalysis:
    """Score a tagged test set and sort every entity into the MUC error categories.

    Args:
        sentences: the tagged test set.
        previous: a previous run's tagged test set (e.g. :func:`read_tagged_sentences`), to compare with.
        previous_label: what to call the previous run on the page (default ``"previous run"``).

    Returns:
        The analysis; its ``counts`` are :func:`~sparktag.ner.error_categories.count_categories` of
        :func:`~sparktag.ner.error_categories.categorize_entities` over the sentences.
    """
    items = list(sentences)
    outcomes = _outcomes_by_sentence(items)
    gold, pred = [s.gold for s in items], [s.pred for s in items]
    analysis = ErrorAnalysis(
        sentences=items,
        outcomes=outcomes,
        counts=count_categories(o for sentence in outcomes for o in sentence),
        entity=entity_scores(gold, pred),
        token=token_scores(gold, pred),
        confusions=_confusions(outcomes),
    )
    if previous is not None:
        analysis.comparison = _compare(items, outcomes, previous, previous_label or "previous run")
    with_errors = [i for i in range(len(items)) if analysis.errors(i)]
    analysis.error_sentences = sorted(with_errors, key=lambda i: (-analysis.errors(i), i))
    return analysis


def write_error_analysis(
    path: str | os.PathLike[str],
    sentences: Sequence[TaggedSentence],
    *,
    title: str,
    previous: Sequence[TaggedSentence] | None = None,
    previous_label: str | None = None,
) -> Path:
    """Write the error analysis of a tagged test set as one self-contained HTML file.

    The page holds the scores (strict entity-level and token-level), the MUC error categories per entity type,
    every sentence with an error (gold and predicted entities side by side, most errors first, filterable by
    type and category, with the model's confidence in each predicted entity: the mean of its tokens'), the most
    frequent type confusions and, given a previous run, the entities fixed and broken since. It loads nothing
    from the network, so it opens as a file and in the MLflow UI's artifact viewer alike.

    Args:
        path: the file to write, by convention ``<folder>/error_analysis.html``.
        sentences: the tagged test set.
        title: the page's heading (e.g. the model and the test set).
        previous: a previous run's tagged test set, to compare with.
        previous_label: what to call the previous run (default ``"previous run"``).

    Returns:
        The path written.
    """
    analysis = analyze_errors(sentences, previous, previous_label)
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(render_error_page(analysis, title), encoding="utf-8")
    return out

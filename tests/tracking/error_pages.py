"""Reading a logged ``error_analysis.html`` back, and what it should show, computed without sparktag's analysis:
for the tests of the runs that log one (run_experiment, sparktag evaluate, autolog)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from sparktag.annotation import from_rows
from sparktag.core.chunks import tags_to_chunks
from sparktag.core.labels import align_labels
from sparktag.tracking.error_analysis import TaggedSentence

_COUNT = re.compile(r'<td data-type="([^"]*)" data-category="(\w+)" data-count="(\d+)">')
_CONFIDENCE = re.compile(r"confidence (\d+\.\d+)")
_MATCHED = re.compile(r"<p>(\d+) sentences tagged by both")


def download(client: Any, run_id: str, name: str, folder: Path) -> Path:
    """One artifact of a run, at the root of its artifacts."""
    return Path(client.download_artifacts(run_id, name, str(folder)))


def shown_counts(page: str) -> dict[tuple[str, str], int]:
    """The page's error categories table: (entity type or "(all)", category) -> count."""
    return {(t.replace("&amp;", "&"), c): int(n) for t, c, n in _COUNT.findall(page)}


def shown_confidences(page: str) -> list[float]:
    """Every confidence the page shows beside a predicted entity."""
    return [float(c) for c in _CONFIDENCE.findall(page)]


def shown_comparison(page: str) -> tuple[int, int, int]:
    """(sentences tagged by both runs, entities fixed, entities broken) of the page's comparison section."""
    matched = _MATCHED.search(page)
    fixed = re.search(r'id="fixed-count" data-count="(\d+)"', page)
    broken = re.search(r'id="broken-count" data-count="(\d+)"', page)
    assert matched and fixed and broken, "the page has no comparison section"
    return int(matched.group(1)), int(fixed.group(1)), int(broken.group(1))


def expected_counts(
    gold: Sequence[Sequence[str]], pred: Sequence[Sequence[str]]
) -> dict[tuple[str, str], int]:
    """What the categories table should show for these tags (count_categories, flattened as the page shows it)."""
    from sparktag.ner.error_categories import categorize_entities, count_categories

    counts = count_categories(categorize_entities(gold, pred))
    return {(t, c): n for t, row in counts.items() for c, n in row.items()}


def gold_and_predicted(
    rows: Sequence[Any],
) -> tuple[list[list[str]], list[list[str]], list[list[float | None]]]:
    """Gold tags (matched by span), predicted tags and their confidences of Spark rows with token, label, ner."""
    gold, pred, confidence = [], [], []
    for row in rows:
        tokens = from_rows(row["token"])
        ner = {a.begin: a for a in from_rows(row["ner"])}
        gold.append(align_labels(tokens, from_rows(row["label"])))
        pred.append([ner[t.begin].result if t.begin in ner else "O" for t in tokens])
        confidence.append(
            [float(ner[t.begin].metadata["confidence"]) if t.begin in ner else None for t in tokens]
        )
    return gold, pred, confidence


def changed_entities(previous: Sequence[TaggedSentence], now: Sequence[TaggedSentence]) -> tuple[int, int]:
    """(fixed, broken): gold entities predicted exactly now but not before, and the other way round, over the
    sentences both tagged (the same words and gold tags, the same order here)."""
    fixed = broken = 0
    before = {(tuple(s.words), tuple(s.gold)): s for s in previous}
    for sentence in now:
        old = before.get((tuple(sentence.words), tuple(sentence.gold)))
        if old is None:
            continue
        was, right = set(tags_to_chunks(old.pred)), set(tags_to_chunks(sentence.pred))
        for entity in tags_to_chunks(sentence.gold):
            fixed += entity in right and entity not in was
            broken += entity in was and entity not in right
    return fixed, broken


def assert_real_confidences(sentences: Sequence[TaggedSentence], page: str) -> None:
    """Every token has a confidence, a probability; the page shows the entities' ones (two decimals)."""
    values = [c for s in sentences for c in s.confidence or [None] * len(s.words)]
    assert values and all(isinstance(c, float) and 0.0 < c <= 1.0 for c in values), values[:20]
    shown = shown_confidences(page)
    assert shown and all(0.0 <= c <= 1.0 for c in shown), shown[:20]

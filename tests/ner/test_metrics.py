"""Token-level (Spark NLP) and entity-level (conlleval) scores: by hand, vs seqeval, vs conlleval.pl."""

from __future__ import annotations

import random
import re

import pandas as pd
import pytest
from seqeval.metrics import classification_report as seqeval_report
from seqeval.metrics import f1_score as seqeval_f1
from seqeval.scheme import IOB2, IOBES
from sklearn.metrics import classification_report as sklearn_report

from sparktag.annotation import Annotation
from sparktag.core.chunks import Chunk, chunks_to_tags
from sparktag.ner.events import LabelCounts
from sparktag.ner.metrics import (
    classification_report,
    entity_report,
    entity_scores,
    evaluate,
    scores_from_dataframe,
    token_scores,
)

# A fixed example, counted by hand below.
GOLD = [
    ["B-PER", "I-PER", "O", "B-LOC", "O"],
    ["B-ORG", "I-ORG", "I-ORG", "O", "B-PER"],
]
PRED = [
    ["B-PER", "I-PER", "O", "B-ORG", "O"],
    ["B-ORG", "I-ORG", "O", "O", "B-PER"],
]


def counts(scores):
    return {label: (c.tp, c.fp, c.fn) for label, c in scores.per_label.items()}


def test_token_scores_by_hand():
    # Sentence 1: B-LOC predicted B-ORG -> fp B-ORG, fn B-LOC. Sentence 2: I-ORG predicted O -> fn I-ORG
    # (the fp goes to O, which is not a label). Every other non-O token is a tp of its own tag.
    scores = token_scores(GOLD, PRED)
    assert counts(scores) == {
        "B-LOC": (0, 0, 1),
        "B-ORG": (1, 1, 0),
        "B-PER": (2, 0, 0),
        "I-ORG": (1, 0, 1),
        "I-PER": (1, 0, 0),
    }
    assert scores.total == LabelCounts(5, 1, 2)
    assert scores.micro_precision == pytest.approx(5 / 6)
    assert scores.micro_recall == pytest.approx(5 / 7)
    assert scores.micro_f1 == pytest.approx(10 / 13)
    # Macro: precisions 0, 1/2, 1, 1, 1 and recalls 0, 1, 1, 1/2, 1 -> both 0.7; F1 of the two means.
    assert scores.macro_precision == pytest.approx(0.7)
    assert scores.macro_recall == pytest.approx(0.7)
    assert scores.macro_f1 == pytest.approx(0.7)


def test_token_scores_label_seen_only_in_predictions_gets_a_row():
    scores = token_scores([["O", "O"]], [["B-X", "O"]])
    assert counts(scores) == {"B-X": (0, 1, 0)}


def test_entity_scores_by_hand():
    # Gold chunks: PER 0-1, LOC 3 | ORG 0-2, PER 4. Predicted: PER 0-1, ORG 3 | ORG 0-1, PER 4.
    # ORG 0-1 is not ORG 0-2 (strict): an fp and an fn.
    scores = entity_scores(GOLD, PRED)
    assert counts(scores) == {"LOC": (0, 0, 1), "ORG": (0, 2, 1), "PER": (2, 0, 0)}
    assert scores.micro_precision == scores.micro_recall == scores.micro_f1 == 0.5


def test_evaluate_returns_token_then_entity():
    token, entity = evaluate(GOLD, PRED)
    assert counts(token) == counts(token_scores(GOLD, PRED))
    assert counts(entity) == counts(entity_scores(GOLD, PRED))


def test_mismatched_lengths_name_the_sentence():
    with pytest.raises(ValueError, match="sentence 1: gold has 5 tags but pred has 4"):
        token_scores(GOLD, [PRED[0], PRED[1][:4]])
    with pytest.raises(ValueError, match="gold has 2 sentences but pred has 1"):
        entity_scores(GOLD, PRED[:1])


def test_classification_report_matches_sklearn():
    text, table = classification_report(GOLD, PRED)
    flat_gold = [t for s in GOLD for t in s]
    flat_pred = [t for s in PRED for t in s]
    assert text == sklearn_report(flat_gold, flat_pred, zero_division=0)
    assert table == sklearn_report(flat_gold, flat_pred, output_dict=True, zero_division=0)
    # By hand: 3 gold O, 4 predicted O, 3 of them right.
    assert table["O"]["support"] == 3
    assert table["O"]["precision"] == 0.75
    assert table["O"]["recall"] == 1.0


def test_entity_report_by_hand():
    assert entity_report(entity_scores(GOLD, PRED)).splitlines() == [
        "found: 4 phrases; correct: 2; gold: 4 phrases.",
        "precision:  50.00%; recall:  50.00%; FB1:  50.00",
        "              LOC: precision:   0.00%; recall:   0.00%; FB1:   0.00  0",
        "              ORG: precision:   0.00%; recall:   0.00%; FB1:   0.00  2",
        "              PER: precision: 100.00%; recall: 100.00%; FB1: 100.00  2",
    ]
    head = entity_report(entity_scores(GOLD, PRED), tokens=10, correct_tokens=8).splitlines()[:2]
    assert head == [
        "processed 10 tokens with 4 phrases; found: 4 phrases; correct: 2.",
        "accuracy:  80.00%; precision:  50.00%; recall:  50.00%; FB1:  50.00",
    ]


def test_scores_from_dataframe():
    def ner(begin: int, tag: str, sentence: str) -> dict:
        return {
            "annotatorType": "named_entity",
            "begin": begin,
            "end": begin + 2,
            "result": tag,
            "metadata": {"sentence": sentence, "word": "abc"},
            "embeddings": [],
        }

    # Row 0 has two sentences; token offsets 0, 4, 8 | 12, 16. The prediction for offset 16 is missing (-> O).
    labels = [
        ner(0, "B-PER", "0"),
        ner(4, "I-PER", "0"),
        ner(8, "O", "0"),
        ner(12, "B-LOC", "1"),
        ner(16, "I-LOC", "1"),
    ]
    preds = [
        Annotation.from_dict(ner(b, t, s))
        for b, t, s in [(0, "B-PER", "0"), (4, "I-PER", "0"), (8, "O", "0"), (12, "B-LOC", "1")]
    ]
    df = pd.DataFrame({"label": [labels, [ner(0, "B-ORG", "0")]], "ner": [preds, [ner(0, "O", "0")]]})
    token, entity = scores_from_dataframe(df)
    expected_token, expected_entity = evaluate(
        [["B-PER", "I-PER", "O"], ["B-LOC", "I-LOC"], ["B-ORG"]],
        [["B-PER", "I-PER", "O"], ["B-LOC", "O"], ["O"]],
    )
    assert counts(token) == counts(expected_token)
    assert counts(entity) == counts(expected_entity) == {"LOC": (0, 1, 1), "ORG": (0, 0, 1), "PER": (1, 0, 0)}
    with pytest.raises(KeyError, match="column 'gold' not found"):
        scores_from_dataframe(df, label_col="gold")


# --- agreement with seqeval -----------------------------------------------------------------------------


def random_tags(rng: random.Random, n: int, prefixes: str = "BI", types: str = "ABC") -> list[str]:
    return ["O" if rng.random() < 0.4 else f"{rng.choice(prefixes)}-{rng.choice(types)}" for _ in range(n)]


def random_chunks(rng: random.Random, n: int, types: str = "ABC") -> list[Chunk]:
    chunks, i = [], 0
    while i < n:
        if rng.random() < 0.4:
            end = min(n - 1, i + rng.randint(0, 3))
            chunks.append(Chunk(rng.choice(types), i, end))
            i = end + 1
        else:
            i += 1
    return chunks


def random_corpus(
    rng: random.Random, scheme: str, sentences: int = 30
) -> tuple[list[list[str]], list[list[str]]]:
    """Gold and predicted tags, written in ``scheme`` from random chunkings (predictions near the gold)."""
    gold, pred = [], []
    for _ in range(sentences):
        n = rng.randint(1, 12)
        g = random_chunks(rng, n)
        p = g if rng.random() < 0.3 else random_chunks(rng, n)
        gold.append(chunks_to_tags(g, n, scheme))
        pred.append(chunks_to_tags(p, n, scheme))
    return gold, pred


def assert_same_as_seqeval(scores, report: dict) -> None:
    types = set(scores.per_label) | {k for k in report if k not in ("micro avg", "macro avg", "weighted avg")}
    for entity in types:
        c = scores.per_label[entity]
        row = report[entity]
        assert c.precision == pytest.approx(row["precision"]), entity
        assert c.recall == pytest.approx(row["recall"]), entity
        assert c.f1 == pytest.approx(row["f1-score"]), entity
        assert c.tp + c.fn == row["support"], entity


@pytest.mark.parametrize(("scheme", "seqeval_scheme"), [("IOB2", IOB2), ("BIOES", IOBES)])
def test_strict_mode_agrees_with_seqeval_on_valid_tags(scheme, seqeval_scheme):
    rng = random.Random(3)
    for _ in range(40):
        gold, pred = random_corpus(rng, scheme)
        scores = entity_scores(gold, pred, scheme)
        report = seqeval_report(
            gold, pred, mode="strict", scheme=seqeval_scheme, output_dict=True, zero_division=0
        )
        assert_same_as_seqeval(scores, report)
        assert scores.micro_f1 == pytest.approx(
            seqeval_f1(gold, pred, mode="strict", scheme=seqeval_scheme, zero_division=0)
        )


def test_default_mode_agrees_with_seqeval_on_iob1_and_malformed_tags():
    rng = random.Random(5)
    for _ in range(40):
        iob1_gold, iob1_pred = random_corpus(rng, "IOB1")
        noisy = [random_tags(rng, rng.randint(1, 12)) for _ in range(30)]
        noisy_pred = [random_tags(rng, len(t)) for t in noisy]
        for gold, pred in ((iob1_gold, iob1_pred), (noisy, noisy_pred)):
            scores = entity_scores(gold, pred)
            assert_same_as_seqeval(scores, seqeval_report(gold, pred, output_dict=True, zero_division=0))
            assert scores.micro_f1 == pytest.approx(seqeval_f1(gold, pred, zero_division=0))


# --- agreement with conlleval.pl ------------------------------------------------------------------------


def _split(tag: str) -> tuple[str, str]:
    m = re.match(r"^([^-]*)-(.*)$", tag)
    return (m.group(1), m.group(2)) if m else (tag, "")


def _pl_end_of_chunk(prev_tag: str, tag: str, prev_type: str, type_: str) -> bool:  # noqa: C901 - conlleval
    end = False
    if prev_tag == "B" and tag == "B":
        end = True
    if prev_tag == "B" and tag == "O":
        end = True
    if prev_tag == "I" and tag == "B":
        end = True
    if prev_tag == "I" and tag == "O":
        end = True
    if prev_tag == "E" and tag == "E":
        end = True
    if prev_tag == "E" and tag == "I":
        end = True
    if prev_tag == "E" and tag == "O":
        end = True
    if prev_tag == "I" and tag == "O":
        end = True
    if prev_tag != "O" and prev_tag != "." and prev_type != type_:
        end = True
    if prev_tag == "]":
        end = True
    if prev_tag == "[":
        end = True
    return end


def _pl_start_of_chunk(prev_tag: str, tag: str, prev_type: str, type_: str) -> bool:  # noqa: C901 - conlleval
    start = False
    if prev_tag == "B" and tag == "B":
        start = True
    if prev_tag == "I" and tag == "B":
        start = True
    if prev_tag == "O" and tag == "B":
        start = True
    if prev_tag == "O" and tag == "I":
        start = True
    if prev_tag == "E" and tag == "E":
        start = True
    if prev_tag == "E" and tag == "I":
        start = True
    if prev_tag == "O" and tag == "E":
        start = True
    if prev_tag == "O" and tag == "I":
        start = True
    if tag != "O" and tag != "." and prev_type != type_:
        start = True
    if tag == "[":
        start = True
    if tag == "]":
        start = True
    return start


def conlleval(gold: list[list[str]], pred: list[list[str]]) -> dict[str, tuple[int, int, int]]:
    """conlleval.pl's counting loop, line for line: per type (correctChunk, foundGuessed, foundCorrect).

    Sentences are separated by boundary lines, which conlleval reads as a token tagged O/O.
    """
    stream: list[tuple[str, str]] = []
    for g_sentence, p_sentence in zip(gold, pred, strict=True):
        stream += list(zip(g_sentence, p_sentence, strict=True))
        stream.append(("O", "O"))  # the empty line between sentences
    correct_chunk: dict[str, int] = {}
    found_correct: dict[str, int] = {}
    found_guessed: dict[str, int] = {}
    last_correct, last_guessed, last_correct_type, last_guessed_type = "O", "O", "", ""
    in_correct = False
    for correct_tag, guessed_tag in stream:
        correct, correct_type = _split(correct_tag)
        guessed, guessed_type = _split(guessed_tag)
        if in_correct:
            end_correct = _pl_end_of_chunk(last_correct, correct, last_correct_type, correct_type)
            end_guessed = _pl_end_of_chunk(last_guessed, guessed, last_guessed_type, guessed_type)
            if end_correct and end_guessed and last_guessed_type == last_correct_type:
                in_correct = False
                correct_chunk[last_correct_type] = correct_chunk.get(last_correct_type, 0) + 1
            elif end_correct != end_guessed or guessed_type != correct_type:
                in_correct = False
        start_correct = _pl_start_of_chunk(last_correct, correct, last_correct_type, correct_type)
        start_guessed = _pl_start_of_chunk(last_guessed, guessed, last_guessed_type, guessed_type)
        if start_correct and start_guessed and guessed_type == correct_type:
            in_correct = True
        if start_correct:
            found_correct[correct_type] = found_correct.get(correct_type, 0) + 1
        if start_guessed:
            found_guessed[guessed_type] = found_guessed.get(guessed_type, 0) + 1
        last_guessed, last_correct = guessed, correct
        last_guessed_type, last_correct_type = guessed_type, correct_type
    if in_correct:
        correct_chunk[last_correct_type] = correct_chunk.get(last_correct_type, 0) + 1
    types = set(found_correct) | set(found_guessed)
    return {t: (correct_chunk.get(t, 0), found_guessed.get(t, 0), found_correct.get(t, 0)) for t in types}


def test_conlleval_port_by_hand():
    assert conlleval(GOLD, PRED) == {"PER": (2, 2, 2), "LOC": (0, 0, 1), "ORG": (0, 2, 1)}


@pytest.mark.parametrize("kind", ["IOB2", "IOB1", "malformed"])
def test_entity_scores_agree_with_conlleval(kind):
    rng = random.Random(17)
    for _ in range(60):
        if kind == "malformed":  # I- after O, type changes inside chunks, anything goes
            gold = [random_tags(rng, rng.randint(1, 12)) for _ in range(30)]
            pred = [random_tags(rng, len(t)) for t in gold]
        else:
            gold, pred = random_corpus(rng, kind)
        ours = {t: (c.tp, c.tp + c.fp, c.tp + c.fn) for t, c in entity_scores(gold, pred).per_label.items()}
        assert ours == conlleval(gold, pred)


# --- chunk-level confusion counts (the confusion chart's data) ---------------------------------------------


def test_confusion_counts_by_hand() -> None:
    from sparktag.ner.metrics import NO_CHUNK, confusion_counts

    gold = [
        ["B-PER", "I-PER", "O", "B-LOC", "O"],  # PER(0,1) found; LOC(3,3) predicted as ORG
        ["B-ORG", "I-ORG", "I-ORG", "O", "B-PER"],  # ORG(0,2) cut short to (0,1): missed + spurious
        ["O", "B-MISC", "O", "O"],  # MISC missed; a spurious LOC at 3
    ]
    pred = [
        ["B-PER", "I-PER", "O", "B-ORG", "O"],
        ["B-ORG", "I-ORG", "O", "O", "B-PER"],
        ["O", "O", "O", "B-LOC"],
    ]
    labels, matrix = confusion_counts(gold, pred)
    assert labels == ["LOC", "MISC", "ORG", "PER", NO_CHUNK]
    assert matrix == [
        # LOC MISC ORG PER (none)      predicted
        [0, 0, 1, 0, 0],  # gold LOC
        [0, 0, 0, 0, 1],  # gold MISC
        [0, 0, 0, 0, 1],  # gold ORG
        [0, 0, 0, 2, 0],  # gold PER
        [1, 0, 1, 0, 0],  # (none): spurious
    ]


def test_confusion_counts_agree_with_conlleval() -> None:
    import numpy as np

    from sparktag.ner.metrics import confusion_counts, entity_scores

    rng = random.Random(7)
    tags = ["O", "O", "O", "B-PER", "I-PER", "B-LOC", "I-LOC", "B-ORG", "I-ORG"]
    gold = [[rng.choice(tags) for _ in range(rng.randint(1, 12))] for _ in range(200)]
    pred = [[t if rng.random() < 0.7 else rng.choice(tags) for t in sentence] for sentence in gold]
    labels, matrix = confusion_counts(gold, pred)
    m = np.array(matrix)
    for i, entity in enumerate(labels[:-1]):
        counts = entity_scores(gold, pred).per_label[entity]
        assert (m[i, i], m[:, i].sum() - m[i, i], m[i].sum() - m[i, i]) == (counts.tp, counts.fp, counts.fn)
    assert m[-1, -1] == 0


def test_confusion_counts_need_aligned_tags() -> None:
    from sparktag.ner.metrics import confusion_counts

    with pytest.raises(ValueError, match="2 sentences but pred has 1"):
        confusion_counts([["O"], ["O"]], [["O"]])
    with pytest.raises(ValueError, match="sentence 0: gold has 2 tags but pred has 1"):
        confusion_counts([["O", "B-PER"]], [["O"]])

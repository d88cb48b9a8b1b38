"""A synthetic NER dataset the trainer learns in seconds, and what the training tests share: a quick config, a
scoring function, event recorders, weight comparison (test_train.py, test_checkpoint.py, test_data_parallel.py
and their worker processes)."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from sparktag.ner.config import TrainConfig
from sparktag.ner.data import NerExample
from sparktag.ner.events import BatchEnded, Event, LabelCounts, Scores
from sparktag.ner.train import TrainResult

DIM = 16
FIRST = ["Alice", "Bruno", "Chen", "Dmitri", "Eva", "Farid"]
LAST = ["Smith", "Okafor", "Lee", "Ivanov"]
LOC = ["Paris", "Lagos", "Oslo", "Lima", "Kyoto"]
ORG = ["Acme", "Globex", "Initech", "Umbrella"]
TEMPLATES = [
    "PER met PER in LOC .",
    "PER works for ORG in LOC .",
    "ORG visited LOC today .",
    "the ORG team met PER yesterday",
    "a LOC firm and ORG",
]


def make_dataset(n: int = 64, seed: int = 0) -> list[NerExample]:
    """Template sentences; every word has a fixed random embedding, so the data can be fitted exactly."""
    rng = np.random.default_rng(seed)
    table: dict[str, np.ndarray] = {}
    vocab_rng = np.random.default_rng(1234)  # the same embedding per word in every dataset
    for word in sorted({*FIRST, *LAST, *LOC, *ORG, *" ".join(TEMPLATES).split()}):
        table[word] = vocab_rng.standard_normal(DIM).astype(np.float32)
    examples = []
    for _ in range(n):
        tokens: list[str] = []
        tags: list[str] = []
        for slot in TEMPLATES[int(rng.integers(len(TEMPLATES)))].split():
            if slot == "PER":
                name = [str(rng.choice(FIRST))] + ([str(rng.choice(LAST))] if rng.random() < 0.5 else [])
                tokens += name
                tags += ["B-PER"] + ["I-PER"] * (len(name) - 1)
            elif slot in ("LOC", "ORG"):
                tokens.append(str(rng.choice(LOC if slot == "LOC" else ORG)))
                tags.append(f"B-{slot}")
            else:
                tokens.append(slot)
                tags.append("O")
        examples.append(NerExample(tokens, np.stack([table[t] for t in tokens]), tags))
    return examples


# A task only capitalisation solves: a token's tag is its case (lower O, Capitalised B-PER, UPPER B-ORG),
# drawn independently of its word and its neighbours, and every word's embedding is its lower-cased form's, so
# the word vectors carry no case (as an uncased encoder's) and the context gives no hint. Majority: O, ~half.
CASED_WORDS = ["apple", "river", "stone", "cloud", "paper", "light", "green", "table", "music", "water"]
UNSEEN_WORDS = ["lemon", "ocean", "sugar", "piano", "grass", "night"]  # never in the training data
CASE_OF = {"O": str.lower, "B-PER": str.capitalize, "B-ORG": str.upper}


def make_cased_dataset(n: int, seed: int, words: list[str] = CASED_WORDS) -> list[NerExample]:
    """``n`` sentences of 3-8 random ``words``, each cased by its randomly drawn tag (see ``CASE_OF``)."""
    rng = np.random.default_rng(seed)
    table = {  # the same vector for "apple", "Apple" and "APPLE", and in every dataset
        w: np.random.default_rng([99, i]).standard_normal(DIM).astype(np.float32)
        for i, w in enumerate(CASED_WORDS + UNSEEN_WORDS)
    }
    examples = []
    for _ in range(n):
        picked = [str(w) for w in rng.choice(words, size=int(rng.integers(3, 9)))]
        tags = [str(t) for t in rng.choice(["O", "O", "B-PER", "B-ORG"], size=len(picked))]
        tokens = [CASE_OF[t](w) for w, t in zip(picked, tags, strict=True)]
        examples.append(NerExample(tokens, np.stack([table[w] for w in picked]), tags))
    return examples


def chunks_of(tags: list[str]) -> set[tuple[int, int, str]]:
    """IOB2 entity spans (start, end, type)."""
    spans, start, kind = set(), -1, ""
    for i, tag in enumerate([*tags, "O"]):
        if start >= 0 and not (tag.startswith("I-") and tag[2:] == kind):
            spans.add((start, i, kind))
            start = -1
        if tag.startswith("B-") or (tag.startswith("I-") and start < 0):
            start, kind = i, tag[2:]
    return spans


def local_evaluate(gold: list[list[str]], pred: list[list[str]]) -> tuple[Scores, Scores]:
    """Token-level counts per non-O tag and exact-match entity counts per type."""
    token: dict[str, LabelCounts] = {}
    entity: dict[str, LabelCounts] = {}
    for g_sent, p_sent in zip(gold, pred, strict=True):
        for g, p in zip(g_sent, p_sent, strict=True):
            if g == p and g != "O":
                token.setdefault(g, LabelCounts()).tp += 1
            else:
                if p != "O":
                    token.setdefault(p, LabelCounts()).fp += 1
                if g != "O":
                    token.setdefault(g, LabelCounts()).fn += 1
        g_spans, p_spans = chunks_of(g_sent), chunks_of(p_sent)
        for span in g_spans | p_spans:
            counts = entity.setdefault(span[2], LabelCounts())
            if span in g_spans and span in p_spans:
                counts.tp += 1
            elif span in p_spans:
                counts.fp += 1
            else:
                counts.fn += 1
    return Scores(token), Scores(entity)


class Recorder:
    def __init__(self) -> None:
        self.events: list[Event] = []

    def on_event(self, event: Event) -> None:
        self.events.append(event)


class Failing:
    def __init__(self) -> None:
        self.calls = 0

    def on_event(self, event: Event) -> None:
        self.calls += 1
        if isinstance(event, BatchEnded):
            raise RuntimeError("disk full")


class ScriptedScores:
    """An evaluate() whose token micro-F1 follows a script, one value per call (0 once it runs out)."""

    def __init__(self, f1s: list[float]) -> None:
        self.f1s = list(f1s)

    def __call__(self, gold: list[list[str]], pred: list[list[str]]) -> tuple[Scores, Scores]:
        f1 = self.f1s.pop(0) if self.f1s else 0.0
        tp = round(f1 * 100)
        scores = Scores({"B-PER": LabelCounts(tp=tp, fp=100 - tp, fn=100 - tp)})
        return scores, scores


DATA = make_dataset()


def quick(**overrides: Any) -> TrainConfig:
    """A tiny, fast network; one thread so tests do not fight over the cores."""
    values: dict[str, Any] = {
        "lr": 0.01,
        "po": 0.0,
        "batch_size": 8,
        "dropout": 0.8,
        "max_epochs": 3,
        "random_seed": 7,
        "char_cnn_filters": 8,
        "lstm_hidden": 16,
        "num_threads": 1,
        **overrides,
    }
    return TrainConfig(**values)


def weights(result: TrainResult) -> dict[str, torch.Tensor]:
    return {k: v.clone() for k, v in result.model.state_dict().items()}


def same_weights(a: TrainResult, b: TrainResult) -> bool:
    wa, wb = weights(a), weights(b)
    return wa.keys() == wb.keys() and all(torch.equal(wa[k], wb[k]) for k in wa)

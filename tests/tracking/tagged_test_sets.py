"""Tagged test sets for the error-analysis tests: a hand-made one (every category, markup in a word) with a
previous run's tagging, and a synthetic one the size of CoNLL-2003's testa."""

from __future__ import annotations

import random

from sparktag.core.chunks import Chunk, chunks_to_tags
from sparktag.tracking.error_analysis import TaggedSentence

S = TaggedSentence
# Errors per sentence: 0, 2, 1, 2, 1 -> shown in the order 1, 3, 2, 4.
SENTENCES = [
    S(["Ann", "Lee", "visited", "Lisbon", "."], ["B-PER", "I-PER", "O", "B-LOC", "O"],
      ["B-PER", "I-PER", "O", "B-LOC", "O"], [0.99, 0.98, 1.0, 0.9, 1.0]),
    # ORG read as LOC (wrong type), the PER missed; a word that is markup
    S(["Acme", "Corp", "sued", "<script>alert(1)</script>", "."], ["B-ORG", "I-ORG", "O", "B-PER", "O"],
      ["B-LOC", "I-LOC", "O", "O", "O"], [0.9, 0.7, 1.0, 0.6, None]),
    S(["The", "Cup", "final", "in", "Paris"], ["O", "B-MISC", "O", "O", "B-LOC"],
      ["O", "B-MISC", "I-MISC", "O", "B-LOC"], [1.0, 0.8, 0.6, 1.0, 0.95]),
    # ORG read as LOC with the wrong boundary, and a spurious PER; no confidences from this model
    S(["Acme", "Corp", "staff", "Bo"], ["B-ORG", "I-ORG", "O", "O"], ["O", "B-LOC", "I-LOC", "B-PER"]),
    S(["nothing", "here"], ["O", "O"], ["O", "B-MISC"], [1.0, 0.5]),
]  # fmt: skip
# A previous run on the same test set, but for the last sentence: the LOC of sentence 0 missed (fixed now),
# sentence 1 right (two entities broken now).
PREVIOUS = [
    S(SENTENCES[0].words, SENTENCES[0].gold, ["B-PER", "I-PER", "O", "O", "O"]),
    S(SENTENCES[1].words, SENTENCES[1].gold, SENTENCES[1].gold),
    SENTENCES[2],
    SENTENCES[3],
    S(["another", "sentence"], ["O", "B-LOC"], ["O", "B-LOC"]),
]


TESTA_SENTENCES = 3250  # CoNLL-2003 English testa: 3,250 sentences, 51,362 tokens, 5,942 entities
TYPES = ("PER", "LOC", "ORG", "MISC")
WORDS = ("the", "of", "in", "said", "Reuters", "Germany", "European", "Commission", "<b>", "1-0", "Lisbon",
         "Thursday", "Ms.", "percent", "\u00e9t\u00e9", "O'Neill", "&", "Cup")  # fmt: skip


def synthetic_test_set(
    n: int = TESTA_SENTENCES, errors_seed: int = 1, error_rate: float = 0.2
) -> list[TaggedSentence]:
    """Sentences shaped like testa's (16 tokens, 1.8 entities on average; always the same ones) tagged by a
    model that errs in about ``error_rate`` of them (where depends on ``errors_seed``): wrong types, shortened
    entities, missed and spurious ones."""
    rng, err = random.Random(1), random.Random(errors_seed)
    sentences = []
    for _ in range(n):
        length = rng.randint(4, 28)
        words = [rng.choice(WORDS) for _ in range(length)]
        confidence: list[float | None] = [round(rng.uniform(0.3, 1.0), 4) for _ in range(length)]
        gold = synthetic_chunks(rng, length)
        pred = list(gold)
        odds = error_rate
        while err.random() < odds:
            add_error(err, pred, length)
            odds /= 1.5  # a second error, more rarely a third
        pred_tags = chunks_to_tags(sorted(pred, key=lambda c: c.start), length)
        sentences.append(TaggedSentence(words, chunks_to_tags(gold, length), pred_tags, confidence))
    return sentences


def synthetic_chunks(rng: random.Random, length: int) -> list[Chunk]:
    chunks: list[Chunk] = []
    i = 0
    while i < length:
        if rng.random() < 0.16:
            chunks.append(Chunk(rng.choice(TYPES), i, min(length - 1, i + rng.choice((0, 0, 1, 1, 2)))))
            i = chunks[-1].end + 2
        else:
            i += 1
    return chunks


def add_error(rng: random.Random, pred: list[Chunk], length: int) -> None:
    """Change the type of a predicted chunk, shorten it, drop it, or predict a one-token chunk."""
    kind = rng.random()
    k = rng.randrange(len(pred)) if pred else -1
    if k >= 0 and kind < 0.3:
        pred[k] = Chunk(rng.choice([t for t in TYPES if t != pred[k].entity]), pred[k].start, pred[k].end)
    elif k >= 0 and kind < 0.5 and pred[k].end > pred[k].start:
        pred[k] = Chunk(pred[k].entity, pred[k].start, pred[k].end - 1)
    elif k >= 0 and kind < 0.75:
        pred.pop(k)
    else:
        j = rng.randrange(length)
        if not any(c.start - 1 <= j <= c.end + 1 for c in pred):
            pred.append(Chunk(rng.choice(TYPES), j, j))

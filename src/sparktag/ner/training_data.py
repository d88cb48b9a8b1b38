"""The training data of one training: split into train/held-out parts, scanned once, cut into each epoch's steps.

Serving never needs this (it is ``ner/data.py``'s examples and batches that a tagger reads); the loop of
``ner/train.py`` builds one :class:`TrainingData` and asks it for every epoch's :func:`epoch_steps`:

    >>> training = TrainingData(ExampleSource(examples), validation_split=0.1, seed=1, max_word_len=24)
    >>> training.tags, training.char_vocab.size, training.train_size, training.held_out()
    >>> for step in epoch_steps(training, batch_size=8, order_rng=np.random.default_rng(1), seed=1, epoch=1):
    ...     loss = model.loss(step.batch, RowNoise(step.seeds, step.batch.lengths.tolist()))

A :class:`DataFingerprint` hashes the data as it is scanned, so a checkpoint (``ner/checkpoint.py``) is never
resumed on other data.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from sparktag.ner.data import (
    Batch,
    CharVocab,
    EncodedExample,
    ExampleSource,
    NerExample,
    build_tag_list,
    collate,
    encode_example,
    holdout_positions,
    length_batches,
)

if TYPE_CHECKING:
    from sparktag.ner.distributed import RankGroup


class DataFingerprint:
    """A hash of the data a training sees, in order: tokens, tags and the embedding bytes of every sentence.

    The trainer feeds it the training chunks during its first scan and the validation/test sets once, so a
    checkpoint is never resumed on other data (other sentences, order, labels or embeddings).
    """

    def __init__(self) -> None:
        self._hash = hashlib.blake2b(digest_size=16)

    def add(self, name: str, chunk: Sequence[NerExample]) -> None:
        """Hash one chunk of the named dataset (``"train"``, ``"validation"``, ``"test"``)."""
        h = self._hash
        h.update(f"{name}:{len(chunk)}\n".encode())
        for example in chunk:
            h.update(json.dumps([example.tokens, example.tags], ensure_ascii=False).encode("utf-8"))
            matrix = np.ascontiguousarray(example.embeddings, dtype=np.float32)  # (n_tokens, dim)
            h.update(repr(matrix.shape).encode())
            h.update(matrix.data)

    def add_source(self, name: str, source: ExampleSource) -> None:
        """Hash every chunk of a source (one pass over a streamed one)."""
        for chunk in source.chunks():
            self.add(name, chunk)

    def hexdigest(self) -> str:
        return self._hash.hexdigest()


@dataclass
class _Chunk:
    """The training part of one chunk of the source, and which positions were held out."""

    train_positions: np.ndarray  # (n_train,) positions in the chunk
    held_positions: np.ndarray  # (n_held,)
    size: int  # examples in the chunk
    trainable: int = 0  # training examples with at least one token (empty sentences are skipped)


class TrainingData:
    """Training data split into train/held-out parts, scanned once for vocabularies and sizes.

    In memory, examples are encoded once; streamed (``enableMemoryOptimizer``), every pass re-reads the chunks
    from the factory and encodes them on the fly. The held-out positions of chunk ``c`` are drawn from
    ``default_rng([seed, c])``, so they are the same on every pass and do not depend on other randomness.
    """

    def __init__(
        self,
        source: ExampleSource,
        validation_split: float,
        seed: int,
        max_word_len: int,
        fingerprint: DataFingerprint | None = None,
        group: RankGroup | None = None,
    ) -> None:
        self.source = source
        self.validation_split = validation_split
        self.seed = seed
        self.max_word_len = max_word_len
        self.group = group
        self.chunks: list[_Chunk] = []
        # per chunk: the training examples of every rank together, which the batches are cut from
        self.step_sizes: list[int] = []
        chars: set[str] = set()
        tags: set[str] = set()
        self.dim: int | None = None
        for c, chunk in enumerate(_lockstep(source.chunks(), group)):
            if fingerprint is not None:
                fingerprint.add("train", chunk)
            # Held-out positions are drawn over the chunk of every rank together (rank after rank), so
            # data-parallel training holds out the sentences one process holds out of the same data.
            offset, total = _place(len(chunk), group)
            held = holdout_positions(total, validation_split, np.random.default_rng([seed, c]))
            held = held[(held >= offset) & (held < offset + len(chunk))] - offset
            train_positions = np.setdiff1d(np.arange(len(chunk)), held)
            info = _Chunk(train_positions, held, len(chunk))
            self.chunks.append(info)
            for p in train_positions.tolist():
                example = chunk[p]
                where = f"training example {p}" + (f" of chunk {c}" if source.streaming else "")
                self._check(example, where)
                info.trainable += bool(example.tokens)
                for token in example.tokens:
                    chars.update(token)
                tags.update(example.tags)
            self.step_sizes.append(_place(info.trainable, group)[1])
        if group is not None:  # data parallel: one vocabulary over every rank's shard
            chars, tags, self.dim = group.agree_vocab(chars, tags, self.dim)
        if self.dim is None:
            raise ValueError("no training data: the source yielded no sentence with tokens")
        self.char_vocab = CharVocab(tuple(sorted(chars)))
        self.tags = build_tag_list(tags)
        self._char_ids = self.char_vocab.ids()
        self._tag_ids = {t: i for i, t in enumerate(self.tags)}
        self.train_size = sum(len(c.train_positions) for c in self.chunks)
        self.held_size = sum(len(c.held_positions) for c in self.chunks)
        if group is not None:
            self.train_size = group.total(self.train_size)  # what events report: the whole data's size
        self._cached: list[list[EncodedExample]] | None = None
        if not source.streaming:
            self._cached = list(self._encode_chunks())

    def _check(self, example: NerExample, where: str) -> None:
        """A training example has tags, and embeddings of the first example's dimension (which sets ``dim``)."""
        if example.tags is None:
            raise ValueError(f"{where} has no tags; every training sentence needs one tag per token")
        dim = int(np.shape(example.embeddings)[1]) if np.ndim(example.embeddings) == 2 else -1
        if self.dim is None and len(example.tokens):
            self.dim = dim
        if len(example.tokens) and dim != self.dim:
            raise ValueError(
                f"{where} has word embeddings of dimension {dim} (shape {np.shape(example.embeddings)}) "
                f"but the first training example has dim {self.dim}; all examples need the same embeddings"
            )

    def summary(self, fingerprint: str) -> dict[str, object]:
        """The data as a checkpoint records it (``TrainerState.data``): the fingerprint, and the sizes, tags and
        characters an error message shows when it differs."""
        return {
            "fingerprint": fingerprint,
            "training_examples": self.train_size,
            "tags": list(self.tags),
            "chars": self.char_vocab.size,
        }

    def count_batches(self, batch_size: int) -> int:
        """Batches per epoch: each chunk (of every rank together) is batched on its own."""
        return sum(math.ceil(n / batch_size) for n in self.step_sizes)

    def _passes(self) -> Iterator[tuple[Sequence[NerExample], _Chunk]]:
        """Another pass over the source, checked against the first (a stream must replay the same chunks)."""
        count = 0
        for count, chunk in enumerate(_lockstep(self.source.chunks(), self.group), start=1):
            expected = self.chunks[count - 1].size if count <= len(self.chunks) else None
            if expected != len(chunk):
                raise ValueError(
                    f"the training data changed between passes: chunk {count - 1} has {len(chunk)} examples, "
                    f"the first pass had {expected if expected is not None else 'no such chunk'}; a chunk factory "
                    "must yield the same chunks every time it is called"
                )
            yield chunk, self.chunks[count - 1]
        if count != len(self.chunks):
            raise ValueError(
                f"the training data changed between passes: {count} chunks, the first pass had {len(self.chunks)}"
            )

    def _encode_chunks(self) -> Iterator[list[EncodedExample]]:
        for chunk, info in self._passes():
            encoded = [
                encode_example(chunk[p], self._char_ids, self._tag_ids, self.max_word_len, p)
                for p in info.train_positions.tolist()
                if len(chunk[p].tokens)  # an empty sentence has nothing to learn
            ]
            yield encoded

    def training_chunks(self) -> Iterator[list[EncodedExample]]:
        """The encoded training examples, chunk by chunk (re-read from the factory when streaming)."""
        if self._cached is not None:
            yield from self._cached
        else:
            yield from self._encode_chunks()

    def held_out(self) -> ExampleSource | None:
        """The held-out validation examples as a source (streamed when the training data is)."""
        if not self.held_size:
            return None
        if self.source.streaming:

            def factory() -> Iterator[list[NerExample]]:
                for chunk, info in self._passes():
                    yield [chunk[p] for p in info.held_positions.tolist()]

            return ExampleSource(factory)
        examples = next(iter(self.source.chunks()), ())
        return ExampleSource([examples[p] for p in self.chunks[0].held_positions.tolist()])


def _lockstep(
    chunks: Iterable[Sequence[NerExample]], group: RankGroup | None
) -> Iterator[Sequence[NerExample]]:
    """The chunks of a source; data parallel, in step with the other ranks: as many chunks as the rank with the
    most, an empty chunk where this rank's shard has no more (every rank takes part in every chunk's
    collectives)."""
    if group is None:
        yield from chunks
        return
    iterator = iter(chunks)
    while True:
        chunk = next(iterator, None)
        if not any(group.gather(chunk is not None)):
            return
        yield chunk if chunk is not None else []


def _place(n: int, group: RankGroup | None) -> tuple[int, int]:
    """Where this rank's ``n`` items start among every rank's, rank after rank, and the total."""
    if group is None:
        return 0, n
    counts = group.gather(int(n))
    return sum(counts[: group.rank]), sum(counts)


@dataclass
class Step:
    """One optimisation step: this rank's part of the batch (None: no sentence of it here) and its share."""

    batch: Batch | None
    seeds: list[int]  # the dropout seed of each sentence of ``batch``
    share: float  # this rank's sentences / the step's sentences (1.0 in one process)


def _row_seed(seed: int, epoch: int, chunk: int, index: int) -> int:
    """The dropout seed of a training sentence in an epoch: the same wherever the sentence is trained."""
    return int(np.random.SeedSequence([seed, epoch, chunk, index]).generate_state(1, np.uint64)[0]) >> 1


def epoch_steps(
    training: TrainingData, batch_size: int, order_rng: np.random.Generator, seed: int, epoch: int
) -> Iterator[Step]:
    """One epoch's steps, chunk by chunk.

    Data parallel, every rank cuts the same batches from the chunk of every rank together (the ranks' sentences
    one after the other, as one process holding the whole data sees them) with the same generator, and trains
    the members it holds: the steps, their sentences and their dropout masks are one process's.
    """
    group = training.group
    for c, chunk in enumerate(training.training_chunks()):
        lengths = [e.length for e in chunk]
        offset = 0
        if group is not None:
            every = group.gather(lengths)
            offset = sum(len(part) for part in every[: group.rank])
            lengths = [n for part in every for n in part]
        for members in length_batches(lengths, batch_size, order_rng):
            mine = [i for i in members if offset <= i < offset + len(chunk)]
            yield Step(
                batch=collate([chunk[i - offset] for i in mine]) if mine else None,
                seeds=[_row_seed(seed, epoch, c, i) for i in mine],
                share=len(mine) / len(members),
            )

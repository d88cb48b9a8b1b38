"""Sentences as the tagger sees them: examples, vocabularies, length-bucketed batches and padded tensors.

Training data comes either as an in-memory list of :class:`NerExample` or, for ``enableMemoryOptimizer``, as a
*chunk factory*: a callable that returns a fresh iterator over lists of examples each time it is called, so
every epoch re-reads the data (from Spark, Arrow files, ...) instead of holding it all in memory.

    >>> ex = NerExample(["Peter", "lives"], np.zeros((2, 4), np.float32), ["B-PER", "O"])
    >>> source = ExampleSource([ex])          # in memory
    >>> source = ExampleSource(lambda: iter([[ex], [ex]]))  # streamed, two chunks
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor

from sparktag.core.casing import casing_ids

OUTSIDE = "O"


@dataclass
class NerExample:
    """One sentence: its tokens, their frozen word embeddings and (for training/evaluation) gold tags.

    Args:
        tokens: the words.
        embeddings: ``(n_tokens, dim)`` float32, one row per token.
        tags: one tag per token (``B-PER``, ``O``, ...) or ``None`` when unlabelled.
    """

    tokens: list[str]
    embeddings: np.ndarray  # (n_tokens, dim) float32
    tags: list[str] | None = None


# A callable returning a fresh iterator over chunks (lists) of examples; called once per pass over the data.
ChunkFactory = Callable[[], Iterable[Sequence[NerExample]]]


class ExampleSource:
    """Examples held in memory (one chunk) or streamed chunk by chunk from a factory.

    Args:
        data: a sequence of examples, or a :data:`ChunkFactory` (``enableMemoryOptimizer``).
    """

    def __init__(self, data: Sequence[NerExample] | ChunkFactory) -> None:
        if callable(data):
            self._factory: ChunkFactory | None = data
            self._examples: Sequence[NerExample] = ()
        else:
            self._factory = None
            self._examples = data

    @property
    def streaming(self) -> bool:
        return self._factory is not None

    def chunks(self) -> Iterator[Sequence[NerExample]]:
        """Yield the data as chunks; an in-memory source is one chunk."""
        if self._factory is None:
            if len(self._examples):
                yield self._examples
            return
        for chunk in self._factory():
            yield list(chunk)


@dataclass(frozen=True)
class CharVocab:
    """Characters seen in training. Id 0 pads, id 1 is any unknown character, ``chars[i]`` has id ``i + 2``."""

    chars: tuple[str, ...]

    PAD_ID = 0
    UNK_ID = 1

    @property
    def size(self) -> int:
        return len(self.chars) + 2

    def ids(self) -> dict[str, int]:
        return {c: i + 2 for i, c in enumerate(self.chars)}


def build_char_vocab(sentences: Iterable[Sequence[str]]) -> CharVocab:
    """Every character of the given token lists, sorted (so the vocabulary does not depend on data order)."""
    seen: set[str] = set()
    for tokens in sentences:
        for token in tokens:
            seen.update(token)
    return CharVocab(tuple(sorted(seen)))


def build_tag_list(tags: Iterable[str]) -> list[str]:
    """The tag vocabulary: ``"O"`` first (id 0, also used on padding), then the other tags sorted.

    ``"O"`` is always present, even if the data never uses it, so id 0 means the same in every model.
    """
    return [OUTSIDE, *sorted(set(tags) - {OUTSIDE})]


@dataclass
class EncodedExample:
    """An example turned into arrays, ready to pad into a batch."""

    embeddings: np.ndarray  # (L, D) float32
    char_ids: np.ndarray  # (L, W) int64, W = longest (truncated) word of this sentence, at least 1
    casing_ids: np.ndarray  # (L,) int64, each token's class of core/casing.py (never 0, the padding id)
    tag_ids: np.ndarray | None  # (L,) int64
    position: int  # where the example sits in its chunk/list, to put predictions back in order

    @property
    def length(self) -> int:
        return int(self.embeddings.shape[0])


def encode_example(
    example: NerExample,
    char_ids: dict[str, int],
    tag_ids: dict[str, int] | None,
    max_word_len: int,
    position: int,
) -> EncodedExample:
    """Check an example's shapes and map its characters, casing classes and tags to ids.

    Words longer than ``max_word_len`` keep their first ``max_word_len`` characters. With ``tag_ids=None`` the
    tags are ignored (prediction, evaluation).

    Raises:
        ValueError: the embeddings are not one 2-D row per token, or the tags are missing or of the wrong length.
        KeyError: a tag is not in the tag vocabulary.
    """
    n = len(example.tokens)
    emb = np.asarray(example.embeddings, dtype=np.float32)
    if emb.ndim != 2 or emb.shape[0] != n:
        raise ValueError(
            f"example {position}: embeddings must have shape (n_tokens, dim) = ({n}, dim), got {emb.shape}; "
            "each token needs exactly one embedding row"
        )
    width = max(1, min(max_word_len, max((len(t) for t in example.tokens), default=1)))
    chars = np.zeros((n, width), dtype=np.int64)
    for i, token in enumerate(example.tokens):
        row = [char_ids.get(c, CharVocab.UNK_ID) for c in token[:width]]
        chars[i, : len(row)] = row
    # Always computed (about 2 us a token, like the character ids); only a model with casing_dim > 0 reads them.
    casing = np.array(casing_ids(example.tokens), dtype=np.int64)
    tags = None
    if tag_ids is not None:
        if example.tags is None:
            raise ValueError(f"example {position}: training examples need tags, got tags=None")
        if len(example.tags) != n:
            raise ValueError(f"example {position}: {n} tokens but {len(example.tags)} tags")
        try:
            tags = np.array([tag_ids[t] for t in example.tags], dtype=np.int64)
        except KeyError as err:
            raise KeyError(
                f"example {position}: tag {err.args[0]!r} is not in the tag vocabulary {sorted(tag_ids)}; "
                "a streamed training source must yield the same data on every pass"
            ) from None
    return EncodedExample(emb, chars, casing, tags, position)


@dataclass
class Batch:
    """Padded tensors for a batch of sentences (right padding)."""

    embeddings: Tensor  # (B, T, D) float32
    char_ids: Tensor  # (B, T, W) long, 0 = padding
    casing_ids: Tensor  # (B, T) long, 0 = padding (sparktag.core.casing.PADDING)
    mask: Tensor  # (B, T) bool, True on real tokens
    lengths: Tensor  # (B,) long, on CPU (pack_padded_sequence wants CPU lengths)
    tag_ids: Tensor | None  # (B, T) long, 0 on padding
    positions: list[int]  # EncodedExample.position of each row

    def __len__(self) -> int:
        return len(self.positions)


def collate(examples: Sequence[EncodedExample]) -> Batch:
    """Pad encoded examples (all non-empty) into one :class:`Batch`."""
    batch = len(examples)
    seq_len = max(e.length for e in examples)
    width = max(e.char_ids.shape[1] for e in examples)
    dim = examples[0].embeddings.shape[1]
    emb = np.zeros((batch, seq_len, dim), dtype=np.float32)
    chars = np.zeros((batch, seq_len, width), dtype=np.int64)
    casing = np.zeros((batch, seq_len), dtype=np.int64)
    mask = np.zeros((batch, seq_len), dtype=bool)
    has_tags = all(e.tag_ids is not None for e in examples)
    tags = np.zeros((batch, seq_len), dtype=np.int64)
    for b, e in enumerate(examples):
        n = e.length
        emb[b, :n] = e.embeddings
        chars[b, :n, : e.char_ids.shape[1]] = e.char_ids
        casing[b, :n] = e.casing_ids
        mask[b, :n] = True
        if e.tag_ids is not None:
            tags[b, :n] = e.tag_ids
    return Batch(
        embeddings=torch.from_numpy(emb),
        char_ids=torch.from_numpy(chars),
        casing_ids=torch.from_numpy(casing),
        mask=torch.from_numpy(mask),
        lengths=torch.tensor([e.length for e in examples], dtype=torch.long),
        tag_ids=torch.from_numpy(tags) if has_tags else None,
        positions=[e.position for e in examples],
    )


def length_batches(
    lengths: Sequence[int],
    batch_size: int,
    rng: np.random.Generator | None = None,
    pool_batches: int = 200,
) -> list[list[int]]:
    """Group indices into batches of similar sentence length, so little compute is spent on padding.

    With an ``rng`` (training): the indices are cut into ``batch_size`` contiguous strata (of ``n //
    batch_size`` or one more), each shuffled; the strata are read ``pool_batches`` at a time, each such pool
    sorted by length, and batch ``j`` of a pool takes the ``j``-th sentence of every stratum's pool (sentences
    of about the same length rank). The batch order is shuffled. Batches stay random from epoch to epoch and
    hold little padding (~8% on CoNLL-like lengths), and every batch takes one sentence from each stratum: data
    split into contiguous ranges over ``k`` data-parallel workers, ``k`` dividing ``batch_size``, gives each
    worker ``batch_size / k`` sentences of every step (``ner/distributed.py``). Without an ``rng``
    (prediction): sort everything by length, no randomness.

    Returns:
        lists of indices into ``lengths``; together they cover every index once; ``ceil(n / batch_size)``
        batches.
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, got {batch_size}")
    n = len(lengths)
    lens = np.asarray(lengths, dtype=np.int64)
    if rng is None:
        order = np.argsort(lens, kind="stable")
        return [order[i : i + batch_size].tolist() for i in range(0, n, batch_size)]
    strata_count = max(1, min(batch_size, n))
    bounds = [s * n // strata_count for s in range(strata_count + 1)]
    strata = [rng.permutation(np.arange(bounds[s], bounds[s + 1])) for s in range(strata_count)]
    batches: list[list[int]] = []
    for start in range(0, max(len(s) for s in strata), pool_batches):
        pools = [s[start : start + pool_batches] for s in strata]
        pools = [p[np.argsort(lens[p], kind="stable")] for p in pools]
        for j in range(max(len(p) for p in pools)):
            batches.append([int(p[j]) for p in pools if j < len(p)])
    return [batches[i] for i in rng.permutation(len(batches))]


def holdout_positions(n: int, fraction: float, rng: np.random.Generator) -> np.ndarray:
    """Positions (sorted) of the ``round(fraction * n)`` examples held out of a chunk of ``n`` for validation."""
    if not 0.0 <= fraction < 1.0:
        raise ValueError(f"validation_split must be in [0, 1), got {fraction}")
    k = int(round(fraction * n))
    return np.sort(rng.choice(n, size=k, replace=False)) if k else np.zeros(0, dtype=np.int64)

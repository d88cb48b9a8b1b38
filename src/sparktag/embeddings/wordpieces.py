"""Wordpieces of pre-split sentences: the windows long sentences are cut into, batches, and pooling to words.

Pure numpy helpers of :meth:`sparktag.embeddings.transformer.TransformerEncoder.embed` (no model; the tokenizer
is passed in as a function): words are split into wordpieces, a sentence longer than a forward pass is cut into
windows overlapping by half a window, each wordpiece's vector is taken from the window where it is most central,
windows are packed into length-bounded batches (the model's inputs built for each), and the vectors of the rows
are stitched and pooled into one vector per word.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


@dataclass
class Window:
    """One forward-pass row: content wordpieces ``[start, end)`` of sentence ``sentence``.

    The row's vectors are kept for pieces ``[keep_start, keep_end)`` only (where this window is the most
    central one); a short sentence is one window that keeps everything.
    """

    sentence: int
    start: int
    end: int
    keep_start: int
    keep_end: int


def sentence_windows(sentence: int, n_pieces: int, window: int) -> list[Window]:
    """Cut ``n_pieces`` wordpieces into windows of ``window`` pieces overlapping by half a window.

    Each piece is kept from the window where it has the most context on its shorter side.
    """
    if n_pieces <= window:
        return [Window(sentence, 0, n_pieces, 0, n_pieces)]
    stride = max(1, window // 2)
    starts = list(range(0, n_pieces - window, stride)) + [n_pieces - window]
    starts_np = np.asarray(starts)[:, None]  # (n_windows, 1)
    pos = np.arange(n_pieces)[None, :]  # (1, n_pieces)
    inside = (pos >= starts_np) & (pos < starts_np + window)
    context = np.minimum(pos - starts_np, starts_np + window - 1 - pos)  # (n_windows, n_pieces)
    owner = np.where(inside, context, -1).argmax(axis=0)  # (n_pieces,) most central window per piece
    out = []
    for k, start in enumerate(starts):
        kept = np.flatnonzero(owner == k)
        if len(kept):  # owners are monotone in the position, so ``kept`` is one contiguous run
            out.append(Window(sentence, start, start + window, int(kept[0]), int(kept[-1]) + 1))
    return out


def length_batches(windows: list[Window], n_special: int, max_tokens: int) -> list[list[Window]]:
    """Group length-sorted windows so each batch's padded size ``rows * longest`` stays within ``max_tokens``."""
    batches: list[list[Window]] = []
    current: list[Window] = []
    for w in windows:
        length = w.end - w.start + n_special
        if current and (len(current) + 1) * length > max_tokens:
            batches.append(current)
            current = []
        current.append(w)
    if current:
        batches.append(current)
    return batches


def batch_inputs(
    batch: list[Window],
    piece_ids: list[np.ndarray],
    prefix: Sequence[int],
    suffix: Sequence[int],
    pad_id: int,
) -> tuple[np.ndarray, np.ndarray]:
    """The ``(rows, seq_len)`` input ids and 0/1 attention mask of a length-sorted batch of windows: each row
    ``prefix + the window's pieces + suffix``, padded with ``pad_id`` to the longest (the last) row."""
    n_special = len(prefix) + len(suffix)
    p = len(prefix)
    seq_len = batch[-1].end - batch[-1].start + n_special
    input_ids = np.full((len(batch), seq_len), pad_id, dtype=np.int64)
    lengths = np.empty(len(batch), dtype=np.int64)
    for row, w in enumerate(batch):
        n = w.end - w.start
        input_ids[row, :p] = prefix
        input_ids[row, p : p + n] = piece_ids[w.sentence][w.start : w.end]
        input_ids[row, p + n : p + n + len(suffix)] = suffix
        lengths[row] = n + n_special
    mask = (np.arange(seq_len)[None, :] < lengths[:, None]).astype(np.int64)
    return input_ids, mask


class SentenceVectors:
    """The word vectors of a batch of sentences, assembled from the forward-pass rows of their windows.

    A sentence of one window is pooled as soon as its row arrives; a longer one is stitched into a
    ``(n_pieces, dim)`` buffer first and pooled when its last window arrives.

    Args:
        windows: every window of the batch (:func:`sentence_windows`).
        word_ids: per sentence, the word index of each wordpiece (sorted).
        dim: the size of a wordpiece vector, hence of a word vector.
        pooling: ``"first"`` or ``"mean"`` (see :func:`pool`).
    """

    def __init__(self, windows: list[Window], word_ids: list[np.ndarray], dim: int, pooling: str) -> None:
        #: one ``(n_words, dim)`` matrix per sentence; ``(0, dim)`` for a sentence without words
        self.vectors = [np.zeros((0, dim), np.float32) for _ in word_ids]
        self._word_ids = word_ids
        self._pooling = pooling
        self._pending = {i: n for i, n in Counter(w.sentence for w in windows).items() if n > 1}
        self._stitched = {i: np.empty((len(word_ids[i]), dim), np.float32) for i in self._pending}

    def add(self, window: Window, pieces: np.ndarray) -> None:
        """Take the ``(keep_end - keep_start, dim)`` vectors of the pieces ``window`` keeps."""
        i = window.sentence
        if i not in self._pending:  # the whole sentence is in this row
            self.vectors[i] = pool(pieces, self._word_ids[i], self._pooling)
            return
        self._stitched[i][window.keep_start : window.keep_end] = pieces
        self._pending[i] -= 1
        if self._pending[i] == 0:
            self.vectors[i] = pool(self._stitched.pop(i), self._word_ids[i], self._pooling)


def pool(pieces: np.ndarray, word_ids: np.ndarray, pooling: str) -> np.ndarray:
    """Word vectors ``(n_words, dim)`` from wordpiece vectors ``(n_pieces, dim)``; ``word_ids`` is sorted."""
    starts = np.flatnonzero(np.r_[True, word_ids[1:] != word_ids[:-1]])  # first piece of each word
    if pooling == "first":
        return np.ascontiguousarray(pieces[starts], dtype=np.float32)
    counts = np.diff(np.r_[starts, len(word_ids)])
    return (np.add.reduceat(pieces, starts, axis=0) / counts[:, None]).astype(np.float32)


def split_words(
    sentences: Sequence[Sequence[str]],
    encode_words: Callable[[list[list[str]]], list[Any]],
    case_sensitive: bool,
    unk_id: int,
) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Wordpiece ids and their word indices per sentence, every word with at least one piece.

    Args:
        sentences: each a list of words.
        encode_words: the tokenizer: pre-split sentences -> one ``tokenizers.Encoding`` each.
        case_sensitive: keep the words' case; otherwise they are lowercased first.
        unk_id: the piece a word the tokenizer drops gets (see :func:`fill_dropped_words`).
    """
    # A Python str may hold lone surrogates (JSON "\ud800", bytes read with errors="surrogateescape"),
    # which the Rust tokenizer refuses with a bare TypeError: read them as U+FFFD, an unknown char.
    words = [[_LONE_SURROGATE.sub("\ufffd", w) for w in s] for s in sentences]
    if not case_sensitive:
        words = [[w.lower() for w in s] for s in words]
    nonempty = [i for i, s in enumerate(words) if s]
    piece_ids = [np.zeros(0, np.int64) for _ in words]
    word_ids = [np.zeros(0, np.int64) for _ in words]
    if not nonempty:
        return piece_ids, word_ids
    encodings = encode_words([words[i] for i in nonempty])
    for i, encoding in zip(nonempty, encodings, strict=True):
        ids = np.asarray(encoding.ids, dtype=np.int64)
        wids = np.asarray(encoding.word_ids, dtype=np.int64)
        if len(np.unique(wids)) != len(words[i]):
            ids, wids = fill_dropped_words(ids, wids, len(words[i]), unk_id)
        piece_ids[i], word_ids[i] = ids, wids
    return piece_ids, word_ids


def fill_dropped_words(
    ids: np.ndarray, word_ids: np.ndarray, n_words: int, unk_id: int
) -> tuple[np.ndarray, np.ndarray]:
    """Give every word the tokenizer produced no piece for (e.g. ``"\\u200b"``) one unknown-token piece."""
    new_ids: list[int] = []
    new_wids: list[int] = []
    j = 0
    for word in range(n_words):
        if j >= len(word_ids) or word_ids[j] != word:
            new_ids.append(unk_id)
            new_wids.append(word)
        while j < len(word_ids) and word_ids[j] == word:
            new_ids.append(int(ids[j]))
            new_wids.append(word)
            j += 1
    return np.asarray(new_ids, dtype=np.int64), np.asarray(new_wids, dtype=np.int64)


def special_tokens(encoding: Any) -> tuple[list[int], list[int]]:
    """The ids a tokenizer puts before and after one sentence (``[CLS]``/``[SEP]``, ``<s>``/``</s>``), from the
    ``Encoding`` of the one word ``"a"`` with special tokens."""
    ids, wids = encoding.ids, encoding.word_ids
    inside = [k for k, w in enumerate(wids) if w is not None]
    if not inside:
        raise ValueError("the tokenizer produced no wordpiece for the word 'a'; is its vocab empty?")
    return list(ids[: inside[0]]), list(ids[inside[-1] + 1 :])

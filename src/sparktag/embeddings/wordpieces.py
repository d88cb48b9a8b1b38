"""Wordpieces of pre-split sentences: the windows long sentences are cut into, batches, and pooling to words.

Pure numpy helpers of :meth:`sparktag.embeddings.transformer.TransformerEncoder.embed` (no model, no tokenizer):
a sentence longer than a forward pass is cut into windows overlapping by half a window, each wordpiece's vector
is taken from the window where it is most central, windows are packed into length-bounded batches, and
wordpiece vectors are pooled into one vector per word.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np


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


def pool(pieces: np.ndarray, word_ids: np.ndarray, pooling: str) -> np.ndarray:
    """Word vectors ``(n_words, dim)`` from wordpiece vectors ``(n_pieces, dim)``; ``word_ids`` is sorted."""
    starts = np.flatnonzero(np.r_[True, word_ids[1:] != word_ids[:-1]])  # first piece of each word
    if pooling == "first":
        return np.ascontiguousarray(pieces[starts], dtype=np.float32)
    counts = np.diff(np.r_[starts, len(word_ids)])
    return (np.add.reduceat(pieces, starts, axis=0) / counts[:, None]).astype(np.float32)


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

"""Windows, batches and pooling of wordpieces (the numpy side of TransformerEncoder.embed)."""

from __future__ import annotations

import numpy as np

from sparktag.embeddings.wordpieces import fill_dropped_words, length_batches, pool, sentence_windows


def test_windows_cover_every_piece_once():
    for n in (1, 31, 32, 33, 47, 100, 257):
        windows = sentence_windows(0, n, 32)
        kept = np.concatenate([np.arange(w.keep_start, w.keep_end) for w in windows])
        np.testing.assert_array_equal(kept, np.arange(n))
        assert all(
            w.end - w.start == min(n, 32) and w.start <= w.keep_start < w.keep_end <= w.end for w in windows
        )
        if n > 32:  # every interior piece keeps at least a quarter-window of context on each side
            for w in windows:
                assert w.keep_start - w.start >= 8 or w.start == 0
                assert w.end - w.keep_end >= 7 or w.end == n


def test_length_batches_bound_the_padded_size():
    windows = [w for n in (4, 4, 6, 10) for w in sentence_windows(0, n, 32)]
    batches = length_batches(windows, n_special=2, max_tokens=24)
    assert [[w.end - w.start for w in b] for b in batches] == [[4, 4, 6], [10]]  # 3 rows x 8 pieces fit 24


def test_pooling_takes_the_first_piece_or_the_mean():
    pieces = np.array([[1.0, 1.0], [3.0, 3.0], [5.0, 5.0]], np.float32)
    word_ids = np.array([0, 0, 1])
    assert pool(pieces, word_ids, "first").tolist() == [[1.0, 1.0], [5.0, 5.0]]
    assert pool(pieces, word_ids, "mean").tolist() == [[2.0, 2.0], [5.0, 5.0]]


def test_a_word_without_pieces_gets_the_unknown_piece():
    ids, word_ids = fill_dropped_words(np.array([7, 8]), np.array([0, 2]), 3, unk_id=1)
    assert ids.tolist() == [7, 1, 8] and word_ids.tolist() == [0, 1, 2]

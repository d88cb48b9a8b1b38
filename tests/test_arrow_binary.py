"""Zero-copy reads of Arrow binary columns (saved weights, featurised vectors)."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

from sparktag.arrow_binary import binary_values


@pytest.mark.parametrize("binary_type", ["binary", "large_binary"])
def test_values_are_views_of_the_buffer_from_any_slice(binary_type):
    values = [np.arange(6, dtype=np.float32), np.zeros(0, np.float32), np.full(2, 7.5, np.float32)]
    array = pa.array([v.tobytes() for v in values], getattr(pa, binary_type)())
    whole = list(binary_values(pa.chunked_array([array[:1], array[1:]])))
    assert [r.view(np.float32).tolist() for r in whole] == [v.tolist() for v in values]
    assert [r.view(np.float32).tolist() for r in binary_values(array.slice(2))] == [[7.5, 7.5]]
    assert not whole[0].flags.owndata  # a view of the Arrow buffer
    assert [bytes(v) for v in binary_values(pa.array([b"ab", b""]))] == [b"ab", b""]


def test_a_null_is_refused():
    with pytest.raises(ValueError, match="holds 1 null"):
        list(binary_values(pa.array([b"ab", None])))

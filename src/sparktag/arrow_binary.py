"""Zero-copy reads of Arrow binary columns: each value as a view of the column's data buffer.

Two places hold large binary cells: a saved stage's weights (``name, part, bytes`` rows, see
``sparktag.spark.persistence``) and NerDLApproach's featurised sentences (one float32 matrix per sentence, see
``sparktag.spark.ner_features``). ``to_pylist()`` would copy every byte into a Python ``bytes`` object;
:func:`binary_values` reads the offsets once and slices the buffer instead.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any


def binary_values(column: Any) -> Iterator[Any]:
    """Each value of a binary Arrow column as a ``uint8`` numpy array viewing its data buffer (no copy).

    Args:
        column: a pyarrow ``binary`` or ``large_binary`` Array (any slice of one) or ChunkedArray.

    Returns:
        An iterator of 1-d ``uint8`` arrays, one per value, in order; they are views that keep the buffer alive.

    Raises:
        ValueError: the column holds a null (the writers of such columns never write one).

    Example:
        >>> import pyarrow as pa
        >>> [bytes(v) for v in binary_values(pa.array([b"ab", b"", b"c"]))]
        [b'ab', b'', b'c']
    """
    import numpy as np
    import pyarrow as pa

    for array in column.chunks if isinstance(column, pa.ChunkedArray) else [column]:
        if array.null_count:
            raise ValueError(
                f"a binary Arrow column holds {array.null_count} null(s); this is a bug in sparktag"
            )
        _, offsets_buffer, data_buffer = array.buffers()
        width = np.int64 if pa.types.is_large_binary(array.type) else np.int32  # Spark may send large_binary
        offsets = np.frombuffer(offsets_buffer, dtype=width)[array.offset : array.offset + len(array) + 1]
        data = (
            np.frombuffer(data_buffer, dtype=np.uint8) if data_buffer is not None else np.zeros(0, np.uint8)
        )
        for begin, end in zip(offsets[:-1].tolist(), offsets[1:].tolist(), strict=True):
            yield data[begin:end]

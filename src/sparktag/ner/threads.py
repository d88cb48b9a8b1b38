"""torch's intra-op thread count for a block, restored afterwards.

Training (``TrainConfig.num_threads``) and serving (the MLflow flavor's requests) both set it; it lives apart from
either, so a served model does not import the training loop:

    >>> with torch_threads(1):
    ...     predictions = tagger.predict(tokens, embeddings)
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import torch


@contextlib.contextmanager
def torch_threads(n: int | None) -> Iterator[None]:
    """Run the block with ``n`` torch intra-op threads (None or ``<= 0``: unchanged), then restore the count."""
    if n is None or n <= 0:
        yield
        return
    before = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)

"""Where each process keeps word-vector indexes: one local folder per index, shared by every worker.

``WordEmbeddingsModel`` carries its index as files (see :mod:`sparktag.embeddings.word_vectors`). A process
writes them once into a cache folder keyed by their digest and memory-maps them from there, so the operating
system's page cache holds one copy for every Python worker on the machine.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

Files = dict[str, bytes]


def cache_root() -> Path:
    """``$SPARKTAG_CACHE/word_vectors`` (default ``~/.cache/sparktag/word_vectors``)."""
    return Path(os.environ.get("SPARKTAG_CACHE", Path.home() / ".cache" / "sparktag")) / "word_vectors"


def index_folder(digest: str, files: Callable[[], Files]) -> Path:
    """This process's cache folder of the index with ``digest``, written from ``files()`` if missing.

    ``files`` is called only when the folder is missing (on an executor that has not seen the index yet).
    A folder the cache root cannot hold (a read-only or missing home on a cluster node) goes under the
    temporary folder instead.

    Raises:
        OSError: neither the cache root nor the temporary folder can hold it.
    """
    for root in (cache_root(), Path(tempfile.gettempdir()) / f"sparktag-{os.getuid()}" / "word_vectors"):
        folder = root / digest[:32]
        with contextlib.suppress(OSError):
            if (folder / "meta.json").is_file():
                return folder
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError:
            continue
        content = files()
        # meta.json last: a process that finds it finds every other file complete (each written, then renamed)
        for name in sorted(content, key=lambda n: n == "meta.json"):
            part = folder / f"{name}.{os.getpid()}.part"
            part.write_bytes(content[name])
            part.replace(folder / name)
        return folder
    raise OSError(
        f"WordEmbeddingsModel: no writable cache folder for the vectors index (tried {cache_root()})"
    )


_OPEN: dict[str, Any] = {}  # digest -> WordVectors, one per process


def open_index(digest: str, files: Callable[[], Files]) -> Any:
    """This process's :class:`~sparktag.embeddings.word_vectors.WordVectors` of ``digest``, opened once."""
    from sparktag.embeddings.word_vectors import WordVectors

    if digest not in _OPEN:
        _OPEN[digest] = WordVectors.open(str(index_folder(digest, files)))
    return _OPEN[digest]

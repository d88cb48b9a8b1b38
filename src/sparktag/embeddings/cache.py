"""An on-disk cache of computed word embeddings, so NER training embeds its training set once.

Each sentence's ``(n_words, dim)`` float32 matrix is stored under :func:`cache_key`, a digest of the model's
identity, the encoder config and the sentence's tokens: a different model, casing, pooling or tokenization is a
different key, so a stale entry is never returned.

Layout (append-only, so several processes can fill one cache without locking):

    cache.json                 {"format_version": 1}
    shard-<id>.npy             float32 (total_words, dim): the shard's sentences, one after another
    shard-<id>.json            {"format_version", "dimension", "keys": [...], "offsets": [...]}

A shard's ``.json`` is renamed into place after its ``.npy`` is complete, so a reader only ever sees whole
shards. Shards are memory-mapped: reading a sentence touches only its pages, and :meth:`EmbeddingCache.iter_shards`
streams the cache shard by shard for memory-bounded training.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

FORMAT_VERSION = 1
EmbedFn = Callable[[list[list[str]]], list[np.ndarray]]


def cache_key(model_identity: str, config: Any, tokens: Sequence[str]) -> str:
    """The digest a sentence's embeddings are stored under.

    Args:
        model_identity: what identifies the model's function, e.g. ``TransformerEncoder.identity`` or the
            path and modification time of a word vectors index.
        config: a dataclass (``EncoderConfig``) or a JSON-able mapping of everything else that changes the
            vectors (casing, pooling, window length).
        tokens: the sentence's words.
    """
    if dataclasses.is_dataclass(config) and not isinstance(config, type):
        config = dataclasses.asdict(config)
    payload = json.dumps(
        {"model": model_identity, "config": config, "tokens": list(tokens)},
        sort_keys=True,
        ensure_ascii=False,
        default=str,
    )
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


@dataclasses.dataclass(frozen=True)
class _Entry:
    shard: str
    start: int  # first row in the shard's matrix
    end: int


class EmbeddingCache:
    """Per-sentence embedding matrices in ``.npy`` shards under ``directory``.

    Args:
        directory: the cache folder; created if needed, and existing shards are indexed.
        shard_mb: buffered matrices are written as a new shard once they reach this size.

    Example:
        >>> with EmbeddingCache("cache/minilm") as cache:
        ...     keys = cache.fill(sentences, lambda s: encoder.embed(s, config), encoder.identity, config)
        ...     for matrix in cache.read(keys):
        ...         ...
    """

    def __init__(self, directory: str | os.PathLike[str], shard_mb: float = 64.0) -> None:
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self._shard_bytes = int(shard_mb * 2**20)
        meta_path = self.directory / "cache.json"
        if meta_path.is_file():
            version = json.loads(meta_path.read_text(encoding="utf-8")).get("format_version")
            if version != FORMAT_VERSION:
                raise ValueError(
                    f"{meta_path}: embedding cache format_version {version} is not {FORMAT_VERSION}; "
                    "delete the folder to rebuild the cache"
                )
        else:
            _write_atomic(meta_path, json.dumps({"format_version": FORMAT_VERSION}) + "\n")
        self._entries: dict[str, _Entry] = {}
        self._shards: dict[str, np.ndarray] = {}  # shard id -> memory-mapped matrix, opened on first read
        self._pending: dict[str, np.ndarray] = {}
        self._pending_bytes = 0
        self._known_shards: set[str] = set()
        self.refresh()

    # -- index ------------------------------------------------------------------------------------------
    def refresh(self) -> None:
        """Index shards written since this cache was opened (e.g. by other processes)."""
        for index_path in sorted(self.directory.glob("shard-*.json")):
            shard = index_path.stem
            if shard in self._known_shards:
                continue
            self._known_shards.add(shard)
            index = json.loads(index_path.read_text(encoding="utf-8"))
            if index.get("format_version") != FORMAT_VERSION:
                continue  # a shard from another format version is simply not used
            offsets = index["offsets"]
            for k, key in enumerate(index["keys"]):
                self._entries.setdefault(key, _Entry(shard, offsets[k], offsets[k + 1]))

    def __contains__(self, key: str) -> bool:
        return key in self._entries or key in self._pending

    def __len__(self) -> int:
        return len(self._entries) + sum(1 for k in self._pending if k not in self._entries)

    # -- writing ----------------------------------------------------------------------------------------
    def put(self, key: str, matrix: np.ndarray) -> None:
        """Store one sentence's ``(n_words, dim)`` matrix; written to disk by :meth:`flush` or when a shard fills."""
        if key in self:
            return
        matrix = np.asarray(matrix, dtype=np.float32)
        if matrix.ndim != 2:
            raise ValueError(
                f"expected a (n_words, dim) matrix for key {key[:12]}..., got shape {matrix.shape}"
            )
        self._pending[key] = matrix
        self._pending_bytes += matrix.nbytes
        if self._pending_bytes >= self._shard_bytes:
            self.flush()

    def flush(self) -> None:
        """Write buffered matrices as new shards (one per embedding dimension)."""
        by_dim: dict[int, list[str]] = {}
        for key, matrix in self._pending.items():
            by_dim.setdefault(matrix.shape[1], []).append(key)
        for dim, keys in by_dim.items():
            matrices = [self._pending[k] for k in keys]
            offsets = np.zeros(len(keys) + 1, dtype=np.int64)
            np.cumsum([m.shape[0] for m in matrices], out=offsets[1:])
            shard = f"shard-{uuid.uuid4().hex}"
            data = np.concatenate(matrices) if matrices else np.zeros((0, dim), np.float32)
            tmp = self.directory / f".{shard}.npy.tmp"
            with open(tmp, "wb") as f:
                np.save(f, data.reshape(-1, dim))
            os.replace(tmp, self.directory / f"{shard}.npy")
            index = {
                "format_version": FORMAT_VERSION,
                "dimension": dim,
                "keys": keys,
                "offsets": offsets.tolist(),
            }
            _write_atomic(self.directory / f"{shard}.json", json.dumps(index))
            self._known_shards.add(shard)
            for k, key in enumerate(keys):
                self._entries[key] = _Entry(shard, int(offsets[k]), int(offsets[k + 1]))
        self._pending.clear()
        self._pending_bytes = 0

    def __enter__(self) -> EmbeddingCache:
        return self

    def __exit__(self, *exc: object) -> None:
        self.flush()

    # -- reading ----------------------------------------------------------------------------------------
    def get(self, key: str) -> np.ndarray | None:
        """The matrix stored under ``key`` (a fresh array), or ``None``."""
        if key in self._pending:
            return self._pending[key]
        entry = self._entries.get(key)
        if entry is None:
            return None
        return np.array(self._shard(entry.shard)[entry.start : entry.end])

    def read(self, keys: Iterable[str]) -> Iterator[np.ndarray]:
        """The matrices of ``keys`` in order, one at a time (memory stays bounded)."""
        for key in keys:
            matrix = self.get(key)
            if matrix is None:
                raise KeyError(f"no embeddings cached under {key}; call fill() first")
            yield matrix

    def iter_shards(self) -> Iterator[tuple[list[str], list[np.ndarray]]]:
        """Every stored sentence, one shard at a time: ``(keys, matrices)`` with the shard read in one go."""
        self.flush()
        by_shard: dict[str, list[tuple[str, _Entry]]] = {}
        for key, entry in self._entries.items():
            by_shard.setdefault(entry.shard, []).append((key, entry))
        for shard, items in sorted(by_shard.items()):
            data = np.load(self.directory / f"{shard}.npy")  # one shard in memory at a time
            items.sort(key=lambda item: item[1].start)
            yield [k for k, _ in items], [data[e.start : e.end] for _, e in items]

    def _shard(self, shard: str) -> np.ndarray:
        data = self._shards.get(shard)
        if data is None:
            data = np.load(self.directory / f"{shard}.npy", mmap_mode="r")
            self._shards[shard] = data
        return data

    # -- filling ----------------------------------------------------------------------------------------
    def fill(
        self,
        sentences: Sequence[Sequence[str]],
        embed: EmbedFn,
        model_identity: str,
        config: Any,
        chunk_sentences: int = 4096,
    ) -> list[str]:
        """Embed the sentences not cached yet, ``chunk_sentences`` per call to ``embed``, and store them.

        Returns:
            the key of every sentence, in order (pass them to :meth:`read` or :meth:`get`).
        """
        keys = [cache_key(model_identity, config, s) for s in sentences]
        todo: dict[str, list[str]] = {}
        for key, sentence in zip(keys, sentences, strict=True):
            if key not in self and key not in todo:
                todo[key] = list(sentence)
        items = list(todo.items())
        for start in range(0, len(items), chunk_sentences):
            chunk = items[start : start + chunk_sentences]
            matrices = embed([words for _, words in chunk])
            if len(matrices) != len(chunk):
                raise ValueError(f"embed returned {len(matrices)} matrices for {len(chunk)} sentences")
            for (key, words), matrix in zip(chunk, matrices, strict=True):
                if len(matrix) != len(words):
                    raise ValueError(
                        f"embed returned {len(matrix)} vectors for a sentence of {len(words)} words"
                    )
                self.put(key, matrix)
        self.flush()
        return keys

    def get_or_embed(
        self, sentences: Sequence[Sequence[str]], embed: EmbedFn, model_identity: str, config: Any
    ) -> list[np.ndarray]:
        """Every sentence's matrix, embedding (and caching) only those not cached yet."""
        return list(self.read(self.fill(sentences, embed, model_identity, config)))


def _write_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)

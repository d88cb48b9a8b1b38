"""Static word vectors (Spark NLP ``WordEmbeddings``): GloVe / word2vec files turned into an on-disk index.

An index is a folder of plain files, readable with numpy and json alone:

    meta.json     {"format_version", "dimension", "count", "source"}
    vectors.npy   float32 (count, dimension), memory-mapped on read
    words.bin     every word's UTF-8 bytes, concatenated in byte order
    offsets.npy   int64 (count + 1): word k is words.bin[offsets[k]:offsets[k + 1]]
    rows.npy      int64 (count,): the vectors.npy row of the k-th word in byte order

Nothing is loaded into the Python heap: every array is memory-mapped and a word is found by binary search
over ``words.bin``, so the operating system's page cache shares one copy of a 1M x 300 table between all the
Spark workers of a machine instead of each worker holding a dict and a matrix.
"""

from __future__ import annotations

import bisect
import json
import mmap
import os
import re
import struct
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import BinaryIO

import numpy as np

FORMAT_VERSION = 1
FORMATS = ("TEXT", "BINARY")
_FIELD_SEPARATOR = re.compile(r"[ \t]+")


class WordVectorsFormatError(ValueError):
    """A vectors file that cannot be read; the message says where (file:line or byte offset) and why."""


def build_index(
    source_path: str | os.PathLike[str],
    fmt: str,
    out_dir: str | os.PathLike[str],
    unicode_errors: str = "strict",
) -> Path:
    """Convert a GloVe / word2vec file into an index folder that :meth:`WordVectors.open` reads.

    Args:
        source_path: the vectors file.
        fmt: ``"TEXT"`` (one ``word v1 v2 ...`` line per word, GloVe or word2vec text, with or without
            word2vec's ``count dimension`` header line) or ``"BINARY"`` (word2vec's binary format).
        out_dir: the folder to write; created if needed.
        unicode_errors: how to treat words that are not valid UTF-8 (``"strict"`` raises; ``"replace"``).

    Returns:
        ``out_dir``.

    Raises:
        WordVectorsFormatError: a line with the wrong number of values, a value that is not a number, a
            truncated binary file; the message names the file and line (or byte offset).

    When a word occurs twice the later vector wins, as in Spark NLP's index.

    Example:
        >>> build_index("glove.6B.100d.txt", "TEXT", "indexes/glove_100d")
        >>> WordVectors.open("indexes/glove_100d").dimension
        100
    """
    fmt = fmt.upper()
    if fmt not in FORMATS:
        raise ValueError(f"fmt must be one of {FORMATS}; got {fmt!r}")
    source = Path(source_path)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    if fmt == "TEXT":
        words = _index_text(source, out / "vectors.npy", unicode_errors)
    else:
        words = _index_binary(source, out / "vectors.npy", unicode_errors)
    dimension = int(np.load(out / "vectors.npy", mmap_mode="r").shape[1])
    _write_vocab(words, out)
    meta = {
        "format_version": FORMAT_VERSION,
        "dimension": dimension,
        "count": len(words),
        "source": str(source),
    }
    (out / "meta.json").write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
    return out


def _index_text(source: Path, vectors_path: Path, unicode_errors: str) -> list[str]:
    """Two passes over a text file: count the vector lines, then fill a preallocated memory-mapped matrix."""
    header: tuple[int, int] | None = None
    dimension = 0
    n_rows = 0
    with source.open("rb") as f:
        for line_no, raw in enumerate(f, 1):
            fields = _split(raw, source, line_no, unicode_errors)
            if not fields:
                continue
            if n_rows == 0 and header is None and dimension == 0:
                if len(fields) == 2 and fields[0].isdigit() and fields[1].isdigit():
                    header = (int(fields[0]), int(fields[1]))
                    dimension = header[1]
                    continue
                dimension = len(fields) - 1
            n_rows += 1
    if n_rows == 0 or dimension < 1:
        raise WordVectorsFormatError(f"{source}: no word vectors found (expected lines of 'word v1 v2 ...')")
    if header is not None and header[0] != n_rows:
        raise WordVectorsFormatError(
            f"{source}:1: the header announces {header[0]} vectors but the file has {n_rows}"
        )

    matrix = np.lib.format.open_memmap(vectors_path, mode="w+", dtype=np.float32, shape=(n_rows, dimension))
    words: list[str] = []
    with source.open("rb") as f:
        for line_no, raw in enumerate(f, 1):
            fields = _split(raw, source, line_no, unicode_errors)
            if not fields or (header is not None and line_no == 1):
                continue
            word, values = _word_and_values(fields, dimension, source, line_no)
            matrix[len(words)] = values
            words.append(word)
    matrix.flush()
    del matrix
    return words


def _split(raw: bytes, source: Path, line_no: int, unicode_errors: str) -> list[str]:
    try:
        line = raw.decode("utf-8", errors=unicode_errors)
    except UnicodeDecodeError as error:
        raise WordVectorsFormatError(
            f"{source}:{line_no}: not valid UTF-8 ({error.reason} at byte {error.start}); "
            "pass unicode_errors='replace' to read it anyway"
        ) from None
    line = line.rstrip("\r\n").strip(" \t")
    return _FIELD_SEPARATOR.split(line) if line else []


def _word_and_values(fields: list[str], dimension: int, source: Path, line_no: int) -> tuple[str, np.ndarray]:
    """The word and its float32 vector from one line's fields.

    A line with more fields than ``1 + dimension`` is a word containing spaces (GloVe 840B has some) only
    when the extra leading fields are not numbers; otherwise it is an error.
    """
    n_extra = len(fields) - 1 - dimension
    if n_extra < 0 or (n_extra > 0 and any(_is_number(f) for f in fields[1 : 1 + n_extra])):
        raise WordVectorsFormatError(
            f"{source}:{line_no}: expected a word and {dimension} values, found {len(fields) - 1} values"
        )
    word = " ".join(fields[: 1 + n_extra])
    try:
        values = np.asarray(fields[1 + n_extra :], dtype=np.float32)
    except ValueError:
        bad = next(f for f in fields[1 + n_extra :] if not _is_number(f))
        column = fields.index(bad, 1 + n_extra) - n_extra
        raise WordVectorsFormatError(
            f"{source}:{line_no}: value {column} of word {word!r} is {bad!r}, not a number"
        ) from None
    return word, values


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _index_binary(source: Path, vectors_path: Path, unicode_errors: str) -> list[str]:
    """word2vec binary: ``count dimension\\n`` then per word ``word<space>`` + dimension float32 (+ ``\\n``)."""
    with source.open("rb") as f:
        header = f.readline()
        try:
            count, dimension = (int(x) for x in header.split())
        except ValueError:
            raise WordVectorsFormatError(
                f"{source}:1: expected a 'count dimension' header for the word2vec binary format, "
                f"found {header[:60]!r}; is it a text file (fmt='TEXT')?"
            ) from None
        matrix = np.lib.format.open_memmap(
            vectors_path, mode="w+", dtype=np.float32, shape=(count, dimension)
        )
        row_bytes = 4 * dimension
        words: list[str] = []
        for k in range(count):
            offset = f.tell()
            raw_word = _read_word(f, source, k, offset)
            try:
                word = raw_word.decode("utf-8", errors=unicode_errors)
            except UnicodeDecodeError as error:
                raise WordVectorsFormatError(
                    f"{source}: word {k + 1} at byte {offset} is not valid UTF-8 ({error.reason}); "
                    "pass unicode_errors='replace' to read it anyway"
                ) from None
            data = f.read(row_bytes)
            if len(data) != row_bytes:
                raise WordVectorsFormatError(
                    f"{source}: truncated at word {k + 1} of {count} ({word!r}, byte {offset}): expected "
                    f"{row_bytes} bytes of vector, found {len(data)}"
                )
            matrix[k] = np.frombuffer(data, dtype="<f4")
            words.append(word)
    matrix.flush()
    del matrix
    return words


def _read_word(f: BinaryIO, source: Path, k: int, offset: int) -> bytes:
    """Bytes up to the next space, skipping the newline some writers put after each vector."""
    chars = bytearray()
    while True:
        c = f.read(1)
        if not c:
            raise WordVectorsFormatError(
                f"{source}: ends inside word {k + 1} (byte {offset}); the file is truncated"
            )
        if c == b" ":
            return bytes(chars)
        if c != b"\n" or chars:
            chars += c


def _write_vocab(words: list[str], out: Path) -> None:
    """Sorted-words files: duplicates keep their last row, as a key-value store would."""
    last_row = {word.encode("utf-8"): row for row, word in enumerate(words)}
    keys = sorted(last_row)
    offsets = np.zeros(len(keys) + 1, dtype=np.int64)
    np.cumsum([len(k) for k in keys], out=offsets[1:])
    (out / "words.bin").write_bytes(b"".join(keys))
    np.save(out / "offsets.npy", offsets)
    np.save(out / "rows.npy", np.asarray([last_row[k] for k in keys], dtype=np.int64))


class _SortedWords(Sequence[bytes]):
    """The sorted words of an index as a sequence of bytes, read lazily from the memory-mapped files."""

    def __init__(self, words: mmap.mmap | bytes, offsets: np.ndarray) -> None:
        self._words = words
        self._offsets = offsets

    def __len__(self) -> int:
        return len(self._offsets) - 1

    def __getitem__(self, k: int) -> bytes:  # type: ignore[override]
        return self._words[int(self._offsets[k]) : int(self._offsets[k + 1])]


class WordVectors:
    """A read-only, memory-mapped word vectors index written by :func:`build_index`.

    Example:
        >>> vectors = WordVectors.open("indexes/glove_100d")
        >>> matrix, oov = vectors.lookup(["The", "qwzx"], case_sensitive=False)
        >>> matrix.shape, oov
        ((2, 100), [False, True])
    """

    def __init__(self, directory: Path, vectors: np.ndarray, words: _SortedWords, rows: np.ndarray) -> None:
        self.directory = directory
        self.vectors = vectors  # (count, dimension) float32, memory-mapped
        self._words = words
        self._rows = rows
        self._find = lru_cache(maxsize=200_000)(self._find_uncached)

    @classmethod
    def open(cls, directory: str | os.PathLike[str]) -> WordVectors:
        """Open an index folder; only its small ``meta.json`` is read now, the rest is memory-mapped."""
        path = Path(directory)
        meta_path = path / "meta.json"
        if not meta_path.is_file():
            raise FileNotFoundError(
                f"{path} is not a word vectors index (no meta.json); create one with "
                "build_index(source_path, 'TEXT' or 'BINARY', out_dir)"
            )
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        if meta.get("format_version") != FORMAT_VERSION:
            raise ValueError(
                f"{meta_path}: format_version {meta.get('format_version')} is not {FORMAT_VERSION}; "
                "rebuild the index with build_index"
            )
        vectors = np.load(path / "vectors.npy", mmap_mode="r")
        offsets = np.load(path / "offsets.npy", mmap_mode="r")
        rows = np.load(path / "rows.npy", mmap_mode="r")
        words_path = path / "words.bin"
        if words_path.stat().st_size:
            with words_path.open("rb") as f:
                data: mmap.mmap | bytes = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
        else:
            data = b""
        return cls(path, vectors, _SortedWords(data, offsets), rows)

    @property
    def dimension(self) -> int:
        return int(self.vectors.shape[1])

    def __len__(self) -> int:
        return len(self._words)

    def __contains__(self, word: str) -> bool:
        return self._find(word) >= 0

    def lookup(self, words: Sequence[str], case_sensitive: bool = False) -> tuple[np.ndarray, list[bool]]:
        """Vectors of ``words``; an unknown word gets a zero vector and ``True`` in the OOV flags.

        Matching follows Spark NLP's storage lookup: the word with surrounding spaces trimmed, exactly; when
        not ``case_sensitive``, then its lowercase form, then its uppercase form.

        Returns:
            ``(matrix, oov)``: a new ``(len(words), dimension)`` float32 array and one flag per word.
        """
        rows = np.full(len(words), -1, dtype=np.int64)
        for k, word in enumerate(words):
            rows[k] = self._row(word, case_sensitive)
        oov = rows < 0
        matrix = np.zeros((len(words), self.dimension), dtype=np.float32)
        if (~oov).any():
            found = np.flatnonzero(~oov)
            order = np.argsort(rows[found])  # read the memory map in file order
            matrix[found[order]] = self.vectors[rows[found[order]]]
        return matrix, oov.tolist()

    def _row(self, word: str, case_sensitive: bool) -> int:
        word = word.strip()
        row = self._find(word)
        if row < 0 and not case_sensitive:
            row = self._find(word.lower())
            if row < 0:
                row = self._find(word.upper())
        return row

    def _find_uncached(self, word: str) -> int:
        # "surrogatepass": a lone surrogate (a Python str may hold one) gives bytes no UTF-8 key equals: OOV
        key = word.encode("utf-8", "surrogatepass")
        k = bisect.bisect_left(self._words, key)
        if k < len(self._words) and self._words[k] == key:
            return int(self._rows[k])
        return -1


def write_word2vec_binary(path: str | os.PathLike[str], words: Sequence[str], matrix: np.ndarray) -> None:
    """Write vectors in word2vec's binary format (for tests and for exporting an index)."""
    matrix = np.asarray(matrix, dtype="<f4")
    with open(path, "wb") as f:
        f.write(f"{len(words)} {matrix.shape[1]}\n".encode())
        for word, row in zip(words, matrix, strict=True):
            f.write(word.encode("utf-8") + b" " + struct.pack(f"<{len(row)}f", *row) + b"\n")

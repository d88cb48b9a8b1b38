"""Static word vectors: text (GloVe, word2vec with header) and binary word2vec to a memory-mapped index."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from sparktag.embeddings.word_vectors import (
    WordVectors,
    WordVectorsFormatError,
    build_index,
    write_word2vec_binary,
)

WORDS = ["the", "The", "berlin", "PARIS", "köln", "lamb"]
MATRIX = np.arange(len(WORDS) * 3, dtype=np.float32).reshape(len(WORDS), 3) / 4 + 1


def write_text(path: Path, header: bool) -> Path:
    lines = [f"{len(WORDS)} 3"] if header else []
    lines += [f"{w} " + " ".join(f"{v:g}" for v in row) for w, row in zip(WORDS, MATRIX, strict=True)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.fixture(params=["glove", "word2vec_text", "word2vec_binary"])
def index(request: pytest.FixtureRequest, tmp_path: Path) -> WordVectors:
    if request.param == "word2vec_binary":
        write_word2vec_binary(tmp_path / "vectors.bin", WORDS, MATRIX)
        folder = build_index(tmp_path / "vectors.bin", "BINARY", tmp_path / "index")
    else:
        source = write_text(tmp_path / "vectors.txt", header=request.param == "word2vec_text")
        folder = build_index(source, "TEXT", tmp_path / "index")
    return WordVectors.open(folder)


def test_every_format_gives_the_same_vectors(index: WordVectors):
    assert index.dimension == 3
    assert len(index) == len(WORDS)
    matrix, oov = index.lookup(WORDS, case_sensitive=True)
    np.testing.assert_array_equal(matrix, MATRIX)
    assert oov == [False] * len(WORDS)
    assert "köln" in index and "Köln" not in index


def test_unknown_words_get_zero_vectors_and_a_flag(index: WordVectors):
    matrix, oov = index.lookup(["berlin", "qwzx", ""], case_sensitive=False)
    assert oov == [False, True, True]
    np.testing.assert_array_equal(matrix[1:], 0)
    assert matrix.dtype == np.float32 and matrix.flags.writeable


def test_case_sensitivity_follows_spark_nlp(index: WordVectors):
    row = {w: MATRIX[k] for k, w in enumerate(WORDS)}
    # Case-sensitive: exact match only.
    matrix, oov = index.lookup(["The", "Berlin", "paris"], case_sensitive=True)
    assert oov == [False, True, True]
    np.testing.assert_array_equal(matrix[0], row["The"])
    # Case-insensitive: exact first, then lowercase, then uppercase; surrounding spaces are trimmed.
    matrix, oov = index.lookup(["The", "Berlin", "paris", " the ", "KÖLN"], case_sensitive=False)
    assert oov == [False] * 5
    for got, word in zip(matrix, ["The", "berlin", "PARIS", "the", "köln"], strict=True):
        np.testing.assert_array_equal(got, row[word])


def test_vectors_are_memory_mapped(index: WordVectors):
    assert isinstance(index.vectors, np.memmap)
    assert not index.vectors.flags.writeable


def test_glove_words_with_spaces(tmp_path: Path):
    source = tmp_path / "glove.txt"
    source.write_text("a 1 2\n. . . 3 4\nat name@domain.com 5 6\n", encoding="utf-8")
    vectors = WordVectors.open(build_index(source, "TEXT", tmp_path / "index"))
    matrix, oov = vectors.lookup([". . .", "at name@domain.com"], True)
    np.testing.assert_array_equal(matrix, [[3, 4], [5, 6]])


def test_duplicate_words_keep_the_last_vector(tmp_path: Path):
    source = tmp_path / "dup.txt"
    source.write_text("a 1 2\nb 3 4\na 5 6\n", encoding="utf-8")
    vectors = WordVectors.open(build_index(source, "TEXT", tmp_path / "index"))
    np.testing.assert_array_equal(vectors.lookup(["a"], True)[0], [[5, 6]])


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("a 1 2 3\nb 1 2\n", r"vectors.txt:2: expected a word and 3 values, found 2"),
        ("a 1 2 3\n\nb 1 2 3 4\n", r"vectors.txt:3: expected a word and 3 values, found 4"),
        ("a 1 2 3\nb 1 x 3\n", r"vectors.txt:2: value 2 of word 'b' is 'x', not a number"),
        ("3 2\na 1 2\nb 3 4\n", r"vectors.txt:1: the header announces 3 vectors but the file has 2"),
        ("", r"no word vectors found"),
    ],
)
def test_bad_text_files_name_file_and_line(tmp_path: Path, content: str, message: str):
    source = tmp_path / "vectors.txt"
    source.write_text(content, encoding="utf-8")
    with pytest.raises(WordVectorsFormatError, match=message):
        build_index(source, "TEXT", tmp_path / "index")


def test_bad_binary_files_say_where(tmp_path: Path):
    source = tmp_path / "vectors.bin"
    write_word2vec_binary(source, WORDS, MATRIX)
    source.write_bytes(source.read_bytes()[:-8])
    with pytest.raises(WordVectorsFormatError, match=r"truncated at word 6 of 6 \('lamb'"):
        build_index(source, "BINARY", tmp_path / "index")
    text = write_text(tmp_path / "vectors.txt", header=False)
    with pytest.raises(WordVectorsFormatError, match="fmt='TEXT'"):
        build_index(text, "BINARY", tmp_path / "index")


def test_open_a_folder_that_is_not_an_index(tmp_path: Path):
    with pytest.raises(FileNotFoundError, match="build_index"):
        WordVectors.open(tmp_path)

"""Word-vector index folders: written once per digest, found again by every later process."""

from __future__ import annotations

import pytest

from sparktag.embeddings.index_folders import index_folder


def test_the_folder_is_written_once_and_reused(tmp_path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("SPARKTAG_CACHE", str(tmp_path))
    calls = []

    def files():
        calls.append(1)
        return {"vectors.npy": b"v", "meta.json": b"{}"}

    folder = index_folder("ab" * 32, files)
    assert folder == tmp_path / "word_vectors" / ("ab" * 16)
    assert sorted(p.name for p in folder.iterdir()) == ["meta.json", "vectors.npy"]
    assert index_folder("ab" * 32, files) == folder and calls == [1]  # found again: files() not called

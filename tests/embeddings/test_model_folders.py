"""Where local models are found by name (never downloaded)."""

from __future__ import annotations

from pathlib import Path

import pytest

from sparktag.embeddings.model_folders import resolve_pretrained


def test_resolve_pretrained_looks_in_the_models_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("SPARKTAG_MODELS", str(tmp_path))
    with pytest.raises(FileNotFoundError) as error:
        resolve_pretrained("bert_base_cased", "de")
    message = str(error.value)
    assert str(tmp_path / "bert_base_cased_de") in message
    assert str(tmp_path / "bert_base_cased") in message
    assert "BertEmbeddings.loadSavedModel(folder, spark)" in message

    (tmp_path / "bert_base_cased").mkdir()
    assert resolve_pretrained("bert_base_cased", "de") == str(tmp_path / "bert_base_cased")
    (tmp_path / "bert_base_cased_de").mkdir()  # the language-specific folder wins
    assert resolve_pretrained("bert_base_cased", "de") == str(tmp_path / "bert_base_cased_de")

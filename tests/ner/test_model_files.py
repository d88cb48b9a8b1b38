"""A trained tagger as data (config.json + safetensors): deterministic, readable without torch, and loading
to the same predictions, in this process and a fresh one."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from safetensors.numpy import load as load_numpy

from sparktag.ner.model_files import FORMAT_VERSION, from_files, load_dir, save_dir, to_files
from sparktag.ner.tagger import Tagger

from tiny_tagger import DATA, DIM, WORDS, inputs, train_tiny


@pytest.fixture(scope="module", params=[0, 4], ids=["default", "casing"])
def tagger(request: pytest.FixtureRequest) -> Tagger:
    """The tiny tagger, as Spark NLP's network and with a casing embedding (``casing_dim=4``)."""
    return train_tiny(casing_dim=request.param).tagger


def test_files_are_plain_json_and_safetensors(tagger: Tagger) -> None:
    files = to_files(tagger)
    assert set(files) == {"config.json", "weights.safetensors"}
    config = json.loads(files["config.json"])
    assert config["format_version"] == FORMAT_VERSION
    assert config["tags"] == ["O", "B-LOC", "B-PER", "I-PER"]
    assert config["model"]["embedding_dim"] == DIM and config["model"]["lstm_hidden"] == 12
    if tagger.config.casing_dim:
        assert config["model"]["casing_dim"] == 4
        assert load_numpy(files["weights.safetensors"])["casing_embedding.weight"].shape == (8, 4)
    else:  # the config.json of a sparktag before the option (which reads it), and no casing weights
        assert "casing_dim" not in config["model"]
        assert not any(name.startswith("casing") for name in load_numpy(files["weights.safetensors"]))
    assert "".join(config["chars"]) == "".join(sorted(set("".join(WORDS))))
    tensors = load_numpy(files["weights.safetensors"])  # readable without torch
    assert tensors["crf.transitions"].shape == (4, 4)
    assert to_files(tagger) == files  # deterministic bytes


def test_round_trip_gives_identical_predictions(tagger: Tagger, tmp_path: Path) -> None:
    tokens, embeddings = inputs(DATA[:6])
    original = tagger.predict(tokens, embeddings, include_confidence=True, include_all_scores=True)
    for loaded in (
        from_files(to_files(tagger)),
        load_dir(save_dir(tagger, tmp_path / "ner")),
    ):
        again = loaded.predict(tokens, embeddings, include_confidence=True, include_all_scores=True)
        assert again == original
        assert loaded.tags == tagger.tags and loaded.char_vocab == tagger.char_vocab
        assert loaded.config == tagger.config


FRESH_PROCESS = """
import json, sys
import numpy as np
from sparktag.ner.model_files import load_dir
inputs = json.loads(sys.stdin.read())
tagger = load_dir(sys.argv[1])
out = tagger.predict(inputs["tokens"], [np.asarray(e, dtype=np.float32) for e in inputs["embeddings"]],
                     include_confidence=True)
print(json.dumps([[[p.tag, p.confidence] for p in s] for s in out]))
"""


def test_a_fresh_process_predicts_the_same(tagger: Tagger, tmp_path: Path) -> None:
    tokens, embeddings = inputs(DATA[:6])
    expected = tagger.predict(tokens, embeddings, include_confidence=True)
    save_dir(tagger, tmp_path)
    src = str(Path(__file__).resolve().parents[2] / "src")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([src, os.environ.get("PYTHONPATH", "")])}
    payload = json.dumps({"tokens": tokens, "embeddings": [e.tolist() for e in embeddings]})
    done = subprocess.run(
        [sys.executable, "-c", FRESH_PROCESS, str(tmp_path)],
        input=payload,
        capture_output=True,
        text=True,
        env=env,
        check=True,
        timeout=120,
    )
    assert json.loads(done.stdout) == [[[p.tag, p.confidence] for p in s] for s in expected]


def test_unknown_format_version_is_a_clear_error(tagger: Tagger) -> None:
    files = to_files(tagger)
    config = json.loads(files["config.json"])
    config["format_version"] = 99
    files["config.json"] = json.dumps(config).encode()
    with pytest.raises(ValueError, match="format_version 99, but this sparktag reads format_version 1"):
        from_files(files)
    with pytest.raises(ValueError, match=r"missing \['weights.safetensors'\]"):
        from_files({"config.json": files["config.json"]})

"""Checkpoints as data (config.json + safetensors) and the predictor API."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from safetensors.numpy import load as load_numpy

from sparktag.ner.checkpoint import (
    FORMAT_VERSION,
    Tagger,
    TokenPrediction,
    from_files,
    load_dir,
    save_dir,
    to_files,
)
from sparktag.ner.data import NerExample
from sparktag.ner.train import TrainConfig, TrainResult, train

DIM = 12
ENTITIES = {"Paris": "B-LOC", "Rome": "B-LOC", "Anna": "B-PER", "Marco": "B-PER", "Rossi": "I-PER"}
WORDS = ["Paris", "Rome", "Anna", "Marco", "Rossi", "went", "to", "from", "and", "."]
TABLE = {w: np.random.default_rng(i).standard_normal(DIM).astype(np.float32) for i, w in enumerate(WORDS)}


def sentence(words: list[str]) -> NerExample:
    return NerExample(words, np.stack([TABLE[w] for w in words]), [ENTITIES.get(w, "O") for w in words])


DATA = [
    sentence(s.split())
    for s in [
        "Anna went to Paris .",
        "Marco Rossi went to Rome .",
        "Anna and Marco went from Rome to Paris",
        "Marco went to Paris .",
        "Anna Rossi went from Paris .",
        "Rome and Paris",
    ]
    * 4
]


@pytest.fixture(scope="module")
def trained() -> TrainResult:
    config = TrainConfig(
        lr=0.02,
        po=0.0,
        max_epochs=8,
        random_seed=1,
        dropout=0.9,
        char_cnn_filters=6,
        lstm_hidden=12,
        num_threads=1,
    )
    return train(DATA, config)


def inputs(examples: list[NerExample]) -> tuple[list[list[str]], list[np.ndarray]]:
    return [e.tokens for e in examples], [e.embeddings for e in examples]


def test_files_are_plain_json_and_safetensors(trained: TrainResult) -> None:
    files = to_files(trained)
    assert set(files) == {"config.json", "weights.safetensors"}
    config = json.loads(files["config.json"])
    assert config["format_version"] == FORMAT_VERSION
    assert config["tags"] == ["O", "B-LOC", "B-PER", "I-PER"]
    assert config["model"]["embedding_dim"] == DIM and config["model"]["lstm_hidden"] == 12
    assert "".join(config["chars"]) == "".join(sorted(set("".join(WORDS))))
    tensors = load_numpy(files["weights.safetensors"])  # readable without torch
    assert tensors["crf.transitions"].shape == (4, 4)
    assert to_files(trained) == files  # deterministic bytes


def test_round_trip_gives_identical_predictions(trained: TrainResult, tmp_path: Path) -> None:
    tokens, embeddings = inputs(DATA[:6])
    original = Tagger.from_result(trained).predict(
        tokens, embeddings, include_confidence=True, include_all_scores=True
    )
    for loaded in (from_files(to_files(trained)), load_dir(save_dir(trained, tmp_path / "ner"))):
        again = loaded.predict(tokens, embeddings, include_confidence=True, include_all_scores=True)
        assert again == original
        assert loaded.tags == trained.tags and loaded.char_vocab == trained.char_vocab


FRESH_PROCESS = """
import json, sys
import numpy as np
from sparktag.ner.checkpoint import load_dir
inputs = json.loads(sys.stdin.read())
tagger = load_dir(sys.argv[1])
out = tagger.predict(inputs["tokens"], [np.asarray(e, dtype=np.float32) for e in inputs["embeddings"]],
                     include_confidence=True)
print(json.dumps([[[p.tag, p.confidence] for p in s] for s in out]))
"""


def test_a_fresh_process_predicts_the_same(trained: TrainResult, tmp_path: Path) -> None:
    tokens, embeddings = inputs(DATA[:6])
    expected = Tagger.from_result(trained).predict(tokens, embeddings, include_confidence=True)
    save_dir(trained, tmp_path)
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


def test_predict_tags_in_input_order_with_scores(trained: TrainResult) -> None:
    tagger = Tagger.from_result(trained)
    examples = [DATA[2], NerExample([], np.zeros((0, DIM), np.float32)), DATA[0]]
    tokens, embeddings = inputs(examples)
    plain = tagger.predict(tokens, embeddings, batch_size=1)
    assert [[p.tag for p in s] for s in plain] == [DATA[2].tags, [], DATA[0].tags]  # it learned the data
    assert plain[0][0] == TokenPrediction("B-PER", None, None)
    scored = tagger.predict(tokens, embeddings, include_confidence=True, include_all_scores=True)
    for predictions in scored:
        for tag, confidence, scores in predictions:
            assert confidence is not None and scores is not None
            assert 0.0 <= confidence <= 1.0 and confidence == pytest.approx(scores[tag])
            assert sum(scores.values()) == pytest.approx(1.0, abs=1e-5) and list(scores) == tagger.tags
    confident = tagger.predict(tokens, embeddings, include_confidence=True)
    assert confident[0][0].scores is None and confident[0][0].confidence == scored[0][0].confidence


def test_unknown_format_version_is_a_clear_error(trained: TrainResult) -> None:
    files = to_files(trained)
    config = json.loads(files["config.json"])
    config["format_version"] = 99
    files["config.json"] = json.dumps(config).encode()
    with pytest.raises(ValueError, match="format_version 99, but this sparktag reads format_version 1"):
        from_files(files)
    with pytest.raises(ValueError, match=r"missing \['weights.safetensors'\]"):
        from_files({"config.json": files["config.json"]})


def test_embedding_dimension_mismatch_names_both_dims(trained: TrainResult) -> None:
    tagger = Tagger.from_result(trained)
    with pytest.raises(
        ValueError,
        match=f"sentence 1: word embeddings have dimension 7 but the model was trained with dim {DIM}",
    ):
        tagger.predict([["Anna"], ["Rome"]], [TABLE["Anna"][None], np.zeros((1, 7), np.float32)])
    with pytest.raises(ValueError, match="2 token lists but 1 embedding arrays"):
        tagger.predict([["Anna"], ["Rome"]], [TABLE["Anna"][None]])

"""The ``sparktag`` command: help texts, and one real tracked training run in a subprocess."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from sparktag.cli.main import main

ENV = {**os.environ, "SPARK_LOCAL_IP": "127.0.0.1", "HF_HUB_OFFLINE": "1", "SPARK_MASTER": "local[2]"}


def sparktag(*args: str, cwd: Path | None = None, timeout: int = 900) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "sparktag.cli.main", *args],
        capture_output=True, text=True, cwd=cwd, env=ENV, timeout=timeout,
    )  # fmt: skip


def test_help_lists_every_command(capsys):
    with pytest.raises(SystemExit) as done:
        main(["--help"])
    assert done.value.code == 0
    out = capsys.readouterr().out
    for command in ("demo", "train", "predict", "ui", "upload"):
        assert command in out


def test_train_help_names_the_flags(capsys):
    with pytest.raises(SystemExit):
        main(["train", "--help"])
    out = capsys.readouterr().out
    for flag in (
        "--config",
        "--train",
        "--test",
        "--embeddings",
        "--max-epochs",
        "--model-name",
        "--tracking-uri",
    ):
        assert flag in out


def test_ui_runs_mlflow_ui_with_one_worker(capsys):
    assert main(["ui", "--backend-store-uri", "mysql://u:hunter2@db/m", "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "-m mlflow ui --backend-store-uri 'mysql://u:***@db/m'" in out and "--workers 1" in out
    assert "hunter2" not in out


def test_train_without_data_says_what_to_give(capsys):
    with pytest.raises(SystemExit, match="--train and --test"):
        main(["train"])


@pytest.mark.spark
@pytest.mark.slow
def test_train_then_predict(sample_dir, sample_bert_dir, tmp_path):
    config = {
        "train_path": str(sample_dir / "test.conll"),
        "test_path": str(sample_dir / "test.conll"),
        "embeddings": str(sample_bert_dir),
        "max_epochs": 2,
        "lr": 0.01,
        "batch_size": 16,
        "experiment_name": "cli",
        "model_name": "cli_ner",
        "output_dir": "out",
    }
    (tmp_path / "config.json").write_text(json.dumps(config))
    done = sparktag("train", "--config", "config.json", "--param", "lstmHidden=16", cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    lines = done.stdout.splitlines()
    assert sum(line.startswith("epoch ") for line in lines) == 2
    assert any(line.startswith("entity micro F1") for line in lines)
    assert (tmp_path / "mlflow.db").is_file() and (tmp_path / "out" / "scores.json").is_file()

    done = sparktag("predict", "models:/cli_ner@champion", "Maria Lopez joined Northwind Bank in Lisbon.",
                    "--json", cwd=tmp_path)  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    record = json.loads(done.stdout.strip().splitlines()[-1])
    assert record["text"].startswith("Maria") and isinstance(record["entities"], list)

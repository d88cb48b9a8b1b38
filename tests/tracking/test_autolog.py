"""MLflow autologging of NerDLApproach.fit: a real SQLite store, real Spark, a real tiny training."""

from __future__ import annotations

import json
import logging
import os
import socket
from pathlib import Path

import pytest

from sparktag.ner.events import EpochEnded, Evaluation, LabelCounts, Scores, TrainingEnded, TrainingStarted
from sparktag.tracking import autolog as autolog_module
from sparktag.tracking.autolog import MlflowListener, autolog, epoch_metrics

PNG = b"\x89PNG\r\n\x1a\n"
EPOCHS = 3


@pytest.fixture
def sqlite_uri(tmp_path, monkeypatch):
    import mlflow

    monkeypatch.chdir(tmp_path)  # MLflow puts a SQLite store's artifacts in ./mlruns
    before = mlflow.get_tracking_uri()
    uri = f"sqlite:///{tmp_path}/mlflow.db"
    mlflow.set_tracking_uri(uri)
    yield uri
    mlflow.set_tracking_uri(before)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def pipeline(bert_dir: str, logs: Path, epochs: int = EPOCHS):
    from pyspark.ml import Pipeline

    from sparktag.annotator import BertEmbeddings, NerDLApproach, SentenceDetector, Tokenizer
    from sparktag.base import DocumentAssembler

    ner = (
        NerDLApproach()
        .setInputCols(["sentence", "token", "embeddings"])
        .setMaxEpochs(epochs)
        .setLr(0.01)
        .setBatchSize(16)
        .setRandomSeed(3)
        .setVerbose(4)
        .setValidationSplit(0.2)
        .setEnableOutputLogs(True)
        .setEvaluationLogExtended(True)
        .setOutputLogsPath(str(logs))
    )
    return Pipeline(
        stages=[
            DocumentAssembler().setInputCol("text").setOutputCol("document"),
            SentenceDetector().setInputCols(["document"]).setOutputCol("sentence"),
            Tokenizer().setInputCols(["sentence"]).setOutputCol("token"),
            BertEmbeddings.loadSavedModel(bert_dir)
            .setInputCols("sentence", "token")
            .setOutputCol("embeddings"),
            ner,
        ]
    )


@pytest.fixture(scope="module")
def train_df(spark, sample_dir):
    from sparktag.training import CoNLL

    return CoNLL().readDataset(spark, str(sample_dir / "train.conll")).limit(100).cache()


@pytest.fixture(scope="module")
def tracked(train_df, sample_bert_dir, tmp_path_factory):
    """One autologged fit into a fresh SQLite store; returns (client, run, approach, model)."""
    import mlflow
    from mlflow.tracking import MlflowClient

    tmp = tmp_path_factory.mktemp("autolog")
    before, cwd = mlflow.get_tracking_uri(), os.getcwd()
    os.chdir(tmp)  # MLflow puts a SQLite store's artifacts in ./mlruns
    mlflow.set_tracking_uri(f"sqlite:///{tmp}/mlflow.db")
    try:
        autolog()
        pipe = pipeline(str(sample_bert_dir), tmp / "logs")
        assert mlflow.active_run() is None
        model = pipe.fit(train_df)
        assert mlflow.active_run() is None, "the run autologging opened must be closed"
        listener = autolog_module.last_listener()
        client = MlflowClient()
        run = client.get_run(listener.run_id)
        yield client, run, pipe.getStages()[-1], model, listener
    finally:
        autolog(disable=True)
        mlflow.set_tracking_uri(before)
        os.chdir(cwd)


pytestmark = [pytest.mark.spark, pytest.mark.slow]


def test_params_are_logged(tracked):
    _, run, approach, _, _ = tracked
    params = run.data.params
    assert (
        params["maxEpochs"] == str(EPOCHS) and params["lr"] == "0.01" and params["validationSplit"] == "0.2"
    )
    assert params["random_seed"] == "3" and "embedding_dim" in params and "graph" in params
    assert set(approach.params_dict()) <= set(params)
    assert all(len(v) <= 6000 for v in params.values())


def test_one_step_per_epoch_for_every_metric(tracked):
    client, run, _, _, _ = tracked
    per_epoch = [k for k in run.data.metrics if k not in ("best_epoch", "epochs_run", "training_loop_time_s")]
    for key in ("loss", "lr", "epoch_time_s", "validation_token_micro_f1", "validation_token_macro_precision",
                "validation_entity_micro_f1", "validation_entity_macro_recall", "validation_entity_f1_PER"):  # fmt: skip
        assert key in per_epoch, key
    for key in per_epoch:
        history = client.get_metric_history(run.info.run_id, key)
        assert sorted(m.step for m in history) == list(range(1, EPOCHS + 1)), key
    assert 1 <= run.data.metrics["best_epoch"] <= EPOCHS
    assert run.data.metrics["epochs_run"] == EPOCHS


def test_charts_and_training_log_are_artifacts(tracked, tmp_path):
    client, run, approach, _, _ = tracked
    charts = {Path(f.path).name for f in client.list_artifacts(run.info.run_id, "charts")}
    assert {"loss.png", "prec_rec_f1_validation.png", "entity_macro_micro_validation.png"} <= charts
    for name in charts:
        local = client.download_artifacts(run.info.run_id, f"charts/{name}", str(tmp_path))
        assert Path(local).read_bytes()[:8] == PNG, name
    logs = client.list_artifacts(run.info.run_id, "training_log")
    assert [Path(f.path).name for f in logs] == [Path(approach.log_path()).name]
    text = Path(client.download_artifacts(run.info.run_id, logs[0].path, str(tmp_path))).read_text()
    assert text.startswith("Name of the selected graph: ")


def test_environment_tags(tracked):
    _, run, _, _, _ = tracked
    tags = run.data.tags
    for key in ("sparktag.version", "torch.version", "pyspark.version", "python.version"):
        assert tags.get(key), key
    if autolog_module.java_version():
        assert tags["java.version"][0].isdigit()


def test_inside_the_users_run_and_disable(train_df, sample_bert_dir, tmp_path, sqlite_uri):
    import mlflow

    from sparktag.spark.ner_dl import LISTENER_FACTORIES

    autolog()
    autolog()  # registered once
    assert LISTENER_FACTORIES.count(autolog_module._factory) == 1
    try:
        with mlflow.start_run() as run:
            pipeline(str(sample_bert_dir), tmp_path / "logs", epochs=1).fit(train_df.limit(30))
            assert mlflow.active_run().info.run_id == run.info.run_id  # not closed by the listener
        assert autolog_module.last_listener().run_id == run.info.run_id
    finally:
        autolog(disable=True)
    assert autolog_module._factory not in LISTENER_FACTORIES


def test_unreachable_server_does_not_break_training(train_df, sample_bert_dir, tmp_path, caplog, monkeypatch):
    import mlflow

    monkeypatch.chdir(tmp_path)
    before = mlflow.get_tracking_uri()
    uri = f"http://bob:hunter2@127.0.0.1:{free_port()}"
    mlflow.set_tracking_uri(uri)
    try:
        autolog()
        with caplog.at_level(logging.WARNING, logger="sparktag.tracking"):
            model = pipeline(str(sample_bert_dir), tmp_path / "logs", epochs=2).fit(train_df.limit(40))
    finally:
        autolog(disable=True)
        mlflow.set_tracking_uri(before)
    assert model.stages[-1].getClasses()  # trained
    warnings = [r.getMessage() for r in caplog.records if r.name == "sparktag.tracking"]
    assert len(warnings) == 1, warnings  # once per kind
    listener = autolog_module.last_listener()
    assert "cannot connect to 127.0.0.1" in warnings[0] and listener.pending_file in warnings[0]
    assert "hunter2" not in warnings[0] and "bob:***@" in warnings[0]
    pending = json.loads(Path(listener.pending_file).read_text())
    assert Path(listener.pending_file).parent == tmp_path / "logs"
    assert sorted({m["step"] for m in pending["metrics"] if m["key"] == "loss"}) == [1, 2]
    assert pending["params"]["maxEpochs"] == "2"
    assert any(a["artifact_path"] == "charts" for a in pending["artifacts"])
    assert "hunter2" not in Path(listener.pending_file).read_text()


def test_pending_file_uploads(tmp_path, sqlite_uri):
    from mlflow.tracking import MlflowClient

    listener = MlflowListener(
        FakeApproach(), autolog_module.AutologConfig(offline_reason="test", silent=True)
    )
    listener.on_event(started())
    listener.on_event(epoch(1))
    listener.on_event(epoch(2))
    listener.on_event(TrainingEnded(epochs=2, elapsed_s=1.0))
    assert listener.run_id is None and listener.pending_file
    run_id = autolog_module.upload_pending(listener.pending_file, sqlite_uri, "uploaded")
    client = MlflowClient()
    run = client.get_run(run_id)
    assert [m.step for m in client.get_metric_history(run_id, "validation_entity_micro_f1")] == [1, 2]
    assert run.data.params["lr"] == "0.1"
    assert {Path(a.path).name for a in client.list_artifacts(run_id, "charts")} >= {"loss.png"}


class FakeApproach:
    uid = "NerDLApproach_fake"

    def __init__(self, log_dir: str = "") -> None:
        self.log_dir = log_dir

    def params_dict(self):
        return {"lr": 0.1, "connection": "mysql+pymysql://root:hunter2@db/mlflow", "api_token": "hunter2"}

    def log_path(self):
        return None

    def getOrDefault(self, name):
        return self.log_dir


def started() -> TrainingStarted:
    return TrainingStarted(
        "blstm", 2, 0.1, 8, ["O", "B-PER"], 10, 20, params={"secret": "hunter2", "lr": 0.1}
    )


def epoch(n: int) -> EpochEnded:
    scores = Scores({"PER": LabelCounts(tp=3, fp=1, fn=n)})
    ev = Evaluation("validation", examples=5, elapsed_s=0.1, token=scores, entity=scores, fraction=0.2)
    return EpochEnded(n, 2, 0.1, 0.5, 10.0 / n, 3, validation=ev)


def test_redaction_scans_everything_logged(tmp_path, sqlite_uri):
    from mlflow.tracking import MlflowClient

    listener = MlflowListener(FakeApproach(str(tmp_path)), autolog_module.AutologConfig())
    for event in (started(), epoch(1), epoch(2), TrainingEnded(epochs=2, elapsed_s=1.0)):
        listener.on_event(event)
    client = MlflowClient()
    run = client.get_run(listener.run_id)
    assert run.data.params["connection"] == "mysql+pymysql://root:***@db/mlflow"
    assert run.data.params["api_token"] == "***" and run.data.params["secret"] == "***"
    everything = json.dumps([run.data.params, run.data.tags, list(run.data.metrics)])
    for artifact in client.list_artifacts(run.info.run_id, "charts"):
        everything += str(
            Path(client.download_artifacts(run.info.run_id, artifact.path, str(tmp_path))).read_bytes()
        )
    assert "hunter2" not in everything


def test_epoch_metrics_names():
    names = epoch_metrics(epoch(1))
    assert {"loss", "lr", "epoch_time_s", "validation_token_micro_f1", "validation_entity_macro_f1",
            "validation_entity_f1_PER", "validation_eval_time_s"} <= set(names)  # fmt: skip


def test_log_models_logs_pipeline_dataset_and_registers(train_df, sample_bert_dir, tmp_path, sqlite_uri):
    from mlflow.tracking import MlflowClient
    from pyspark.ml import Pipeline

    from sparktag.tracking import flavor

    original_fit = Pipeline.fit
    autolog(log_models=True, registered_model_name="auto_ner")
    try:
        assert Pipeline.fit is not original_fit
        pipeline(str(sample_bert_dir), tmp_path / "logs", epochs=1).fit(train_df.limit(30))
    finally:
        autolog(disable=True)
    assert Pipeline.fit is original_fit  # unpatched
    client = MlflowClient()
    run = client.get_run(autolog_module.last_listener().run_id)
    assert [d.dataset.name for d in run.inputs.dataset_inputs] == ["train"]
    (version,) = client.search_model_versions("name='auto_ner'")
    assert version.run_id == run.info.run_id
    light = flavor.load_model(f"models:/auto_ner/{version.version}", kind="light")
    assert light.fullAnnotate(["Maria Lopez joined Northwind Bank in Lisbon."])[0]["ner"]

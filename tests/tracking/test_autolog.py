"""MLflow autologging of NerDLApproach.fit: a real SQLite store, real Spark, a real tiny training."""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path

import pytest

from sparktag.ner.events import (
    EpochEnded,
    Evaluation,
    LabelCounts,
    Scores,
    TestTagged,
    TrainingEnded,
    TrainingStarted,
)
from sparktag.tracking import autolog as autolog_module
from sparktag.tracking.autolog import autolog
from sparktag.tracking.environment import java_version
from sparktag.tracking.flavor import FLAVOR_NAME
from sparktag.tracking.listener import AutologConfig, MlflowListener
from sparktag.tracking.pending import upload_pending
from sparktag.tracking.run_file import RUN_FILE
from sparktag.tracking.run_metrics import epoch_metrics

from error_pages import assert_real_confidences, download, expected_counts, gold_and_predicted, shown_counts
from pipelines import autolog_pipeline, bert, text_stages
from processes import free_port, wait_for

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


@pytest.fixture(scope="module")
def train_df(spark, sample_dir):
    from sparktag.training import CoNLL

    return CoNLL().readDataset(spark, str(sample_dir / "train.conll")).limit(100).cache()


@pytest.fixture(scope="module")
def embedded_test_set(spark, sample_dir, sample_bert_dir, tmp_path_factory) -> str:
    """The sample's test set through the text stages and BERT, as parquet: a testDataset."""
    from pyspark.ml import Pipeline

    from sparktag.training import CoNLL

    path = str(tmp_path_factory.mktemp("test_set") / "test.parquet")
    test = CoNLL().readDataset(spark, str(sample_dir / "test.conll"))
    Pipeline(stages=[*text_stages(), bert(sample_bert_dir)]).fit(test).transform(test).write.parquet(path)
    return path


@pytest.fixture(scope="module")
def tracked(train_df, sample_bert_dir, embedded_test_set, tmp_path_factory):
    """One autologged fit (with a testDataset) into a fresh SQLite store; returns (client, run, approach, model,
    listener)."""
    import mlflow
    from mlflow.tracking import MlflowClient

    tmp = tmp_path_factory.mktemp("autolog")
    before, cwd = mlflow.get_tracking_uri(), os.getcwd()
    os.chdir(tmp)  # MLflow puts a SQLite store's artifacts in ./mlruns
    mlflow.set_tracking_uri(f"sqlite:///{tmp}/mlflow.db")
    try:
        autolog(extra_tags={"team": "ner", "dataset": "sample"})  # log_models is on by default
        pipe = autolog_pipeline(str(sample_bert_dir), tmp / "logs", epochs=EPOCHS)
        pipe.getStages()[-1].setTestDataset(embedded_test_set)
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


def test_error_analysis_of_the_test_dataset(tracked, spark, embedded_test_set, tmp_path):
    """With a testDataset, error_analysis.html and tagged_test_sentences.json of the fitted model (its tags of
    the test set, each with its CRF marginal) at the root of the run."""
    from sparktag.tracking.error_analysis import read_tagged_sentences

    client, run, approach, model, _ = tracked
    run_id = run.info.run_id
    assert {"error_analysis.html", "tagged_test_sentences.json"} <= {
        a.path for a in client.list_artifacts(run_id)
    }
    page = download(client, run_id, "error_analysis.html", tmp_path).read_text(encoding="utf-8")
    sentences = read_tagged_sentences(download(client, run_id, "tagged_test_sentences.json", tmp_path))
    ner = model.stages[-1].copy().setIncludeConfidence(True)
    gold, pred, confidence = gold_and_predicted(
        ner.transform(spark.read.parquet(embedded_test_set)).select("token", "label", "ner").collect()
    )
    # the trainer's sentences are the sentence detector's (a test row may hold two): compare token by token
    assert [t for s in sentences for t in s.gold] == [t for tags in gold for t in tags]
    assert [t for s in sentences for t in s.pred] == [t for tags in pred for t in tags]
    assert [c for s in sentences for c in s.confidence] == pytest.approx(
        [c for cs in confidence for c in cs], abs=1e-3
    )
    assert shown_counts(page) == expected_counts([s.gold for s in sentences], [s.pred for s in sentences])
    assert f"{approach.uid} (run {run_id}) on its testDataset" in page
    assert_real_confidences(sentences, page)


def test_environment_tags(tracked):
    _, run, _, _, _ = tracked
    tags = run.data.tags
    for key in ("sparktag.version", "torch.version", "pyspark.version", "python.version"):
        assert tags.get(key), key
    if java_version():
        assert tags["java.version"][0].isdigit()


def test_extra_tags_land_on_the_run_autolog_opens(tracked):
    _, run, _, _, _ = tracked
    tags = run.data.tags
    assert tags["team"] == "ner" and tags["dataset"] == "sample"
    assert tags["mlflow.autologging"] == "sparktag"  # as on the runs MLflow's own integrations open


def test_log_models_default_logs_a_loadable_model(tracked, train_df):
    """autolog() with its defaults logs the fitted pipeline; loaded back, it tags as the fitted one does."""
    import mlflow

    from sparktag.light import LightPipeline
    from sparktag.tracking import flavor

    client, run, _, model, _ = tracked
    (logged,) = client.search_logged_models([run.info.experiment_id])
    assert logged.source_run_id == run.info.run_id and logged.name == "model"
    info = mlflow.models.get_model_info(f"models:/{logged.model_id}")
    assert info.signature is not None  # log_model_signatures=True
    assert info.saved_input_example_info is None  # log_input_examples=False
    assert [d.dataset.name for d in run.inputs.dataset_inputs] == ["train"]
    texts = [r.text for r in train_df.select("text").limit(5).collect()]
    loaded = flavor.load_model(f"models:/{logged.model_id}", kind="light")
    assert [r["ner"] for r in loaded.annotate(texts)] == [
        r["ner"] for r in LightPipeline(model).annotate(texts)
    ]
    assert any(tag != "O" for r in loaded.annotate(texts) for tag in r["ner"])  # it learned some entities


def test_inside_the_users_run_and_disable(train_df, sample_bert_dir, tmp_path, sqlite_uri):
    """Autologging logs into the run the user started; log_models=False logs no model, and the training
    DataFrame is its dataset input all the same (log_datasets does not depend on log_models, as in MLflow)."""
    import mlflow
    from mlflow.tracking import MlflowClient
    from mlflow.utils.autologging_utils import autologging_is_disabled

    from sparktag.spark.ner_dl import LISTENER_FACTORIES, NerDLApproach

    autolog(disable=True)  # whatever an earlier test left on (the module's `tracked` fit)
    unpatched = NerDLApproach.__dict__["_fit"]
    autolog(log_models=False)
    autolog(log_models=False)  # registered once
    assert LISTENER_FACTORIES.count(autolog_module._factory) == 1 and not autologging_is_disabled("sparktag")
    try:
        with mlflow.start_run() as run:
            autolog_pipeline(str(sample_bert_dir), tmp_path / "logs", epochs=1).fit(train_df.limit(30))
            assert mlflow.active_run().info.run_id == run.info.run_id  # not closed by the listener
        assert autolog_module.last_listener().run_id == run.info.run_id
    finally:
        autolog(disable=True)
    client = MlflowClient()
    assert [d.dataset.name for d in client.get_run(run.info.run_id).inputs.dataset_inputs] == ["train"]
    assert client.search_logged_models([run.info.experiment_id]) == []  # log_models=False
    assert autologging_is_disabled("sparktag") and autolog_module._factory not in LISTENER_FACTORIES
    assert NerDLApproach.__dict__["_fit"] is unpatched  # MLflow's revert_patches undid the patch


def all_runs(client) -> list:
    """Every run of every experiment in the store."""
    return client.search_runs([e.experiment_id for e in client.search_experiments()])


def test_mlflow_autolog_disable_turns_sparktag_off(train_df, sample_bert_dir, tmp_path, sqlite_uri):
    """mlflow.autolog() reaches only the integrations MLflow lists; sparktag reads the settings it keeps."""
    import mlflow
    from mlflow.tracking import MlflowClient

    import sparktag.mlflow

    sparktag.mlflow.autolog()
    try:
        mlflow.autolog(disable=True)
        model = autolog_pipeline(str(sample_bert_dir), tmp_path / "logs", epochs=1).fit(train_df.limit(20))
        assert model.stages[-1].getClasses()  # trained, untracked
        assert all_runs(MlflowClient()) == []
        sparktag.mlflow.autolog()  # called after mlflow.autolog: sparktag's own setting wins again
        autolog_pipeline(str(sample_bert_dir), tmp_path / "logs", epochs=1).fit(train_df.limit(20))
        assert len(all_runs(MlflowClient())) == 1
    finally:
        sparktag.mlflow.autolog(disable=True)


def test_exclusive_logs_nothing_into_the_users_run(train_df, sample_bert_dir, tmp_path, sqlite_uri):
    import mlflow
    from mlflow.tracking import MlflowClient

    autolog(exclusive=True)
    try:
        with mlflow.start_run() as run:
            autolog_pipeline(str(sample_bert_dir), tmp_path / "logs", epochs=1).fit(train_df.limit(20))
    finally:
        autolog(disable=True)
    client = MlflowClient()
    (only,) = all_runs(client)  # no run of autologging's own either
    assert only.info.run_id == run.info.run_id
    assert only.data.params == {} and only.data.metrics == {}
    assert client.search_logged_models([run.info.experiment_id]) == []


def test_silent_prints_nothing_when_the_store_is_unreachable(
    train_df, sample_bert_dir, tmp_path, caplog, capfd, recwarn, monkeypatch
):
    """The same outage as test_unreachable_server_does_not_break_training (which gets a warning), silent."""
    import mlflow

    monkeypatch.chdir(tmp_path)
    before = mlflow.get_tracking_uri()
    mlflow.set_tracking_uri(f"http://127.0.0.1:{free_port()}")
    try:
        autolog(silent=True)
        with caplog.at_level(logging.DEBUG):
            model = autolog_pipeline(str(sample_bert_dir), tmp_path / "logs", epochs=1).fit(
                train_df.limit(20)
            )
    finally:
        autolog(disable=True)
        mlflow.set_tracking_uri(before)
    assert model.stages[-1].getClasses()
    listener = autolog_module.last_listener()
    assert listener.offline and "connect" in listener.errors and listener.pending_file  # the outage happened
    noisy = [
        r
        for r in caplog.records
        if r.levelno >= logging.WARNING and r.name.startswith(("sparktag", "mlflow"))
    ]
    assert noisy == [], [r.getMessage() for r in noisy]
    # warnings raised from sparktag's or MLflow's code (as MLflow's `silent`; pyspark 3.5's own distutils
    # deprecation warnings, raised from pyspark's code, are not autologging's to silence)
    ours = [w for w in recwarn if {"sparktag", "mlflow"} & set(Path(w.filename).parts)]
    assert [f"{w.filename}: {w.message}" for w in ours] == []
    out, err = capfd.readouterr()
    for text in (out, err):
        assert "sparktag" not in text.lower() and "mlflow" not in text.lower(), text[-2000:]


def test_beside_pyspark_ml_autolog_one_run_one_model(train_df, sample_bert_dir, tmp_path, sqlite_uri):
    """mlflow.pyspark.ml.autolog() opens the run and logs the Spark params and the dataset; sparktag adds the
    trainer's params, the per-epoch metrics and the model: one run, one model, no value logged twice."""
    import mlflow.pyspark.ml
    from mlflow.tracking import MlflowClient

    mlflow.pyspark.ml.autolog(log_post_training_metrics=False)
    autolog(log_charts=False)
    try:
        pipe = autolog_pipeline(str(sample_bert_dir), tmp_path / "logs", epochs=2)
        pipe.fit(train_df.limit(30))
    finally:
        autolog(disable=True)
        mlflow.pyspark.ml.autolog(disable=True)
    client = MlflowClient()
    (run,) = all_runs(client)
    assert run.info.status == "FINISHED" and run.data.tags["mlflow.autologging"] == "pyspark.ml"
    assert autolog_module.last_listener().run_id == run.info.run_id
    params = run.data.params
    approach = pipe.getStages()[-1]
    assert params["NerDLApproach.maxEpochs"] == "2"  # pyspark.ml's name for the approach's Spark params
    assert not set(approach.params_dict()) & set(params)  # ... which sparktag does not log again
    assert {"graph", "labels", "training_examples", "embedding_dim"} <= set(params)  # the trainer's
    assert [m.step for m in client.get_metric_history(run.info.run_id, "loss")] == [1, 2]
    assert len(run.inputs.dataset_inputs) == 1  # pyspark.ml's; sparktag logs no second one
    (logged,) = client.search_logged_models([run.info.experiment_id])  # pyspark.ml skips the sparktag model
    assert logged.source_run_id == run.info.run_id
    flavors = mlflow.models.get_model_info(f"models:/{logged.model_id}").flavors
    assert FLAVOR_NAME in flavors and "spark" not in flavors


def test_disable_for_unsupported_versions(
    train_df, sample_bert_dir, tmp_path, sqlite_uri, caplog, monkeypatch
):
    from mlflow.tracking import MlflowClient
    from mlflow.utils.autologging_utils import autologging_is_disabled

    from sparktag.spark.ner_dl import LISTENER_FACTORIES

    assert autolog_module.unsupported_versions() == {}  # what runs here is what is declared
    monkeypatch.setattr(autolog_module, "SUPPORTED_VERSIONS", {"pyspark": ("99.0", "99.1")})
    try:
        with caplog.at_level(logging.WARNING, logger="sparktag.tracking"):
            autolog(disable_for_unsupported_versions=True)
        assert autolog_module._factory not in LISTENER_FACTORIES  # off: no fit gets a listener
        assert "pyspark" in caplog.text and "99.0..99.1" in caplog.text
        autolog_pipeline(str(sample_bert_dir), tmp_path / "logs", epochs=1).fit(train_df.limit(20))
        assert all_runs(MlflowClient()) == []
        caplog.clear()
        with caplog.at_level(logging.WARNING, logger="sparktag.tracking"):
            autolog()  # without it: a warning, and autologging on
        assert autolog_module._factory in LISTENER_FACTORIES and not autologging_is_disabled("sparktag")
        assert "is tested with pyspark 99.0..99.1" in caplog.text
    finally:
        autolog(disable=True)


def test_unreachable_server_does_not_break_training(train_df, sample_bert_dir, tmp_path, caplog, monkeypatch):
    import mlflow

    monkeypatch.chdir(tmp_path)
    before = mlflow.get_tracking_uri()
    uri = f"http://bob:hunter2@127.0.0.1:{free_port()}"
    mlflow.set_tracking_uri(uri)
    try:
        autolog()
        with caplog.at_level(logging.WARNING, logger="sparktag.tracking"):
            model = autolog_pipeline(str(sample_bert_dir), tmp_path / "logs", epochs=2).fit(
                train_df.limit(40)
            )
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

    listener = MlflowListener(FakeApproach(), AutologConfig(offline_reason="test", silent=True))
    listener.on_event(started())
    listener.on_event(epoch(1))
    listener.on_event(epoch(2))
    listener.on_event(TestTagged([["Ann", "Lee"]], [["B-PER", "I-PER"]], [["B-PER", "O"]], [[0.9, 0.6]]))
    listener.on_event(TrainingEnded(epochs=2, elapsed_s=1.0))
    assert listener.run_id is None and listener.pending_file
    run_id = upload_pending(listener.pending_file, sqlite_uri, "uploaded")
    client = MlflowClient()
    run = client.get_run(run_id)
    assert [m.step for m in client.get_metric_history(run_id, "validation_entity_micro_f1")] == [1, 2]
    assert run.data.params["lr"] == "0.1"
    assert {Path(a.path).name for a in client.list_artifacts(run_id, "charts")} >= {"loss.png"}
    assert {"error_analysis.html", "tagged_test_sentences.json"} <= {
        a.path for a in client.list_artifacts(run_id)
    }


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

    listener = MlflowListener(FakeApproach(str(tmp_path)), AutologConfig())
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


def test_log_models_registers_the_pipeline_without_a_dataset(train_df, sample_bert_dir, tmp_path, sqlite_uri):
    """log_models with registered_model_name, input examples, no signature; log_datasets=False: no input."""
    import mlflow
    from mlflow.tracking import MlflowClient
    from pyspark.ml import Pipeline

    from sparktag.tracking import flavor

    autolog(disable=True)  # whatever an earlier test left on (the module's `tracked` fit)
    original_fit = Pipeline.__dict__["_fit"]
    autolog(
        registered_model_name="auto_ner",
        log_input_examples=True,
        log_model_signatures=False,
        log_datasets=False,
        log_charts=False,
    )
    try:
        assert Pipeline.__dict__["_fit"] is not original_fit
        train = train_df.limit(30)
        autolog_pipeline(str(sample_bert_dir), tmp_path / "logs", epochs=1).fit(train)
    finally:
        autolog(disable=True)
    assert Pipeline.__dict__["_fit"] is original_fit  # unpatched
    client = MlflowClient()
    run = client.get_run(autolog_module.last_listener().run_id)
    assert run.inputs.dataset_inputs == []  # log_datasets=False
    assert not client.list_artifacts(run.info.run_id, "charts")  # log_charts=False
    (version,) = client.search_model_versions("name='auto_ner'")
    assert version.run_id == run.info.run_id
    local = mlflow.artifacts.download_artifacts(f"models:/auto_ner/{version.version}", dst_path=str(tmp_path))
    logged = mlflow.models.Model.load(local)
    assert logged.signature is None  # log_model_signatures=False
    example = logged.load_input_example(local)  # log_input_examples=True: texts of the training DataFrame
    assert list(example["text"]) == [r.text for r in train.select("text").limit(5).collect()]
    light = flavor.load_model(f"models:/auto_ner/{version.version}", kind="light")
    assert light.fullAnnotate(["Maria Lopez joined Northwind Bank in Lisbon."])[0]["ner"]


# ---------------------------------------------------------------------------------------------------------
# Killed and resumed: the resumed training continues the killed one's run


RESUME_TIMEOUT_S = 300  # a fresh process importing torch + mlflow (+ a JVM) on two busy cores
NER_WORKER = Path(__file__).resolve().parents[1] / "ner" / "resume_worker.py"
SPARK_WORKER = Path(__file__).with_name("autolog_resume_worker.py")
FINAL_METRICS = ("best_epoch", "epochs_run", "training_loop_time_s")


def start_worker(script: Path, out: Path, *args: str):
    import subprocess
    import sys

    out.mkdir(parents=True)
    src = str(Path(__file__).resolve().parents[2] / "src")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([src, os.environ.get("PYTHONPATH", "")])}
    with open(out / "output.txt", "w") as log:
        return subprocess.Popen(
            [sys.executable, str(script), "--out", str(out), *args],
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=str(script.parent),
        )


def kill_and_finish(paused, paused_out: Path, resumed, resumed_out: Path) -> dict:
    import signal

    os.kill(paused.pid, signal.SIGKILL)
    assert paused.wait(timeout=60) == -signal.SIGKILL
    assert resumed.wait(timeout=RESUME_TIMEOUT_S) == 0, (resumed_out / "output.txt").read_text()[-3000:]
    return json.loads((resumed_out / "result.json").read_text())


def assert_one_finished_run_with_every_step_once(client, experiment_id: str, run_id: str, epochs: int):
    (run,) = client.search_runs([experiment_id])
    assert run.info.run_id == run_id and run.info.status == "FINISHED"
    per_epoch = [k for k in run.data.metrics if k not in FINAL_METRICS]
    assert {"loss", "lr", "epoch_time_s", "validation_token_micro_f1", "validation_entity_micro_f1"} <= set(
        per_epoch
    )
    for key in per_epoch:
        steps = [m.step for m in client.get_metric_history(run_id, key)]
        assert sorted(steps) == list(range(1, epochs + 1)), (key, steps)  # each epoch once, none twice
    for key in FINAL_METRICS:
        assert [m.step for m in client.get_metric_history(run_id, key)] == [0], key
    assert run.data.metrics["epochs_run"] == epochs
    assert "loss.png" in {Path(a.path).name for a in client.list_artifacts(run_id, "charts")}
    return run


def test_a_killed_training_continues_its_run(experiment_id, tmp_path):
    """The trainer with the MLflow listener, SIGKILLed in epoch 3 and resumed by a new process: one run,
    reopened and FINISHED, every per-epoch metric at steps 1..5 exactly once, values of the whole training."""
    import mlflow
    from mlflow.tracking import MlflowClient

    folder = tmp_path / "ckpt"
    args = ["--checkpoint-dir", str(folder), "--tracking-uri", mlflow.get_tracking_uri()]
    args += ["--experiment-id", experiment_id]
    first = start_worker(NER_WORKER, tmp_path / "killed", *args, "--pause-at", "3:2")
    paused = tmp_path / "killed" / "paused"
    wait_for(paused.exists, first, tmp_path / "killed" / "output.txt", RESUME_TIMEOUT_S)
    assert (folder / "epoch-0002").is_dir()
    client = MlflowClient()
    (running,) = client.search_runs([experiment_id])
    assert running.info.status == "RUNNING"
    assert [m.step for m in client.get_metric_history(running.info.run_id, "loss")] == [1, 2]
    second = start_worker(NER_WORKER, tmp_path / "resumed", *args)
    result = kill_and_finish(first, tmp_path / "killed", second, tmp_path / "resumed")

    assert result["mlflow_errors"] == {} and result["resumed_from"] == str(folder / "epoch-0002")
    assert result["run_id"] == running.info.run_id
    assert json.loads((folder / "mlflow_run.json").read_text())["run_id"] == running.info.run_id
    assert_one_finished_run_with_every_step_once(client, experiment_id, running.info.run_id, 5)
    logged = sorted((m.step, m.value) for m in client.get_metric_history(running.info.run_id, "loss"))
    assert logged == [(e["epoch"], e["loss"]) for e in result["history"]]


def test_a_killed_autologged_fit_resumes_in_the_same_run(
    experiment_id, train_df, sample_bert_dir, sample_dir, tmp_path
):
    """Through Spark: an autologged Pipeline.fit with checkpointPath, SIGKILLed mid-epoch in its own JVM and
    fitted again by a new process, ends with the model of an uninterrupted fit and one complete, FINISHED run."""
    import mlflow
    from autolog_resume_worker import EPOCHS as WORKER_EPOCHS
    from mlflow.tracking import MlflowClient

    from sparktag.annotator import NerDLModel
    from sparktag.ner.log import parse_log

    folder = tmp_path / "ckpt"
    args = [
        "--bert-dir",
        str(sample_bert_dir),
        "--sample-dir",
        str(sample_dir),
        "--checkpoint-dir",
        str(folder),
    ]
    args += ["--tracking-uri", mlflow.get_tracking_uri(), "--experiment-id", experiment_id]
    args += ["--logs-dir", str(tmp_path / "logs")]  # as a re-run of the same script: the same params
    first = start_worker(SPARK_WORKER, tmp_path / "killed", *args, "--pause-at", "3:2")
    # Meanwhile, the reference: the same fit in this process, never interrupted, no checkpoints, no MLflow.
    reference = autolog_pipeline(str(sample_bert_dir), tmp_path / "reference", epochs=WORKER_EPOCHS).fit(
        train_df
    )
    paused = tmp_path / "killed" / "paused"
    wait_for(paused.exists, first, tmp_path / "killed" / "output.txt", RESUME_TIMEOUT_S)
    assert (folder / "epoch-0002").is_dir()
    second = start_worker(SPARK_WORKER, tmp_path / "resumed", *args)
    result = kill_and_finish(first, tmp_path / "killed", second, tmp_path / "resumed")

    assert result["errors"] == {} and result["resumed_from"] == str(folder / "epoch-0002")
    assert NerDLModel.load(str(tmp_path / "resumed" / "ner"))._files == reference.stages[-1]._files
    client = MlflowClient()
    run = assert_one_finished_run_with_every_step_once(client, experiment_id, result["run_id"], WORKER_EPOCHS)
    assert (
        run.data.params["checkpointPath"] == str(folder) and run.data.params["resumeFromCheckpoint"] == "true"
    )
    assert [e["epoch"] for e in parse_log(result["log_path"])] == list(range(1, WORKER_EPOCHS + 1))


def test_a_resumed_listener_logs_the_missing_epochs_once(tmp_path, sqlite_uri):
    """Killed after epoch 2's checkpoint was written but before its metrics were logged: the resumed listener
    reopens the run, logs epoch 2 from the restored history, skips epoch 1 (logged), and finishes the run."""
    from dataclasses import replace

    from mlflow.entities import Metric
    from mlflow.tracking import MlflowClient

    # What the killed process left: a RUNNING run with epoch 1's metrics, and the run file beside the checkpoints.
    client = MlflowClient()
    killed = client.create_run("0")
    client.log_batch(killed.info.run_id, [Metric(k, v, 0, 1) for k, v in epoch_metrics(epoch(1)).items()])
    folder = tmp_path / "ckpt"
    folder.mkdir()
    (folder / RUN_FILE).write_text(json.dumps({"run_id": killed.info.run_id}))

    listener = MlflowListener(FakeApproach(), AutologConfig(log_charts=False))
    resumed_from = str(folder / "epoch-0002")
    history = [epoch(1), epoch(2)]
    listener.on_event(
        replace(
            started(), checkpoint_dir=str(folder), resumed_from=resumed_from, start_epoch=3, history=history
        )
    )
    listener.on_event(replace(epoch(3), total_epochs=3))
    listener.on_event(TrainingEnded(epochs=3, elapsed_s=1.0))
    assert listener.run_id == killed.info.run_id and listener.resumed_run and listener.errors == {}
    run = client.get_run(killed.info.run_id)
    assert run.info.status == "FINISHED"
    for key in ("loss", "validation_entity_micro_f1", "lr"):
        assert sorted(m.step for m in client.get_metric_history(run.info.run_id, key)) == [1, 2, 3], key
    assert [m["step"] for m in listener.metrics if m["key"] == "loss"] == [1, 2, 3]  # all, for a pending file

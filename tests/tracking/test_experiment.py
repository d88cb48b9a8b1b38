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

from error_pages import (
    assert_real_confidences,
    changed_entities,
    download,
    expected_counts,
    gold_and_predicted,
    shown_comparison,
    shown_counts,
)

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
                "final_tag_macro_avg_f1", "embedding_time_s", "mean_epoch_time_s"):  # fmt: skip
        assert key in metrics and key not in params, key
    # the fit's phases: data ready (embedding), then the epochs, within the fit's time
    assert 0 < metrics["embedding_time_s"] < metrics["fit_time_s"]
    assert 3 * metrics["mean_epoch_time_s"] < metrics["fit_time_s"] - metrics["embedding_time_s"]
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


def test_run_holds_the_error_analysis_of_its_predictions(experiment, spark, tmp_path):
    """error_analysis.html and tagged_test_sentences.json at the root of the run: the page counts what
    count_categories counts on the run's own predictions (inference.parquet), with the model's confidences."""
    from mlflow.tracking import MlflowClient

    from sparktag.tracking.error_analysis import read_tagged_sentences

    _, result, _ = experiment
    client = MlflowClient()
    top = {Path(a.path).name for a in client.list_artifacts(result.run_id)}
    assert {"error_analysis.html", "tagged_test_sentences.json"} <= top
    page = download(client, result.run_id, "error_analysis.html", tmp_path).read_text(encoding="utf-8")
    sentences = read_tagged_sentences(download(client, result.run_id, "tagged_test_sentences.json", tmp_path))
    rows = spark.read.parquet(str(Path(result.output_dir) / "inference.parquet")).collect()
    gold, pred, confidence = gold_and_predicted(rows)
    assert [s.gold for s in sentences] == gold and [s.pred for s in sentences] == pred
    assert [s.confidence for s in sentences] == confidence  # NerDLModel's includeConfidence metadata
    assert shown_counts(page) == expected_counts(gold, pred)
    assert f"tiny_ner (run {result.run_id}) on test.conll" in page
    assert_real_confidences(sentences, page)


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


@pytest.fixture(scope="module")
def offline(spark, sample_dir, sample_bert_dir, tmp_path_factory):
    """A 1-epoch experiment whose tracking server is unreachable, its folder then uploaded to a SQLite store:
    (result, what the folder held before the upload, the store's URI, the uploaded run's id)."""
    import mlflow

    tmp = tmp_path_factory.mktemp("offline")
    cwd = os.getcwd()
    os.chdir(tmp)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    config = ExperimentConfig(
        train_path=str(sample_dir / "test.conll"),
        test_path=str(sample_dir / "test.conll"),
        embeddings=str(sample_bert_dir),
        max_epochs=1,
        tracking_uri=f"http://admin:hunter2@127.0.0.1:{port}",
        output_dir=str(tmp / "out"),
        model_name="x",
    )
    try:
        result = run_experiment(config, spark=spark, echo=None)
        out = Path(result.output_dir)
        before = {"tracked": tracked_run(out), "pending": list(out.glob("mlflow_pending_*.json"))}
        # the documented recovery: upload the folder once a store is reachable
        uri = f"sqlite:///{tmp}/later.db"
        run_id = upload_experiment(str(out), uri, "later", model_name="x", spark=spark)
        yield result, before, uri, run_id
        assert not mlflow.is_tracking_uri_set() or mlflow.get_tracking_uri() != uri
    finally:
        os.chdir(cwd)


def test_unreachable_server_keeps_everything_local(offline):
    from mlflow.tracking import MlflowClient

    result, before, uri, run_id = offline
    port = result.settings.tracking_uri.rsplit(":", 1)[1]
    assert result.run_id is None and result.tracking_error
    assert "sparktag upload" in result.tracking_error and "hunter2" not in result.tracking_error
    assert result.destination().startswith(f"not tracked (MLflow at http://admin:***@127.0.0.1:{port} (flag)")
    out = Path(result.output_dir)
    assert (out / "model" / "pipeline").is_dir() and (out / "scores.json").is_file()
    assert len(before["pending"]) == 1 and json.loads(before["pending"][0].read_text())["metrics"]
    assert "hunter2" not in (out / "experiment_config.json").read_text()

    assert before["tracked"] is None  # never tracked: nothing to refuse
    assert tracked_run(out)["run_id"] == run_id  # a second upload would need force=True
    client = MlflowClient(uri)
    run = client.get_run(run_id)
    assert run.data.params["maxEpochs"] == "1" and "final_entity_micro_f1" in run.data.metrics
    assert [m.step for m in client.get_metric_history(run_id, "loss")] == [1]
    assert str(client.get_model_version_by_alias("x", "champion").version) == "1"
    top = {Path(a.path).name for a in client.list_artifacts(run_id)}
    assert {"error_analysis.html", "tagged_test_sentences.json"} <= top  # offline runs upload them too


def test_evaluate_compares_with_an_earlier_run(experiment, offline, sample_dir, tmp_path, capsys):
    """``sparktag evaluate MODEL TEST --compare RUN``: the 3-epoch model against the 1-epoch model's (uploaded)
    run; the page's fixed and broken entities are those of the two runs' tagged sentences."""
    from mlflow.tracking import MlflowClient

    from sparktag.cli.main import main
    from sparktag.tracking.error_analysis import read_tagged_sentences

    _, trained, _ = experiment
    _, _, uri, earlier = offline
    model, test = str(Path(trained.output_dir) / "model" / "pipeline"), str(sample_dir / "test.conll")
    code = main(["evaluate", model, test, "--tracking-uri", uri, "--experiment", "later", "--output",
                 str(tmp_path / "eval"), "--compare", earlier])  # fmt: skip
    assert code == 0, capsys.readouterr().err
    client = MlflowClient(uri)
    run = client.search_runs([client.get_experiment_by_name("later").experiment_id],
                             "tags.`sparktag.compared_with_run` = '" + earlier + "'")[0]  # fmt: skip
    page = download(client, run.info.run_id, "error_analysis.html", tmp_path).read_text(encoding="utf-8")
    now = read_tagged_sentences(download(client, run.info.run_id, "tagged_test_sentences.json", tmp_path))
    before = read_tagged_sentences(download(client, earlier, "tagged_test_sentences.json", tmp_path / "b"))
    fixed, broken = changed_entities(before, now)
    # Spark (the training run) and LightPipeline (evaluate) made the same sentences of the file
    assert shown_comparison(page) == (len(now), fixed, broken) and len(now) == len(before)
    assert fixed > 0, "3 epochs fix none of the 1-epoch model's errors"
    assert f"Compared with run {earlier}" in page
    assert shown_counts(page) == expected_counts([s.gold for s in now], [s.pred for s in now])
    assert_real_confidences(now, page)


def test_evaluate_refuses_a_run_without_tagged_sentences(offline, sample_dir, capsys):
    """The run to compare with is checked before the model is loaded (this model URI names no model)."""
    from mlflow.tracking import MlflowClient

    from sparktag.cli.main import main

    _, _, uri, _ = offline
    client = MlflowClient(uri)
    bare = client.create_run(client.get_experiment_by_name("later").experiment_id).info.run_id
    test = str(sample_dir / "test.conll")

    def evaluate(tracking_uri: str, run_id: str) -> str:
        args = ["evaluate", "runs:/0000/model", test, "--tracking-uri", tracking_uri, "--compare", run_id]
        assert main(args) == 2  # a usage error
        return capsys.readouterr().err

    err = evaluate(uri, bare)
    assert f"cannot compare with run {bare}" in err and "has no artifact tagged_test_sentences.json" in err
    assert "Evaluate that run's model with this version first" in err
    err = evaluate(uri, "f" * 32)
    assert f"cannot compare with run '{'f' * 32}': it is not a run of the tracking store" in err
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    err = evaluate(f"http://127.0.0.1:{port}", bare)  # in seconds, not after MLflow's retries
    assert f"cannot compare with run {bare}: the tracking store http://127.0.0.1:{port} is unreachable" in err


def test_config_files(tmp_path):
    (tmp_path / "c.json").write_text(json.dumps({"train_path": "a", "test_path": "b", "max_epochs": 2}))
    config = ExperimentConfig.from_file(tmp_path / "c.json", lr=0.5)
    assert (config.max_epochs, config.lr, config.train_path) == (2, 0.5, "a")
    (tmp_path / "c.toml").write_text('train_path = "a"\ntest_path = "b"\n[params]\nuseBestModel = true\n')
    assert ExperimentConfig.from_file(tmp_path / "c.toml").params == {"useBestModel": True}
    (tmp_path / "bad.json").write_text(json.dumps({"train_path": "a", "test_path": "b", "epochs": 2}))
    with pytest.raises(ValueError, match="unknown config keys \\['epochs'\\]"):
        ExperimentConfig.from_file(tmp_path / "bad.json")


def test_config_file_sets_bert_embeddings_layers(tmp_path):
    """A list value in embeddings_params (TOML or a command-line override) reaches BertEmbeddings."""
    from sparktag.tracking.training_pipeline import check_stage_params, embedding_stages

    from tiny_bert import save_tiny_bert

    save_tiny_bert(tmp_path / "bert", ["the", "cat"], layers=3)
    (tmp_path / "c.toml").write_text(
        'train_path = "a"\ntest_path = "b"\nembeddings = "bert"\n'
        'embeddings_params.layers = [-1, -2, -3, -4]\nembeddings_params.layerPooling = "concat"\n'
    )
    config = ExperimentConfig.from_file(tmp_path / "c.toml")
    assert config.embeddings_params == {"layers": [-1, -2, -3, -4], "layerPooling": "concat"}
    check_stage_params(config)
    bert = embedding_stages(config)[-1]
    assert bert.getLayers() == [-1, -2, -3, -4] and bert.getLayerPooling() == "concat"
    assert bert.getDimension() == 4 * 32
    override = config.with_overrides({"embeddings_params.layers": "[-1, -2]"})
    assert embedding_stages(override)[-1].getDimension() == 64
    with pytest.raises(ValueError, match="embeddings_params: layerPooling must be one of 'mean', 'concat'"):
        check_stage_params(config.with_overrides({"embeddings_params.layerPooling": "sum"}))
    with pytest.raises(ValueError, match=r"embeddings_params: .*index -5 is out of range .* from -4 to 3"):
        embedding_stages(config.with_overrides({"embeddings_params.layers": "[-1, -5]"}))


def test_report_metrics_names():
    out = report_metrics(
        {"B-PER": {"precision": 1.0, "f1-score": 0.5}, "accuracy": 0.9, "macro avg": {"recall": 1}}
    )
    assert out == {"final_tag_B-PER_precision": 1.0, "final_tag_B-PER_f1": 0.5, "final_tag_accuracy": 0.9,
                   "final_tag_macro_avg_recall": 1.0}  # fmt: skip

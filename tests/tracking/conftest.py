"""Fixtures of the tracking tests: one tiny trained NER pipeline, shared by every module that needs one."""

from __future__ import annotations

from pathlib import Path

import pytest

from servers import SENTENCE


@pytest.fixture(scope="session")
def tiny_pipeline_path(spark, sample_dir: Path, sample_bert_dir: Path, tmp_path_factory) -> Path:
    """The tiny NerDL pipeline (100 sentences, 8 epochs, ends in NerConverter), trained once per session."""
    from pyspark.ml import Pipeline

    from sparktag.training import CoNLL

    from pipelines import ner_stages

    path = tmp_path_factory.mktemp("tiny_ner") / "pipeline"
    train = CoNLL().readDataset(spark, str(sample_dir / "train.conll")).limit(100)
    stages = ner_stages(
        sample_bert_dir, maxEpochs=8, lr=0.01, batchSize=16, randomSeed=7, verbose=4, includeConfidence=True
    )
    Pipeline(stages=stages).fit(train).write().save(str(path))
    return path


@pytest.fixture
def experiment_id(tmp_path):
    """A fresh SQLite store in tmp_path; the experiment keeps its artifacts there too (a SQLite store would
    otherwise write them to ./mlruns of the working directory)."""
    import mlflow

    before = mlflow.get_tracking_uri()
    mlflow.set_tracking_uri(f"sqlite:///{tmp_path}/mlflow.db")
    try:
        yield mlflow.create_experiment("sparktag-tests", artifact_location=(tmp_path / "artifacts").as_uri())
    finally:
        mlflow.set_tracking_uri(before)


@pytest.fixture(scope="module")
def registered(tiny_pipeline_path, spark, sample_dir, sample_bert_dir, tmp_path_factory):
    """The tiny pipeline logged (without Spark's writer) into a SQLite store as served_ner@champion."""
    import mlflow

    from sparktag.mlflow import log_model
    from sparktag.spark.persistence import load_stage_local

    stages = load_stage_local(str(tiny_pipeline_path))
    tmp = tmp_path_factory.mktemp("serving")
    uri = f"sqlite:///{tmp}/mlflow.db"
    before = mlflow.get_tracking_uri()
    mlflow.set_tracking_uri(uri)
    try:
        experiment = mlflow.create_experiment("serving", artifact_location=(tmp / "artifacts").as_uri())
        with mlflow.start_run(experiment_id=experiment):
            log_model(stages, "model", registered_model_name="served_ner", alias="champion")
    finally:
        mlflow.set_tracking_uri(before)
    return uri, tmp


@pytest.fixture(scope="module")
def expected(registered) -> list[dict]:
    """What the registered model's pyfunc gives in-process for SENTENCE."""
    import mlflow

    uri, _ = registered
    before = mlflow.get_tracking_uri()
    mlflow.set_tracking_uri(uri)
    try:
        frame = mlflow.pyfunc.load_model("models:/served_ner@champion").predict([SENTENCE])
    finally:
        mlflow.set_tracking_uri(before)
    records = frame.to_dict(orient="records")
    assert len(records) == 1 and records[0]["entities"], (
        "the tiny model finds no entity in a sentence it was trained on"
    )
    return records


@pytest.fixture
def log_file(tmp_path: Path) -> Path:
    """The NerDL log (extended) of the made-up training of :mod:`training_history`."""
    from training_history import training_events, write_log

    return write_log(tmp_path / "logs", training_events())

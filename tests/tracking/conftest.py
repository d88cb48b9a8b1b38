"""Fixtures of the tracking tests: one tiny trained NER pipeline, shared by every module that needs one."""

from __future__ import annotations

from pathlib import Path

import pytest


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

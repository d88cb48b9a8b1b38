"""Fixtures of the tracking tests: one tiny trained NER pipeline, shared by every module that needs one."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def tiny_pipeline_path(spark, sample_dir: Path, sample_bert_dir: Path, tmp_path_factory) -> Path:
    """The tiny NerDL pipeline (100 sentences, 8 epochs, ends in NerConverter), trained once per session."""
    from pyspark.ml import Pipeline

    from sparktag.annotator import BertEmbeddings, NerConverter, NerDLApproach, SentenceDetector, Tokenizer
    from sparktag.base import DocumentAssembler
    from sparktag.training import CoNLL

    path = tmp_path_factory.mktemp("tiny_ner") / "pipeline"
    train = CoNLL().readDataset(spark, str(sample_dir / "train.conll")).limit(100)
    stages = [
        DocumentAssembler().setInputCol("text").setOutputCol("document"),
        SentenceDetector().setInputCols(["document"]).setOutputCol("sentence"),
        Tokenizer().setInputCols(["sentence"]).setOutputCol("token"),
        BertEmbeddings.loadSavedModel(str(sample_bert_dir))
        .setInputCols("sentence", "token")
        .setOutputCol("embeddings"),
        NerDLApproach()
        .setInputCols(["sentence", "token", "embeddings"])
        .setLabelColumn("label")
        .setOutputCol("ner")
        .setMaxEpochs(8)
        .setLr(0.01)
        .setBatchSize(16)
        .setRandomSeed(7)
        .setVerbose(4)
        .setIncludeConfidence(True),
        NerConverter().setInputCols(["sentence", "token", "ner"]).setOutputCol("ner_chunk"),
    ]
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


@pytest.fixture
def log_file(tmp_path: Path) -> Path:
    """The NerDL log (extended) of the made-up training of :mod:`training_history`."""
    from training_history import training_events, write_log

    return write_log(tmp_path / "logs", training_events())

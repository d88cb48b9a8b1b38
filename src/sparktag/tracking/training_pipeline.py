"""The five-stage training pipeline of Spark NLP's MLflow guide, configured from an :class:`ExperimentConfig`.

DocumentAssembler -> SentenceDetector -> Tokenizer -> BertEmbeddings -> NerDLApproach, the approach writing
Spark NLP's extended training log; what :func:`~sparktag.tracking.experiment.run_experiment` fits.
"""

from __future__ import annotations

import os
from typing import Any

from sparktag.tracking.experiment_config import ExperimentConfig


def _embeddings_stage(name_or_folder: str) -> Any:
    from sparktag.annotator import BertEmbeddings

    if os.path.isdir(name_or_folder):
        stage = BertEmbeddings.loadSavedModel(name_or_folder)
    else:
        stage = BertEmbeddings.pretrained(name_or_folder)
    return stage.setInputCols("sentence", "token").setOutputCol("embeddings")


def build_pipeline(config: ExperimentConfig, logs_dir: str) -> Any:
    """The five-stage training pipeline of the guide, NerDLApproach configured from ``config``."""
    from pyspark.ml import Pipeline

    from sparktag.annotator import NerDLApproach, SentenceDetector, Tokenizer
    from sparktag.base import DocumentAssembler

    ner = (
        NerDLApproach()
        .setInputCols(["sentence", "token", "embeddings"])
        .setLabelColumn("label")
        .setOutputCol("ner")
        .setMaxEpochs(config.max_epochs)
        .setLr(config.lr)
        .setBatchSize(config.batch_size)
        .setDropout(config.dropout)
        .setRandomSeed(config.random_seed)
        .setValidationSplit(config.validation_split)
        .setVerbose(4)
        .setEnableOutputLogs(True)
        .setEvaluationLogExtended(True)
        .setIncludeConfidence(True)
        .setOutputLogsPath(logs_dir)
    )
    try:
        ner.setParams(**config.params)
    except TypeError as err:  # an unknown name: a mistake in the config file
        raise ValueError(f"params: {err}") from None
    return Pipeline(
        stages=[
            DocumentAssembler().setInputCol("text").setOutputCol("document"),
            SentenceDetector().setInputCols(["document"]).setOutputCol("sentence"),
            Tokenizer().setInputCols(["sentence"]).setOutputCol("token"),
            _embeddings_stage(config.embeddings),
            ner,
        ]
    )

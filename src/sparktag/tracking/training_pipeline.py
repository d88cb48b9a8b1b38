"""The five-stage training pipeline of Spark NLP's MLflow guide, configured from an :class:`ExperimentConfig`.

DocumentAssembler -> SentenceDetector -> Tokenizer -> BertEmbeddings -> NerDLApproach, the approach writing
Spark NLP's extended training log; what :func:`~sparktag.tracking.experiment.run_experiment` fits.
"""

from __future__ import annotations

import os
from typing import Any

from sparktag.tracking.experiment_config import ExperimentConfig


def build_pipeline(config: ExperimentConfig, logs_dir: str) -> Any:
    """The five-stage training pipeline of the guide, NerDLApproach configured from ``config``."""
    from pyspark.ml import Pipeline

    return Pipeline(stages=[*embedding_stages(config), ner_approach(config, logs_dir)])


def embedding_stages(config: ExperimentConfig) -> list[Any]:
    """DocumentAssembler -> SentenceDetector -> Tokenizer -> BertEmbeddings (``embeddings_params`` set)."""
    from sparktag.annotator import BertEmbeddings, SentenceDetector, Tokenizer
    from sparktag.base import DocumentAssembler

    if os.path.isdir(config.embeddings):
        embeddings = BertEmbeddings.loadSavedModel(config.embeddings)
    else:
        embeddings = BertEmbeddings.pretrained(config.embeddings)
    try:
        embeddings.setParams(**config.embeddings_params)
    except (TypeError, ValueError) as err:  # an unknown name or a refused value: a mistake in the config file
        raise ValueError(f"embeddings_params: {err}") from None
    return [
        DocumentAssembler().setInputCol("text").setOutputCol("document"),
        SentenceDetector().setInputCols(["document"]).setOutputCol("sentence"),
        Tokenizer().setInputCols(["sentence"]).setOutputCol("token"),
        embeddings.setInputCols("sentence", "token").setOutputCol("embeddings"),
    ]


def ner_approach(config: ExperimentConfig, logs_dir: str) -> Any:
    """The NerDLApproach of ``config``: its fields and ``params``, Spark NLP's extended log in ``logs_dir``."""
    from sparktag.annotator import NerDLApproach

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
    return ner


def check_stage_params(config: ExperimentConfig) -> None:
    """Set ``params`` and ``embeddings_params`` on bare stages (no Spark, no model loaded): an unknown name
    or a value a param refuses raises ``ValueError`` naming it, before anything is trained."""
    from sparktag.annotator import BertEmbeddings, NerDLApproach

    for section, stage, values in (("params", NerDLApproach, config.params),
                                   ("embeddings_params", BertEmbeddings, config.embeddings_params)):  # fmt: skip
        try:
            stage().setParams(**values)
        except (TypeError, ValueError) as err:
            raise ValueError(f"{section}: {err}") from None

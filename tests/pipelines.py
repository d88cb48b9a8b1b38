"""The stages the tests build, wired with the column names every test uses: text stages, embeddings, NerDL.

Each builder takes further params as keywords (``setParams``), so a test states only what it changes.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sparktag.spark.bert_embeddings import BertEmbeddings
from sparktag.spark.document_assembler import DocumentAssembler
from sparktag.spark.ner_converter import NerConverter
from sparktag.spark.ner_dl import NerDLApproach
from sparktag.spark.sentence_detector import SentenceDetector
from sparktag.spark.tokenizer import Tokenizer
from sparktag.spark.word_embeddings import WordEmbeddings


def text_stages() -> list[Any]:
    """text -> document -> sentence -> token."""
    return [
        DocumentAssembler().setInputCol("text").setOutputCol("document"),
        SentenceDetector().setInputCols(["document"]).setOutputCol("sentence"),
        Tokenizer().setInputCols(["sentence"]).setOutputCol("token"),
    ]


def bert(folder: str | Path, **params: Any) -> BertEmbeddings:
    """sentence + token -> embeddings, from a local model folder."""
    stage = (
        BertEmbeddings.loadSavedModel(str(folder))
        .setInputCols("sentence", "token")
        .setOutputCol("embeddings")
    )
    return stage.setParams(**params)


def glove(path: str | Path, **params: Any) -> WordEmbeddings:
    """sentence + token -> embeddings, from a GloVe text file."""
    stage = WordEmbeddings().setStoragePath(str(path), "TEXT").setInputCols("sentence", "token")
    return stage.setOutputCol("embeddings").setParams(**params)


def ner(**params: Any) -> NerDLApproach:
    """sentence + token + embeddings + label -> ner."""
    approach = NerDLApproach().setInputCols(["sentence", "token", "embeddings"]).setLabelColumn("label")
    return approach.setOutputCol("ner").setParams(**params)


def chunks() -> NerConverter:
    """sentence + token + ner -> ner_chunk."""
    return NerConverter().setInputCols(["sentence", "token", "ner"]).setOutputCol("ner_chunk")


def ner_stages(bert_folder: str | Path, **ner_params: Any) -> list[Any]:
    """The five stages of the NER workflow plus the converter: text to ``ner`` and ``ner_chunk``."""
    return [*text_stages(), bert(bert_folder), ner(**ner_params), chunks()]


def autolog_pipeline(bert_dir: str | Path, logs: Path, epochs: int) -> Any:
    """The autologging tests' fit (and their kill-and-resume worker's): text stages, BERT, NerDL with a
    validation split and the extended training log in ``logs``."""
    from pyspark.ml import Pipeline

    approach = ner(
        maxEpochs=epochs,
        lr=0.01,
        batchSize=16,
        randomSeed=3,
        verbose=4,
        validationSplit=0.2,
        enableOutputLogs=True,
        evaluationLogExtended=True,
        outputLogsPath=str(logs),
    )
    return Pipeline(stages=[*text_stages(), bert(bert_dir), approach])


def gold_and_pred(
    df: Any, label_col: str = "label", ner_col: str = "ner"
) -> tuple[list[list[str]], list[list[str]]]:
    """Gold tags matched to the pipeline's tokens by span (as training does), and the predicted tags."""
    from sparktag.annotation import from_rows
    from sparktag.core.labels import align_labels

    gold, pred = [], []
    for row in df.select(label_col, "token", ner_col).collect():
        tokens = from_rows(row["token"])
        tags = {a.begin: a.result for a in from_rows(row[ner_col])}
        gold.append(align_labels(tokens, from_rows(row[label_col])))
        pred.append([tags.get(t.begin, "O") for t in tokens])
    return gold, pred

"""Driver job: NerDLApproach on the cluster's 2 workers (setNumWorkers(2)) against training on the driver.

python distributed.py SHARED_DIR SAMPLE_DIR BERT_DIR LOG_DIR ANSWER_JSON

Everything the executors read or write (the featurised data under the checkpoint dir, the training
checkpoints, the test set) is under SHARED_DIR; the training logs go to LOG_DIR, a folder of the driver's
that the executors cannot read. One job does every step (~30 s of Spark start-up per job).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import sparktag

EPOCHS = 20


def main() -> None:
    shared, sample, bert, logs, answer = (Path(p) for p in sys.argv[1:6])
    from pyspark.ml import Pipeline

    from sparktag.annotation import from_rows
    from sparktag.annotator import BertEmbeddings, NerDLApproach, SentenceDetector, Tokenizer
    from sparktag.base import DocumentAssembler
    from sparktag.core.labels import align_labels
    from sparktag.ner.metrics import entity_scores
    from sparktag.spark import ner_dl
    from sparktag.training import CoNLL

    spark = sparktag.start()
    sc = spark.sparkContext
    sc.setLogLevel("ERROR")
    out: dict = {"master": sc.master}

    events: list = []

    class Recorder:
        def __init__(self, into: list) -> None:
            self.into = into

        def on_event(self, event: object) -> None:
            self.into.append(event)

    stages = [
        DocumentAssembler().setInputCol("text").setOutputCol("document"),
        SentenceDetector().setInputCols(["document"]).setOutputCol("sentence"),
        Tokenizer().setInputCols(["sentence"]).setOutputCol("token"),
        BertEmbeddings.loadSavedModel(str(bert)).setInputCols("sentence", "token").setOutputCol("embeddings"),
    ]
    # the executors read the CoNLL files and embed (both on the shared storage)
    train = CoNLL().readDataset(spark, str(sample / "train.conll"))
    pre = Pipeline(stages=stages).fit(train)
    train_emb = pre.transform(train).repartition(3).cache()
    train_emb.count()
    test_path = str(shared / "test.parquet")
    pre.transform(CoNLL().readDataset(spark, str(sample / "test.conll"))).write.parquet(test_path)

    def approach(**params: object) -> NerDLApproach:
        ner = (
            NerDLApproach()
            .setInputCols(["sentence", "token", "embeddings"])
            .setLabelColumn("label")
            .setOutputCol("ner")
            .setMaxEpochs(EPOCHS)
            .setLr(0.005)  # the tiny model's F1 is stable to float rounding (tests/spark/test_distributed.py)
            .setPo(0.05)
            .setRandomSeed(7)
            .setVerbose(4)
            .setTestDataset(test_path)
            .setValidationSplit(0.1)  # held out of the whole data, as on the driver, and scored on both
            .setEnableOutputLogs(True)
        )
        for name, value in params.items():
            getattr(ner, "set" + name[0].upper() + name[1:])(value)
        return ner

    def f1(model: object) -> float:
        gold, pred = [], []
        for row in model.transform(spark.read.parquet(test_path)).select("label", "token", "ner").collect():  # type: ignore[attr-defined]
            tokens = from_rows(row["token"])
            tags = {a.begin: a.result for a in from_rows(row["ner"])}
            gold.append(align_labels(tokens, from_rows(row["label"])))
            pred.append([tags.get(t.begin, "O") for t in tokens])
        return entity_scores(gold, pred).micro_f1

    # 1. without a shared folder the fit refuses, before any training
    try:
        approach(numWorkers=2, outputLogsPath=str(logs / "refused")).fit(train_emb)
        out["refused"] = None
    except ValueError as err:
        out["refused"] = str(err)

    sc.setCheckpointDir(str(shared / "spark-checkpoints"))
    # 2. single-process training on the driver, then the same on 2 workers (each step's 8 sentences split)
    from sparktag.ner.events import BatchEnded

    def first_epoch(seen: list) -> list[float]:
        return [e.loss for e in seen if isinstance(e, BatchEnded) and e.epoch == 1][:10]  # the first steps

    driver = approach(outputLogsPath=str(logs / "single"))
    on_driver: list = []
    driver_recorder = Recorder(on_driver)
    ner_dl.LISTENER_FACTORIES.append(lambda a: driver_recorder if a is driver else None)
    single = driver.fit(train_emb)
    out["f1_single"] = f1(single)
    out["first_epoch_single"] = first_epoch(on_driver)

    checkpoints = shared / "ner-checkpoints"
    two = approach(numWorkers=2, outputLogsPath=str(logs / "two"), checkpointPath=str(checkpoints))
    recorder = Recorder(events)
    ner_dl.LISTENER_FACTORIES.append(lambda a: recorder if a is two else None)
    model = two.fit(train_emb)
    out["f1_two"] = f1(model)
    out["first_epoch_two"] = first_epoch(events)
    out["history_test_f1"] = [e.test.entity.micro_f1 for e in model.training_result.history]
    out["events"] = [type(e).__name__ + (f":{e.epoch}" if hasattr(e, "epoch") else "") for e in events]
    out["log_file"] = two.log_path()
    fit = two.last_distributed_fit
    out["rows_per_rank"] = fit.rows_per_rank
    out["steps"] = fit.steps
    out["bytes_per_step"] = fit.bytes_per_step
    out["checkpoints"] = sorted(p.name for p in checkpoints.iterdir())

    # 3. resume: the same fit with more epochs continues from the last checkpoint
    events.clear()
    more = approach(
        numWorkers=2,
        maxEpochs=EPOCHS + 1,
        outputLogsPath=str(logs / "two"),
        checkpointPath=str(checkpoints),
    )
    ner_dl.LISTENER_FACTORIES.append(lambda a: recorder if a is more else None)
    resumed = more.fit(train_emb)
    first = events[0]
    out["resumed_start_epoch"] = first.start_epoch
    out["resumed_from"] = first.resumed_from
    out["resumed_events"] = [
        type(e).__name__ + (f":{e.epoch}" if hasattr(e, "epoch") else "") for e in events
    ]
    out["resumed_history"] = [e.epoch for e in resumed.training_result.history]
    out["validation_examples"] = [
        e.validation.examples if e.validation else None for e in resumed.training_result.history
    ]
    out["validation_examples_single"] = [
        e.validation.examples if e.validation else None for e in single.training_result.history
    ]
    out["featurised_left"] = sorted(p.name for p in (shared / "spark-checkpoints").rglob("sparktag-ner-*"))
    Path(answer).write_text(json.dumps(out, indent=1), encoding="utf-8")
    spark.stop()


if __name__ == "__main__":
    main()

"""Train NerDL on CoNLL-2003 with MiniLM embeddings and score it on eng.testa.

Usage: python benchmarks/bench_ner.py DATA_DIR [--epochs 10] [--batch-size 32] [--lr 0.003] [--limit N]
                                       [--out benchmarks/results]

DATA_DIR holds eng.train and eng.testa (CoNLL-2003, IOB1). Training sees eng.train only; eng.testa is the
test set scored after every epoch (Spark NLP's testDataset) and at the end. Reports strict entity-level
micro F1 (conlleval) on eng.testa, wall times (embedding, training, per epoch), inference sentences/s through
Spark and LightPipeline, and peak RSS of the driver. Writes JSON and a markdown table.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import tempfile
import time
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data_dir")
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--lr", type=float, default=0.003)
    parser.add_argument("--limit", type=int, default=0, help="use only the first N training sentences")
    parser.add_argument("--out", default="benchmarks/results")
    args = parser.parse_args()

    from pyspark.ml import PipelineModel

    import sparktag
    from sparktag.annotation import from_rows
    from sparktag.annotator import BertEmbeddings, NerDLApproach, SentenceDetector, Tokenizer
    from sparktag.base import DocumentAssembler, LightPipeline
    from sparktag.core.labels import align_labels
    from sparktag.ner.metrics import entity_scores, token_scores
    from sparktag.training import CoNLL

    spark = sparktag.start(master="local[2]")
    spark.sparkContext.setLogLevel("ERROR")
    data = Path(args.data_dir)
    started_all = time.perf_counter()
    train = CoNLL().readDataset(spark, str(data / "eng.train"))
    if args.limit:
        train = train.limit(args.limit)
    test = CoNLL().readDataset(spark, str(data / "eng.testa"))

    pre = PipelineModel(
        stages=[
            DocumentAssembler(),
            SentenceDetector(inputCols=["document"], outputCol="sentence"),
            Tokenizer(inputCols=["sentence"], outputCol="token").fit(train.limit(1)),
            BertEmbeddings.pretrained("all_minilm_l6_v2")
            .setInputCols("sentence", "token")
            .setOutputCol("embeddings"),
        ]
    )
    scratch = tempfile.mkdtemp(prefix="sparktag-bench-")
    started = time.perf_counter()
    pre.transform(train).write.mode("overwrite").parquet(os.path.join(scratch, "train"))
    pre.transform(test).write.mode("overwrite").parquet(os.path.join(scratch, "testa"))
    embed_s = time.perf_counter() - started
    train_emb = spark.read.parquet(os.path.join(scratch, "train"))
    n_train = train_emb.count()

    ner = (
        NerDLApproach()
        .setInputCols(["sentence", "token", "embeddings"])
        .setLabelColumn("label")
        .setOutputCol("ner")
        .setMaxEpochs(args.epochs)
        .setLr(args.lr)
        .setBatchSize(args.batch_size)
        .setRandomSeed(0)
        .setVerbose(2)
        .setTestDataset(os.path.join(scratch, "testa"))
        .setEnableOutputLogs(True)
        .setOutputLogsPath(os.path.join(scratch, "logs"))
    )
    started = time.perf_counter()
    ner_model = ner.fit(train_emb)
    train_s = time.perf_counter() - started
    history = ner_model.training_result.history
    model = PipelineModel(stages=[*pre.stages, ner_model])

    # Inference: raw text -> tags, through Spark (warm workers) and through LightPipeline.
    texts = [r["text"] for r in test.select("text").collect()]
    model.transform(test.limit(64)).write.format("noop").mode("overwrite").save()
    started = time.perf_counter()
    predictions = model.transform(test).select("token", "label", "ner").collect()
    spark_s = time.perf_counter() - started
    light = LightPipeline(model)
    light.annotate(texts[:64])
    started = time.perf_counter()
    light.fullAnnotate(texts)
    light_s = time.perf_counter() - started

    gold, pred = [], []
    for row in predictions:
        tokens = from_rows(row["token"])
        tags = {a.begin: a.result for a in from_rows(row["ner"])}
        gold.append(align_labels(tokens, from_rows(row["label"])))
        pred.append([tags.get(t.begin, "O") for t in tokens])
    entity = entity_scores(gold, pred)
    token = token_scores(gold, pred)
    result = {
        "train_sentences": n_train,
        "test_sentences": len(texts),
        "epochs": args.epochs,
        "batch_size": args.batch_size,
        "lr": args.lr,
        "testa_entity_micro_f1": round(entity.micro_f1, 4),
        "testa_entity_per_type_f1": {k: round(v.f1, 4) for k, v in entity.per_label.items()},
        "testa_token_micro_f1": round(token.micro_f1, 4),
        "best_epoch_entity_f1_by_epoch": [round(e.test.entity.micro_f1, 4) for e in history if e.test],
        "embedding_s": round(embed_s, 1),
        "training_s": round(train_s, 1),
        "epoch_s": [round(e.elapsed_s, 1) for e in history],
        "total_s": round(time.perf_counter() - started_all, 1),
        "spark_inference_per_s": round(len(texts) / spark_s, 1),
        "light_inference_per_s": round(len(texts) / light_s, 1),
        "driver_peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores",
    }
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "ner_conll2003.json").write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    rows = "\n".join(f"| {k} | {v} |" for k, v in result.items())
    (out / "ner_conll2003.md").write_text(f"| measure | value |\n|---|---|\n{rows}\n", encoding="utf-8")
    print(json.dumps(result, indent=2))
    spark.stop()


if __name__ == "__main__":
    main()

"""``sparktag demo``: the README's main job on the bundled sample data."""

from __future__ import annotations

import argparse
import time
from pathlib import Path

SAMPLE = Path(__file__).resolve().parents[1] / "data" / "sample"


def add_parser(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--output", default="sparktag_output", help="folder for the saved pipeline")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from pyspark.ml import Pipeline

    import sparktag
    from sparktag.annotator import SentenceDetector, Tokenizer
    from sparktag.base import DocumentAssembler, LightPipeline
    from sparktag.training import CoNLL

    started = time.perf_counter()
    spark = sparktag.start()
    spark.sparkContext.setLogLevel("ERROR")
    train = CoNLL().readDataset(spark, str(SAMPLE / "train.conll"))
    print(f"read {train.count()} sentences from {SAMPLE / 'train.conll'}")
    pipeline = Pipeline(
        stages=[
            DocumentAssembler().setInputCol("text").setOutputCol("document"),
            SentenceDetector().setInputCols(["document"]).setOutputCol("sentences"),
            Tokenizer().setInputCols(["sentences"]).setOutputCol("tokens"),
        ]
    )
    model = pipeline.fit(train)
    out = model.transform(train)
    out.selectExpr("text", "size(tokens) as n_tokens", "size(label) as n_labels").show(5, truncate=60)
    path = str(Path(args.output) / "text_pipeline")
    model.write().overwrite().save(path)
    light = LightPipeline.load(path)
    print(
        "LightPipeline (loaded without Spark):",
        light.annotate("Maria Lopez joined Northwind Bank in Lisbon.")["tokens"],
    )
    print(f"done in {time.perf_counter() - started:.1f}s; pipeline saved to {path}")
    return 0

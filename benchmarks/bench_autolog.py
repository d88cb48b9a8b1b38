"""What MLflow autologging costs a NerDL training run.

Usage: HF_HUB_OFFLINE=1 python benchmarks/bench_autolog.py [--epochs 8] [--rounds 2] [--out DIR]

Embeds the bundled sample's training set once with MiniLM, then fits NerDLApproach on it with autologging
off and on (a SQLite store in a temporary folder), alternating, ``--rounds`` times each, at ``--epochs`` and
at twice as many. The two lengths separate autologging's fixed cost per fit (params, charts, tags, the log
file) from its cost per epoch (one ``log_batch``). Then it times what ``log_models=True`` (the default) adds
after a ``Pipeline.fit``: logging the fitted pipeline (MiniLM included) with sparktag's flavor, and what
``log_datasets`` adds: the training DataFrame as a dataset input. Writes autolog.json and autolog.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import tempfile
import time
from pathlib import Path

SAMPLE = Path(__file__).resolve().parents[1] / "src" / "sparktag" / "data" / "sample"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--out", default="benchmarks/results")
    args = parser.parse_args()

    import mlflow
    from pyspark.ml import PipelineModel

    import sparktag
    from sparktag.annotator import BertEmbeddings, NerDLApproach, SentenceDetector, TokenizerModel
    from sparktag.base import DocumentAssembler
    from sparktag.tracking.autolog import autologging
    from sparktag.training import CoNLL

    spark = sparktag.start(master="local[2]")
    spark.sparkContext.setLogLevel("ERROR")
    scratch = tempfile.mkdtemp(prefix="sparktag-bench-autolog-")
    train = CoNLL().readDataset(spark, str(SAMPLE / "train.conll"))
    pre = PipelineModel(
        stages=[
            DocumentAssembler(),
            SentenceDetector(inputCols=["document"], outputCol="sentence"),
            TokenizerModel().setInputCols(["sentence"]).setOutputCol("token"),
            BertEmbeddings.pretrained("all_minilm_l6_v2")
            .setInputCols("sentence", "token")
            .setOutputCol("embeddings"),
        ]
    )
    pre.transform(train).write.mode("overwrite").parquet(os.path.join(scratch, "train"))
    embedded = spark.read.parquet(os.path.join(scratch, "train")).cache()
    embedded.count()
    mlflow.set_tracking_uri(f"sqlite:///{scratch}/mlflow.db")
    mlflow.set_experiment("bench-autolog")

    def approach_for(epochs: int) -> NerDLApproach:
        return (
            NerDLApproach()
            .setInputCols(["sentence", "token", "embeddings"])
            .setMaxEpochs(epochs)
            .setBatchSize(16)
            .setLr(0.003)
            .setValidationSplit(0.1)
            .setRandomSeed(0)
            .setVerbose(4)
        )

    def fit(epochs: int) -> float:
        approach = approach_for(epochs)
        started = time.perf_counter()
        approach.fit(embedded)
        return time.perf_counter() - started

    fit(1)  # warm: imports, first torch and MLflow calls
    times: dict[tuple[int, bool], list[float]] = {}
    for _ in range(args.rounds):
        for epochs in (args.epochs, 2 * args.epochs):
            times.setdefault((epochs, False), []).append(fit(epochs))
            with autologging(log_models=False, log_datasets=False, pending_dir=scratch):
                times.setdefault((epochs, True), []).append(fit(epochs))
    # What autolog adds after a Pipeline.fit with log_models/log_datasets on (the same calls it makes)
    from mlflow.data.spark_dataset import from_spark

    from sparktag.tracking import flavor

    fitted = PipelineModel(stages=[*pre.stages, approach_for(args.epochs).fit(embedded)])
    log_model_s, log_dataset_s = [], []
    for _ in range(args.rounds):
        with mlflow.start_run():
            started = time.perf_counter()
            mlflow.log_input(from_spark(train, name="train"), context="training")
            log_dataset_s.append(time.perf_counter() - started)
            started = time.perf_counter()
            flavor.log_model(fitted, "model", input_example=False)
            log_model_s.append(time.perf_counter() - started)
    med = {k: statistics.median(v) for k, v in times.items()}
    short, long = args.epochs, 2 * args.epochs
    extra_short = med[(short, True)] - med[(short, False)]
    extra_long = med[(long, True)] - med[(long, False)]
    per_epoch_s = (extra_long - extra_short) / (long - short)
    result = {
        "sentences": embedded.count(),
        "fit_s": {
            f"{e} epochs, autolog {'on' if a else 'off'}": [round(x, 2) for x in v]
            for (e, a), v in times.items()
        },
        "overhead_percent_at_epochs": {
            short: round(100 * extra_short / med[(short, False)], 1),
            long: round(100 * extra_long / med[(long, False)], 1),
        },
        "fixed_cost_per_fit_s": round(extra_short - per_epoch_s * short, 2),
        "cost_per_epoch_ms": round(1000 * per_epoch_s, 1),
        "log_models_cost_s": [round(x, 2) for x in log_model_s],
        "log_datasets_cost_s": [round(x, 2) for x in log_dataset_s],
        "load_average": os.getloadavg(),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores",
    }
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "autolog.json").write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    rows = "\n".join(f"| {k} | {v} |" for k, v in result.items())
    (out / "autolog.md").write_text(f"| measure | value |\n|---|---|\n{rows}\n", encoding="utf-8")
    print(json.dumps(result, indent=2))
    spark.stop()


if __name__ == "__main__":
    main()

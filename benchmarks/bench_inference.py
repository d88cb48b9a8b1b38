"""Inference speed of the whole NER pipeline (raw text -> tags) through Spark and LightPipeline.

Usage: HF_HUB_OFFLINE=1 python benchmarks/bench_inference.py DATA_DIR [--model PATH] [--limit N] [--out DIR]

On the sentences of DATA_DIR/eng.testa, with the MiniLM pipeline DocumentAssembler -> SentenceDetector ->
Tokenizer -> BertEmbeddings -> NerDLModel:
- raw: the encoder's plain forward pass (the ceiling; see bench_embeddings_stage.py);
- light: LightPipeline, in-process;
- spark fused: PipelineModel.transform through Spark local[2], written to the noop sink; sparktag stages run
  as one mapInArrow per task (the default);
- spark unfused: the same stages with a ``select("*")`` between them, so each stage is its own mapInArrow
  (what sparktag did before fusing).
Each Spark mode gets a fresh Spark session; its first pass (cold workers) and three more passes are timed,
and the peak RSS and number of its Python workers are read from /proc. Raw and light alternate three times
and keep their best pass. Speed does not depend on accuracy,
so without --model a NerDL model is trained for one epoch on the first 2,000 sentences of eng.train.
Writes inference_speed.json and inference_speed.md.
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

from bench_embeddings_stage import python_workers, raw_forward

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


def train_small_model(data_dir: Path, folder: str, path: str) -> None:
    """One epoch on 2,000 eng.train sentences, saved as a PipelineModel at ``path``."""
    import sparktag
    from sparktag.annotator import BertEmbeddings, NerDLApproach, SentenceDetector, Tokenizer
    from sparktag.base import DocumentAssembler
    from sparktag.training import CoNLL

    spark = sparktag.start(master="local[2]")
    spark.sparkContext.setLogLevel("ERROR")
    from pyspark.ml import Pipeline

    train = CoNLL().readDataset(spark, str(data_dir / "eng.train")).limit(2000)
    pipeline = Pipeline(
        stages=[
            DocumentAssembler(),
            SentenceDetector(inputCols=["document"], outputCol="sentence"),
            Tokenizer(inputCols=["sentence"], outputCol="token"),
            BertEmbeddings.loadSavedModel(folder)
            .setInputCols("sentence", "token")
            .setOutputCol("embeddings"),
            NerDLApproach()
            .setInputCols(["sentence", "token", "embeddings"])
            .setLabelColumn("label")
            .setOutputCol("ner")
            .setMaxEpochs(1)
            .setBatchSize(32)
            .setRandomSeed(0),
        ]
    )
    pipeline.fit(train).write().overwrite().save(path)
    spark.stop()


def spark_passes(path: str, texts: list[str], fused: bool) -> dict[str, object]:
    """Time a cold pass and three warm passes of the saved pipeline over ``texts`` in a fresh Spark session."""
    from pyspark.ml import PipelineModel

    import sparktag

    spark = sparktag.start(master="local[2]")
    spark.sparkContext.setLogLevel("ERROR")
    model = PipelineModel.load(path)
    df = spark.createDataFrame([(t,) for t in texts], "text string").cache()
    df.count()

    def transform() -> object:
        if fused:
            return model.transform(df)
        out = df
        for stage in model.stages:
            out = stage.transform(out).select("*")  # a new DataFrame: the next stage cannot fuse into it
        return out

    runs = []
    for _ in range(4):
        started = time.perf_counter()
        transform().write.format("noop").mode("overwrite").save()  # type: ignore[attr-defined]
        runs.append(time.perf_counter() - started)
    workers = python_workers()
    spark.stop()
    n = len(texts)
    return {
        "cold_pass_per_s": round(n / runs[0], 1),
        "best_warm_per_s": round(n / min(runs[1:]), 1),
        "runs_s": [round(x, 1) for x in runs],
        "python_workers": len(workers),
        "worker_peak_rss_mb": round(max((rss for _, rss in workers), default=0.0), 1),
        "workers_total_peak_rss_mb": round(sum(rss for _, rss in workers), 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data_dir")
    parser.add_argument(
        "--model", help="a saved PipelineModel ending in NerDLModel (default: train a small one)"
    )
    parser.add_argument("--limit", type=int, default=0, help="use only the first N eng.testa sentences")
    parser.add_argument("--out", default="benchmarks/results")
    args = parser.parse_args()

    import torch

    from sparktag.base import LightPipeline
    from sparktag.embeddings.transformer import resolve_pretrained
    from sparktag.training import CoNLL

    data = Path(args.data_dir)
    folder = resolve_pretrained("all_minilm_l6_v2")
    path = args.model
    if not path:
        path = os.path.join(tempfile.mkdtemp(prefix="sparktag-bench-"), "pipeline")
        train_small_model(data, folder, path)

    texts = CoNLL().read_arrow(str(data / "eng.testa")).column("text").to_pylist()
    if args.limit:
        texts = texts[: args.limit]
    n = len(texts)

    unfused = spark_passes(path, texts, fused=False)
    fused = spark_passes(path, texts, fused=True)

    # raw and light alternate, best of three each: single passes on this machine vary by up to 25%
    torch.set_num_threads(2)
    light = LightPipeline.load(path)
    light.fullAnnotate(texts[:64])
    raw_runs, light_runs = [], []
    for _ in range(3):
        raw_runs.append(raw_forward(folder, [t.split(" ") for t in texts]))
        started = time.perf_counter()
        light.fullAnnotate(texts)
        light_runs.append(time.perf_counter() - started)
    raw_s, light_s = min(raw_runs), min(light_runs)

    raw_per_s = n / raw_s
    result = {
        "sentences": n,
        "raw_forward_per_s": round(raw_per_s, 1),
        "light_per_s": round(n / light_s, 1),
        "light_of_raw": round(raw_s / light_s, 3),
        "raw_runs_s": [round(x, 2) for x in raw_runs],
        "light_runs_s": [round(x, 2) for x in light_runs],
        "spark_fused": fused,
        "spark_fused_of_raw": round(float(fused["best_warm_per_s"]) / raw_per_s, 3),  # type: ignore[arg-type]
        "spark_unfused": unfused,
        "spark_unfused_of_raw": round(float(unfused["best_warm_per_s"]) / raw_per_s, 3),  # type: ignore[arg-type]
        "driver_peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "load_average": os.getloadavg(),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores",
    }
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "inference_speed.json").write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    table = [
        "| path | sentences/s | share of raw | cold first pass/s | Python workers | peak RSS per worker (MB) |",
        "|---|---|---|---|---|---|",
        f"| raw forward pass | {result['raw_forward_per_s']} | 1.0 | | | |",
        f"| LightPipeline | {result['light_per_s']} | {result['light_of_raw']} | | | |",
    ]
    for name, mode in (("Spark, fused stages", fused), ("Spark, one mapInArrow per stage", unfused)):
        share = round(float(mode["best_warm_per_s"]) / raw_per_s, 3)  # type: ignore[arg-type]
        table.append(
            f"| {name} | {mode['best_warm_per_s']} | {share} | {mode['cold_pass_per_s']} | "
            f"{mode['python_workers']} | {mode['worker_peak_rss_mb']} |"
        )
    (out / "inference_speed.md").write_text("\n".join(table) + "\n", encoding="utf-8")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()

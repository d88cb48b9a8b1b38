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

Cluster mode: python benchmarks/bench_inference.py DATA_DIR --cluster [--limit N] [--before REF]
starts the 2-worker standalone cluster of tests/cluster/standalone.py (needs root), trains the small model on
the bundled sample's train.conll, and runs the same driver (load the saved pipeline, three passes over the
sentences of DATA_DIR/eng.testa, or of the bundled sample's test.conll when DATA_DIR has none) on the cluster
and in local[2]: sentences/s of the cold first pass and of the best warm pass, and the bytes of the pickled
function every task carries. With --before REF the same driver also runs on sparktag as it was at git REF
(driver and executors), for before/after numbers. Writes inference_cluster.json and inference_cluster.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import sys
import tempfile
import time
from pathlib import Path

from bench_embeddings_stage import python_workers, raw_forward

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


def train_small_model(data_dir: Path, folder: str, path: str, train_file: str = "eng.train") -> None:
    """One epoch on 2,000 sentences of DATA_DIR/``train_file``, saved as a PipelineModel at ``path``."""
    import sparktag
    from sparktag.annotator import BertEmbeddings, NerDLApproach, SentenceDetector, Tokenizer
    from sparktag.base import DocumentAssembler
    from sparktag.training import CoNLL

    spark = sparktag.start(master="local[2]")
    spark.sparkContext.setLogLevel("ERROR")
    from pyspark.ml import Pipeline

    train = CoNLL().readDataset(spark, str(data_dir / train_file)).limit(2000)
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


CLUSTER_PARTITIONS = 8


def cluster_pass(config_path: str) -> None:
    """One driver of the cluster benchmark (run as a subprocess): load, cache the texts, time three passes."""
    from pyspark.ml import PipelineModel
    from pyspark.serializers import CloudPickleSerializer

    import sparktag
    from sparktag.spark import stage

    config = json.loads(Path(config_path).read_text())
    spark = sparktag.start(app_name="sparktag-bench")
    spark.sparkContext.setLogLevel("ERROR")
    texts = json.loads(Path(config["texts"]).read_text())
    model = PipelineModel.load(config["model"])
    df = spark.createDataFrame([(t,) for t in texts], "text string").repartition(CLUSTER_PARTITIONS).cache()
    df.count()
    runs = []
    task_bytes = 0
    for _ in range(3):
        started = time.perf_counter()
        out = model.transform(df)
        out.write.format("noop").mode("overwrite").save()
        runs.append(time.perf_counter() - started)
        # the command pyspark pickles for the fused mapInArrow (what stage.task_function_bytes measures; the
        # code before that function existed has the same chain)
        chain = getattr(out, stage._CHAIN_ATTR)
        task_bytes = len(CloudPickleSerializer().dumps(stage._compose(chain.mappers)))
    n = len(texts)
    result = {
        "master": spark.sparkContext.master,
        "cold_pass_per_s": round(n / runs[0], 1),
        "best_warm_per_s": round(n / min(runs[1:]), 1),
        "runs_s": [round(x, 1) for x in runs],
        "task_function_bytes": task_bytes,
        "tasks_per_pass": CLUSTER_PARTITIONS,
    }
    Path(config["answer"]).write_text(json.dumps(result), encoding="utf-8")
    spark.stop()


def cluster_main(args: argparse.Namespace) -> None:
    """--cluster: the same driver on the standalone cluster and in local[2] (and, with --before, old code)."""
    import subprocess
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "cluster"))
    from sparktag.embeddings.model_folders import resolve_pretrained
    from sparktag.training import CoNLL

    from standalone import standalone_cluster

    root = Path(__file__).resolve().parents[1]
    sample = root / "src" / "sparktag" / "data" / "sample"
    testa = Path(args.data_dir) / "eng.testa"
    source = testa if testa.is_file() else sample / "test.conll"
    texts = CoNLL().read_arrow(str(source)).column("text").to_pylist()
    if args.limit:
        texts = texts[: args.limit]
    versions: dict[str, str | None] = {"now": None}
    scratch = Path(tempfile.mkdtemp(prefix="sparktag-bench-cluster-"))
    scratch.chmod(0o755)
    if args.before:
        code = scratch / "before"
        code.mkdir()
        archive = subprocess.run(
            ["git", "archive", args.before, "src"], cwd=root, check=True, capture_output=True
        )
        subprocess.run(["tar", "-x", "-C", str(code)], input=archive.stdout, check=True)
        for path in [code, *code.rglob("*")]:
            path.chmod(0o755 if path.is_dir() else 0o644)
        versions = {f"before ({args.before})": str(code / "src"), "now": None}

    results: dict[str, dict[str, object]] = {}
    with standalone_cluster(n_workers=2) as cluster:
        cluster.executor_java_options = ""  # the JVM's default JIT, as a user's executors run
        model = str(cluster.shared / "pipeline")
        if args.model:
            model = args.model
        else:
            train_small_model(sample, resolve_pretrained("all_minilm_l6_v2"), model, "train.conll")
        (cluster.shared / "texts.json").write_text(json.dumps(texts), encoding="utf-8")
        for version, code_dir in versions.items():
            for where in ("local[2]", "cluster"):
                answer = scratch / f"answer-{len(results)}.json"
                config = scratch / f"config-{len(results)}.json"
                config.write_text(json.dumps({"texts": str(cluster.shared / "texts.json"), "model": model,
                                              "answer": str(answer)}))  # fmt: skip
                extra = {}
                if code_dir:  # the driver and every executor import sparktag from the old sources
                    extra["PYTHONPATH"] = code_dir
                    extra["PYSPARK_SUBMIT_ARGS"] = (
                        f"--conf spark.executorEnv.PYTHONPATH={code_dir} "
                        + cluster.driver_env()["PYSPARK_SUBMIT_ARGS"]
                    )
                command = [__file__, "--cluster-pass", str(config)]
                if where == "cluster":
                    cluster.run_driver(command, cwd=scratch, env=extra, timeout_s=3600)
                else:
                    env = {**os.environ, **extra, "SPARK_MASTER": "local[2]"}
                    subprocess.run([sys.executable, *command], cwd=scratch, env=env, check=True, timeout=3600)
                results[f"{version}, {where}"] = json.loads(answer.read_text())
                print(version, where, results[f"{version}, {where}"], flush=True)

    result = {
        "sentences": len(texts),
        "source": source.name,
        "model": "all_minilm_l6_v2 + NerDLModel (1 epoch on the sample's train.conll)",
        "runs": results,
        "cluster": "standalone, 2 workers x 1 core, executors as another OS user, on this machine",
        "load_average": os.getloadavg(),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores",
    }
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "inference_cluster.json").write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    table = [
        "| code, master | cold first pass (sentences/s) | best warm pass (sentences/s) | bytes per task |",
        "|---|---|---|---|",
    ]
    for name, run in results.items():
        table.append(
            f"| {name} | {run['cold_pass_per_s']} | {run['best_warm_per_s']} | {run['task_function_bytes']:,} |"
        )
    (out / "inference_cluster.md").write_text("\n".join(table) + "\n", encoding="utf-8")
    print(json.dumps(result, indent=2))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data_dir")
    parser.add_argument(
        "--model", help="a saved PipelineModel ending in NerDLModel (default: train a small one)"
    )
    parser.add_argument("--limit", type=int, default=0, help="use only the first N eng.testa sentences")
    parser.add_argument("--out", default="benchmarks/results")
    parser.add_argument("--cluster", action="store_true", help="standalone cluster vs local[2] (needs root)")
    parser.add_argument("--before", help="with --cluster: also run sparktag as it was at this git ref")
    parser.add_argument("--cluster-pass", help=argparse.SUPPRESS)
    if "--cluster-pass" in sys.argv:
        cluster_pass(sys.argv[sys.argv.index("--cluster-pass") + 1])
        return
    args = parser.parse_args()
    if args.cluster:
        cluster_main(args)
        return

    import torch

    from sparktag.base import LightPipeline
    from sparktag.embeddings.model_folders import resolve_pretrained
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

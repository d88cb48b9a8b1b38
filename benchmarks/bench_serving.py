"""Serving latency: ``mlflow models serve -m models:/NAME@champion --env-manager local`` on a sparktag model.

    python benchmarks/bench_serving.py [--pipeline SAVED_PIPELINE_DIR] [--requests 300] [--out benchmarks/results]

Without ``--pipeline`` it trains a tiny NerDL pipeline on the bundled sample (a random 1-layer BERT whose vocab
holds the sample's words, 100 sentences, 8 epochs: the model is only there to have real stages to run). The
pipeline is logged to a throwaway SQLite store, registered and aliased ``champion``, then served on a free
loopback port. Measured:

- ``cold_start_s``: from starting the server process to the first 200 answer to a one-sentence POST;
- latency of ``--requests`` sequential one-sentence POSTs to ``/invocations`` (after 10 warm-up requests):
  p50, p90, p99, mean, max; and the same ``predict`` called in-process, to show what HTTP adds;
- CPU time per request: of the server's processes (Linux /proc) over the timed POSTs, and of this process
  over the in-process calls.

The server inherits this process's environment: run with ``SPARKTAG_TORCH_THREADS=2`` or
``SPARKTAG_ENCODER_PRECISION=bfloat16`` to measure those settings.

Writes ``serving.json`` and ``serving.md`` to ``--out`` and prints the table. The load average is recorded
because a busy machine moves every latency here; CPU time per request moves much less, so it is the number
to compare runs made under different loads.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

SENTENCE = "Halden Steel agreed to buy a stake in Fennick Motors for 58.27 billion euros ."
MODEL_NAME = "bench_ner"
SAMPLE = Path(__file__).resolve().parents[1] / "src" / "sparktag" / "data" / "sample"
# tiny_bert: the tiny random BERT builder is a test helper, not in the package
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))


def train_tiny_pipeline(folder: Path) -> Path:
    """Train the tiny sample pipeline with Spark and save it under ``folder``; returns the pipeline path."""
    from pyspark.ml import Pipeline

    import sparktag
    from sparktag.annotator import BertEmbeddings, NerConverter, NerDLApproach, SentenceDetector, Tokenizer
    from sparktag.base import DocumentAssembler
    from sparktag.training import CoNLL

    from tiny_bert import conll_words, save_tiny_bert

    bert = save_tiny_bert(folder / "bert", conll_words(SAMPLE / "train.conll"))

    spark = sparktag.start(master="local[2]", driver_memory="2g")
    spark.sparkContext.setLogLevel("ERROR")
    train = CoNLL().readDataset(spark, str(SAMPLE / "train.conll")).limit(100)
    stages = [
        DocumentAssembler().setInputCol("text").setOutputCol("document"),
        SentenceDetector().setInputCols(["document"]).setOutputCol("sentence"),
        Tokenizer().setInputCols(["sentence"]).setOutputCol("token"),
        BertEmbeddings.loadSavedModel(str(bert)).setInputCols("sentence", "token").setOutputCol("embeddings"),
        NerDLApproach()
        .setInputCols(["sentence", "token", "embeddings"])
        .setLabelColumn("label")
        .setOutputCol("ner")
        .setMaxEpochs(8)
        .setLr(0.01)
        .setRandomSeed(7)
        .setVerbose(4)
        .setIncludeConfidence(True),
        NerConverter().setInputCols(["sentence", "token", "ner"]).setOutputCol("ner_chunk"),
    ]
    path = folder / "pipeline"
    Pipeline(stages=stages).fit(train).write().save(str(path))
    spark.stop()
    return path


def register(pipeline: Path, tmp: Path) -> str:
    """Log the saved pipeline (read without Spark) to a SQLite store in ``tmp``; returns the tracking URI."""
    import mlflow

    from sparktag.mlflow import log_model
    from sparktag.spark.persistence import load_stage_local

    uri = f"sqlite:///{tmp}/mlflow.db"
    mlflow.set_tracking_uri(uri)
    experiment = mlflow.create_experiment("bench", artifact_location=(tmp / "artifacts").as_uri())
    with mlflow.start_run(experiment_id=experiment):
        log_model(
            load_stage_local(str(pipeline)), "model", registered_model_name=MODEL_NAME, alias="champion"
        )
    return uri


def post(url: str, body: bytes) -> tuple[int, bytes]:
    request = urllib.request.Request(url, data=body, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=60) as response:
        return response.status, response.read()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def summary_ms(latencies_s: list[float]) -> dict[str, float]:
    ms = [x * 1000 for x in latencies_s]
    return {
        "p50_ms": round(percentile(ms, 50), 2),
        "p90_ms": round(percentile(ms, 90), 2),
        "p99_ms": round(percentile(ms, 99), 2),
        "mean_ms": round(statistics.fmean(ms), 2),
        "max_ms": round(max(ms), 2),
    }


def session_cpu_s(session: int) -> float:
    """User + system CPU seconds of the live processes of session ``session`` (Linux /proc)."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", encoding="utf-8") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue  # exited meanwhile
        if int(fields[3]) == session:  # fields after the command: state ppid pgrp session ... utime stime
            total += int(fields[11]) + int(fields[12])
    return total / tick


def serve_and_measure(uri: str, tmp: Path, requests: int, timeout_s: float) -> dict[str, object]:
    port = free_port()
    # mlflow execs `uvicorn` by name: the interpreter's bin folder must be on PATH (a venv not activated)
    path = os.pathsep.join([os.path.dirname(sys.executable), os.environ.get("PATH", "")])
    env = {**os.environ, "MLFLOW_TRACKING_URI": uri, "PATH": path}
    command = [sys.executable, "-m", "mlflow", "models", "serve", "-m", f"models:/{MODEL_NAME}@champion"]
    command += ["--env-manager", "local", "-h", "127.0.0.1", "-p", str(port)]
    url = f"http://127.0.0.1:{port}/invocations"
    body = json.dumps({"dataframe_records": [{"text": SENTENCE}]}).encode()
    with open(tmp / "server.log", "wb") as log:
        started = time.perf_counter()
        proc = subprocess.Popen(
            command, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        try:
            cold_start_s = None
            while time.perf_counter() - started < timeout_s:
                if proc.poll() is not None:
                    raise RuntimeError(f"server exited: {(tmp / 'server.log').read_text()[-2000:]}")
                try:
                    status, answer = post(url, body)
                    if status == 200:
                        cold_start_s = time.perf_counter() - started
                        break
                except OSError:
                    time.sleep(0.1)
            if cold_start_s is None:
                raise RuntimeError(
                    f"no answer within {timeout_s} s: {(tmp / 'server.log').read_text()[-2000:]}"
                )
            entities = json.loads(answer)["predictions"]
            for _ in range(10):
                post(url, body)
            latencies = []
            cpu_before = session_cpu_s(proc.pid)  # the server runs in its own session (start_new_session)
            for _ in range(requests):
                t0 = time.perf_counter()
                status, _ = post(url, body)
                latencies.append(time.perf_counter() - t0)
                assert status == 200
            cpu_ms = (session_cpu_s(proc.pid) - cpu_before) / requests * 1000
        finally:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
                try:
                    proc.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    os.killpg(proc.pid, signal.SIGKILL)
                    proc.wait()
    http = {**summary_ms(latencies), "cpu_ms_per_request": round(cpu_ms, 2)}
    return {"cold_start_s": round(cold_start_s, 2), "http": http, "entities": entities}


def in_process(requests: int) -> dict[str, float]:
    import mlflow

    model = mlflow.pyfunc.load_model(f"models:/{MODEL_NAME}@champion")
    for _ in range(10):
        model.predict([SENTENCE])
    latencies = []
    cpu_before = time.process_time()
    for _ in range(requests):
        t0 = time.perf_counter()
        model.predict([SENTENCE])
        latencies.append(time.perf_counter() - t0)
    cpu_ms = (time.process_time() - cpu_before) / requests * 1000
    return {**summary_ms(latencies), "cpu_ms_per_request": round(cpu_ms, 2)}


def markdown(result: dict[str, object]) -> str:
    http, local = result["http"], result["in_process"]
    assert isinstance(http, dict) and isinstance(local, dict)
    lines = [
        "# Serving a sparktag model with `mlflow models serve --env-manager local`",
        "",
        f"Model: {result['model']}; {result['requests']} sequential one-sentence POSTs over loopback.",
        f"Machine: {result['cpus']} CPUs, load average {result['load_before']} before / "
        f"{result['load_after']} after; torch threads per request: {result['torch_threads']}; "
        f"encoder precision: {result['encoder_precision']}.",
        "",
        f"Cold start (process start to first answer): **{result['cold_start_s']} s** (target <= 10 s)",
        "",
        "| path | p50 ms | p90 ms | p99 ms | mean ms | max ms | CPU ms per request |",
        "|---|---|---|---|---|---|---|",
        f"| HTTP /invocations | {http['p50_ms']} | {http['p90_ms']} | {http['p99_ms']} | {http['mean_ms']} | {http['max_ms']} | {http['cpu_ms_per_request']} (server) |",
        f"| pyfunc predict in-process | {local['p50_ms']} | {local['p90_ms']} | {local['p99_ms']} | {local['mean_ms']} | {local['max_ms']} | {local['cpu_ms_per_request']} |",
        "",
        "Target: HTTP p50 <= 20 ms. CPU time is what a request costs whatever the load; on a busy machine the",
        "latencies add the time spent waiting for a core.",
    ]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--pipeline", help="a saved sparktag PipelineModel folder (default: train a tiny one)"
    )
    parser.add_argument("--requests", type=int, default=300, help="timed requests (default 300)")
    parser.add_argument("--timeout", type=float, default=180.0, help="seconds to wait for the server")
    parser.add_argument("--out", default=str(Path(__file__).parent / "results"), help="results folder")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="sparktag-bench-serving-") as scratch:
        tmp = Path(scratch)
        pipeline = Path(args.pipeline) if args.pipeline else train_tiny_pipeline(tmp)
        load_before = os.getloadavg()
        uri = register(pipeline, tmp)
        served = serve_and_measure(uri, tmp, args.requests, args.timeout)
        local = in_process(args.requests)
        load_after = os.getloadavg()
    result: dict[str, object] = {
        "model": args.pipeline
        or "tiny sample pipeline (random 1-layer BERT, hidden 32; NerDL; NerConverter)",
        "requests": args.requests,
        "cold_start_s": served["cold_start_s"],
        "http": served["http"],
        "in_process": local,
        "entities_first_answer": served["entities"],
        "torch_threads": os.environ.get("SPARKTAG_TORCH_THREADS", "1"),
        "encoder_precision": os.environ.get("SPARKTAG_ENCODER_PRECISION") or "as saved (float32)",
        "cpus": os.cpu_count(),
        "load_before": [round(x, 2) for x in load_before],
        "load_after": [round(x, 2) for x in load_after],
        "python": platform.python_version(),
        "date": time.strftime("%Y-%m-%d %H:%M:%S"),
    }
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "serving.json").write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    table = markdown(result)
    (out / "serving.md").write_text(table, encoding="utf-8")
    print(table)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

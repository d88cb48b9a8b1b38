"""What each MLflow tracking backend costs a sparktag user: start-up, server memory, time to log one run.

Usage: python benchmarks/bench_backends.py [--repeats 3] [--out benchmarks/results]

Needs the test backends running (MariaDB on 127.0.0.1:3306, PostgreSQL on 127.0.0.1:5432, ``moto_server``;
override the database servers with SPARKTAG_TEST_MYSQL / SPARKTAG_TEST_POSTGRES). It reuses the test helpers:
``tests/tracking`` is put on ``sys.path`` so that ``servers.py`` starts the fresh databases, ``sparktag
server`` and the moto S3 endpoint exactly as the tracking tests do, and ``concurrent_worker.py`` builds the
tiny pipeline without Spark. A backend that is not reachable is reported as such; the others still run.

Backends: a SQLite file, MariaDB and PostgreSQL used directly by the client; ``sparktag server`` (one worker,
artifact proxy to a folder) on each of the three; ``sparktag server`` on PostgreSQL proxying artifacts to S3
(moto); and the client on PostgreSQL writing artifacts to S3 itself (MLFLOW_S3_ENDPOINT_URL).

The standard run is what sparktag's MLflow listener logs for one NerDL training of 10 epochs with a
validation split and a test set, replayed verbatim: the params, one ``log_batch`` per epoch (step = epoch),
the final metrics and environment tags, the charts and the training log; then the fitted tiny pipeline
(random 1-layer BERT, NerDL, NerConverter) logged with ``sparktag.mlflow.log_model``, registered and given
the alias ``champion``. The training and the chart drawing happen once, before any timing: what is timed is
the MLflow traffic and the model's save + upload, not matplotlib or torch.

Measured per backend:

- ``cold_start_s``: for a server, ``sparktag server`` spawned until ``/health`` answers (Python, MLflow,
  schema creation on the empty database); for a direct store, a fresh Python process until its first MLflow
  call on the empty store returns (the same imports and schema creation, paid by the first client instead);
- ``server_rss_mb``: resident memory of the server's process group after start and after the runs;
- ``log_run_s``: the best of ``--repeats`` standard runs, with the split of that run into tracking
  (run, params, metrics, tags, artifacts) and model (log_model + registration + alias).

Writes backends.json and backends.md to ``--out``. The load average is recorded: on a shared 2-core machine
it moves every number here; compare backends within one run of this script.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT", "true")  # no "View run at" line per run

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "src" / "sparktag" / "data" / "sample"
# servers.py and concurrent_worker.py (tests/tracking), and what they use from tests/ (process helpers, tiny_bert)
sys.path[:0] = [str(ROOT / "tests" / "tracking"), str(ROOT / "tests")]

EPOCHS = 10
MODEL_NAME = "bench_ner"


@dataclass
class StandardRun:
    """Everything one sparktag training logs, captured once from a real (offline) MlflowListener."""

    params: dict[str, str]
    epoch_metrics: dict[int, list[dict[str, Any]]]  # step -> [{key, value, step, timestamp}]
    final_metrics: list[dict[str, Any]]  # step 0: epochs_run, training_loop_time_s, best_epoch
    tags: dict[str, str]
    artifacts: list[tuple[str, str | None]]  # (local file, artifact folder)
    pipeline: Any  # the fitted PipelineModel

    def describe(self) -> dict[str, Any]:
        sizes = [os.path.getsize(path) for path, _ in self.artifacts]
        return {
            "params": len(self.params),
            "epochs": len(self.epoch_metrics),
            "metrics_per_epoch": max(len(m) for m in self.epoch_metrics.values()),
            "final_metrics": len(self.final_metrics),
            "tags": len(self.tags),
            "artifacts": [
                f"{d}/{os.path.basename(p)}" if d else os.path.basename(p) for p, d in self.artifacts
            ],
            "artifact_kb": round(sum(sizes) / 1024, 1),
        }


def capture_standard_run(scratch: Path) -> StandardRun:
    """Train the tiny tagger once (no Spark) with sparktag's listener offline, and keep what it would log."""
    import torch

    from sparktag.ner.log import NerDLLog
    from sparktag.ner.metrics import evaluate
    from sparktag.ner.train import train
    from sparktag.tracking.listener import AutologConfig, MlflowListener

    from concurrent_worker import examples, fitted_pipeline, stages, tagger
    from tiny_bert import conll_words, save_tiny_bert

    torch.set_num_threads(1)
    bert = save_tiny_bert(scratch / "bert", conll_words(SAMPLE / "train.conll", SAMPLE / "test.conll"))
    featurizers = stages(str(bert))
    train_set = examples(SAMPLE / "train.conll", 100, featurizers)
    test_set = examples(SAMPLE / "test.conll", 50, featurizers)
    approach = (
        tagger(seed=0, epochs=EPOCHS)
        .setValidationSplit(0.2)
        .setEnableOutputLogs(True)
        .setOutputLogsPath(str(scratch / "logs"))
    )
    # Offline on purpose: the listener then keeps params, metrics, tags and files instead of sending them.
    listener = MlflowListener(
        approach, AutologConfig(silent=True, pending_dir=str(scratch / "pending"), offline_reason="benchmark")
    )
    log = NerDLLog(
        scratch / "logs", approach.uid
    )  # before the listener: the log is complete when it is logged
    result = train(
        train_set, approach.train_config(), test=test_set, evaluate=evaluate, listeners=[log, listener]
    )
    epoch_metrics: dict[int, list[dict[str, Any]]] = {}
    for metric in listener.metrics:
        epoch_metrics.setdefault(metric["step"], []).append(metric)
    return StandardRun(
        params=listener.params,
        epoch_metrics={step: m for step, m in epoch_metrics.items() if step > 0},
        final_metrics=epoch_metrics.get(0, []),
        tags=listener.tags,
        artifacts=listener.artifacts,
        pipeline=fitted_pipeline(featurizers, approach, result),
    )


def log_standard_run(standard: StandardRun, experiment_id: str) -> dict[str, float]:
    """Log ``standard`` to the current tracking URI as sparktag does; returns the seconds it took."""
    import mlflow
    from mlflow.entities import Metric, Param, RunTag
    from mlflow.tracking import MlflowClient

    import sparktag.mlflow

    def metrics(batch: list[dict[str, Any]]) -> list[Metric]:
        now = int(time.time() * 1000)
        return [Metric(m["key"], m["value"], now, m["step"]) for m in batch]

    started = time.perf_counter()
    with mlflow.start_run(experiment_id=experiment_id) as run:
        client = MlflowClient()
        run_id = run.info.run_id
        client.log_batch(run_id, params=[Param(k, v) for k, v in standard.params.items()], synchronous=True)
        for step in sorted(standard.epoch_metrics):
            client.log_batch(run_id, metrics=metrics(standard.epoch_metrics[step]), synchronous=True)
        tags = [RunTag(k, v) for k, v in standard.tags.items()]
        client.log_batch(run_id, metrics=metrics(standard.final_metrics), tags=tags, synchronous=True)
        for path, folder in standard.artifacts:
            client.log_artifact(run_id, path, folder)
        tracked = time.perf_counter()
        sparktag.mlflow.log_model(
            standard.pipeline, "model", registered_model_name=MODEL_NAME, alias="champion"
        )
        modelled = time.perf_counter()
    ended = time.perf_counter()
    return {"log_run_s": ended - started, "tracking_s": tracked - started, "model_s": modelled - tracked}


COLD_START = """
import sys, time
started = float(sys.argv[2])
from mlflow.tracking import MlflowClient
MlflowClient(sys.argv[1]).search_experiments()
print(time.time() - started)
"""


def direct_cold_start_s(uri: str, env: dict[str, str]) -> float:
    """A fresh process's time to its first answered MLflow call on ``uri`` (imports + schema creation)."""
    done = subprocess.run(
        [sys.executable, "-c", COLD_START, uri, repr(time.time())],
        env={**os.environ, **env}, capture_output=True, text=True, check=True,
    )  # fmt: skip
    return float(done.stdout.strip().splitlines()[-1])


@contextlib.contextmanager
def environment(extra: dict[str, str]) -> Iterator[None]:
    saved = {k: os.environ.get(k) for k in extra}
    os.environ.update(extra)
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


@dataclass
class Backend:
    name: str
    store: str  # sqlite, mariadb, postgres
    server: bool
    artifacts: str  # where artifacts go: folder, s3 (written by the client), s3 proxied (by the server)


BACKENDS = [
    Backend("sqlite direct", "sqlite", False, "folder"),
    Backend("mariadb direct", "mariadb", False, "folder"),
    Backend("postgres direct", "postgres", False, "folder"),
    Backend("server + sqlite", "sqlite", True, "proxied folder"),
    Backend("server + mariadb", "mariadb", True, "proxied folder"),
    Backend("server + postgres", "postgres", True, "proxied folder"),
    Backend("server + postgres, S3 proxied", "postgres", True, "proxied S3"),
    Backend("postgres direct, S3 from client", "postgres", False, "S3"),
]


@dataclass
class Measured:
    backend: str
    store: str
    server: bool
    artifacts: str
    cold_start_s: float | None = None
    server_rss_mb_started: float | None = None
    server_rss_mb_after: float | None = None
    log_run_s: list[float] = field(default_factory=list)
    tracking_s: list[float] = field(default_factory=list)
    model_s: list[float] = field(default_factory=list)
    error: str | None = None

    def best(self) -> dict[str, float] | None:
        if not self.log_run_s:
            return None
        i = min(range(len(self.log_run_s)), key=self.log_run_s.__getitem__)
        return {"log_run_s": self.log_run_s[i], "tracking_s": self.tracking_s[i], "model_s": self.model_s[i]}


def database(store: str, folder: Path) -> contextlib.AbstractContextManager[str]:
    from servers import mysql_database, postgres_database

    if store == "mariadb":
        return mysql_database()
    if store == "postgres":
        return postgres_database()
    return contextlib.nullcontext(f"sqlite:///{folder}/mlflow.db")


def measure(backend: Backend, standard: StandardRun, s3: Any, folder: Path, repeats: int) -> Measured:
    import mlflow
    from mlflow.tracking import MlflowClient

    from servers import TrackingServer

    out = Measured(backend.name, backend.store, backend.server, backend.artifacts)
    client_env = s3.env if backend.artifacts == "S3" else {}
    prefix = backend.name.replace(" ", "-").replace(",", "").replace("+", "")
    with database(backend.store, folder) as uri, environment(client_env):
        server = None
        try:
            if backend.server:
                proxied_s3 = backend.artifacts == "proxied S3"
                args = ["--artifacts-destination", f"s3://{s3.bucket}/{prefix}"] if proxied_s3 else []
                server = TrackingServer(uri, folder, args=args, env=s3.env if proxied_s3 else None)
                out.cold_start_s = round(server.start_s, 2)
                out.server_rss_mb_started = round(server.rss_mb(), 1)
                tracking_uri = server.url
                artifact_location = None  # the server's proxy: mlflow-artifacts:/
            else:
                out.cold_start_s = round(direct_cold_start_s(uri, client_env), 2)
                tracking_uri = uri
                s3_root = f"s3://{s3.bucket}/{prefix}"
                artifact_location = s3_root if backend.artifacts == "S3" else (folder / "artifacts").as_uri()
            mlflow.set_tracking_uri(tracking_uri)
            mlflow.set_registry_uri(tracking_uri)
            experiment_id = MlflowClient().create_experiment(
                "bench-backends", artifact_location=artifact_location
            )
            for _ in range(repeats):
                seconds = log_standard_run(standard, experiment_id)
                out.log_run_s.append(round(seconds["log_run_s"], 3))
                out.tracking_s.append(round(seconds["tracking_s"], 3))
                out.model_s.append(round(seconds["model_s"], 3))
            versions = MlflowClient().search_model_versions(f"name = '{MODEL_NAME}'")
            if sorted(int(v.version) for v in versions) != list(range(1, repeats + 1)):
                raise RuntimeError(f"expected versions 1..{repeats}, found {[v.version for v in versions]}")
            if server is not None:
                out.server_rss_mb_after = round(server.rss_mb(), 1)
        finally:
            if server is not None:
                server.close()
    return out


def markdown(results: list[Measured], standard: dict[str, Any], meta: dict[str, Any]) -> str:
    def num(value: float | None, digits: int = 2) -> str:
        return "" if value is None else f"{value:.{digits}f}"

    lines = [
        "# What each tracking backend costs",
        "",
        f"One standard sparktag run: {standard['params']} params, {standard['epochs']} epochs x "
        f"{standard['metrics_per_epoch']} metrics (one log_batch per epoch), {standard['final_metrics']} final "
        f"metrics, {standard['tags']} tags, {len(standard['artifacts'])} artifacts ({standard['artifact_kb']} KB: "
        f"charts + training log), then the tiny pipeline logged with sparktag.mlflow.log_model, registered and "
        f"aliased. Best of {meta['repeats']} runs.",
        f"Machine: {meta['machine']}; load average {meta['load_before']} before / {meta['load_after']} after; "
        f"MLflow {meta['mlflow']}.",
        "",
        "| backend | artifacts | cold start s | server RSS MB (started / after) | log run s | of which tracking s "
        "| of which model s | all runs s |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        if r.error:
            lines.append(f"| {r.backend} | {r.artifacts} | not measured: {r.error} | | | | | |")
            continue
        best = r.best() or {}
        rss = (
            f"{num(r.server_rss_mb_started, 0)} / {num(r.server_rss_mb_after, 0)}"
            if r.server
            else "(no server)"
        )
        runs = ", ".join(num(s) for s in r.log_run_s)
        lines.append(
            f"| {r.backend} | {r.artifacts} | {num(r.cold_start_s, 1)} | {rss} | {num(best.get('log_run_s'))} "
            f"| {num(best.get('tracking_s'))} | {num(best.get('model_s'))} | {runs} |"
        )
    lines += [
        "",
        "Cold start: a server from `sparktag server` spawned to `/health` answering; a direct store, a fresh "
        "Python process to its first answered MLflow call on the empty database (both include creating the "
        "schema). Server RSS is the server's whole process group; moto's memory is not counted.",
    ]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "results"))
    args = parser.parse_args()

    import mlflow
    import pytest

    from servers import S3

    load_before = os.getloadavg()
    scratch = Path(tempfile.mkdtemp(prefix="sparktag-bench-backends-"))
    standard = capture_standard_run(scratch / "standard")
    # Warm up imports and first-call costs (model saving, the registry client) on a throwaway store, so the
    # first backend measured does not pay them for the others.
    mlflow.set_tracking_uri(f"sqlite:///{scratch}/warmup.db")
    log_standard_run(
        standard, mlflow.create_experiment("warmup", artifact_location=(scratch / "wa").as_uri())
    )

    s3 = S3(scratch)
    results: list[Measured] = []
    try:
        for i, backend in enumerate(BACKENDS):
            folder = scratch / f"backend-{i}"
            folder.mkdir()
            try:
                measured = measure(backend, standard, s3, folder, args.repeats)
            except (
                Exception,
                pytest.skip.Exception,
                pytest.fail.Exception,
            ) as err:  # skip/fail are BaseExceptions
                measured = Measured(backend.name, backend.store, backend.server, backend.artifacts)
                measured.error = f"{type(err).__name__}: {str(err).splitlines()[0] if str(err) else ''}"
            results.append(measured)
            best = measured.best()
            print(f"{backend.name}: {best or measured.error}", flush=True)
    finally:
        s3.close()

    meta = {
        "repeats": args.repeats,
        "machine": f"{platform.machine()}, {os.cpu_count()} cores",
        "load_before": [round(x, 2) for x in load_before],
        "load_after": [round(x, 2) for x in os.getloadavg()],
        "mlflow": mlflow.__version__,
    }
    described = standard.describe()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    payload = {
        "standard_run": described,
        **meta,
        "backends": [{**asdict(r), "best": r.best()} for r in results],
    }
    (out / "backends.json").write_text(json.dumps(payload, indent=2) + "\n", encoding="utf-8")
    table = markdown(results, described, meta)
    (out / "backends.md").write_text(table, encoding="utf-8")
    print(table)


if __name__ == "__main__":
    main()

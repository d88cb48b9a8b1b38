"""Many runs at once: eight training processes log to one MariaDB-backed ``sparktag server`` together.

Each worker (``concurrent_worker.py``) is its own OS process: it trains a tiny tagger for four epochs with
sparktag's MLflow listener on the trainer's events, then logs and registers the fitted pipeline under one
model name. No Spark: eight JVMs on two cores would test Spark's start-up, not concurrent writes. Afterwards,
counted in MLflow: eight FINISHED runs, every metric the listeners sent stored once at its step (each
per-epoch metric at exactly steps 1..4), and model versions exactly 1..8, one per run.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from servers import TrackingServer, mysql_database

pytestmark = [pytest.mark.slow]

WORKERS = 8
EPOCHS = 4
MODEL_NAME = "ner_concurrent"
WORKERS_TIMEOUT_S = 420  # eight imports of torch + transformers + mlflow on two busy cores
WORKER = Path(__file__).with_name("concurrent_worker.py")


def _tail(path: Path, chars: int = 3000) -> str:
    return path.read_text(errors="replace")[-chars:] if path.exists() else "(no output)"


def _run_workers(tmp: Path, uri: str, experiment_id: str, bert_dir: Path, sample_dir: Path) -> list[dict]:
    """Start every worker at once and wait for all of them; the first failure fails the test with its log."""
    barrier = tmp / "barrier"
    barrier.mkdir()
    env = {**os.environ, "MLFLOW_TRACKING_URI": uri, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    processes: dict[int, tuple[subprocess.Popen, Path]] = {}
    for i in range(WORKERS):
        log = tmp / f"worker-{i}.log"
        command = [sys.executable, str(WORKER), "--index", str(i), "--parties", str(WORKERS),
                   "--experiment-id", experiment_id, "--model-name", MODEL_NAME, "--bert-dir", str(bert_dir),
                   "--sample-dir", str(sample_dir), "--barrier-dir", str(barrier),
                   "--result", str(tmp / f"result-{i}.json"), "--epochs", str(EPOCHS)]  # fmt: skip
        with log.open("w") as out:  # the worker keeps its own copy of the file descriptor
            processes[i] = (
                subprocess.Popen(command, cwd=tmp, env=env, stdout=out, stderr=subprocess.STDOUT),
                log,
            )
    try:
        deadline = time.monotonic() + WORKERS_TIMEOUT_S
        running = set(processes)
        while running:
            for i in sorted(running):
                process, log = processes[i]
                code = process.poll()
                if code is not None:
                    # one worker down leaves the others waiting at a barrier: fail now, with its output
                    assert code == 0, f"worker {i} exited with {code}:\n{_tail(log)}"
                    running.remove(i)
            if time.monotonic() > deadline:
                pytest.fail(f"workers {sorted(running)} still running after {WORKERS_TIMEOUT_S} s")
            time.sleep(0.2)
    finally:
        for process, _ in processes.values():
            if process.poll() is None:
                process.kill()
                process.wait()
    return [json.loads((tmp / f"result-{i}.json").read_text()) for i in range(WORKERS)]


@pytest.fixture(scope="module")
def concurrent(tmp_path_factory, sample_bert_dir, sample_dir):
    """Eight workers against one MariaDB-backed server; yields (their results, a client of it, experiment id)."""
    from mlflow.tracking import MlflowClient

    tmp = tmp_path_factory.mktemp("concurrency")
    with mysql_database() as backend:
        server = TrackingServer(backend, tmp)
        try:
            client = MlflowClient(server.url)
            experiment_id = client.create_experiment("concurrent-training")
            results = _run_workers(tmp, server.url, experiment_id, sample_bert_dir, sample_dir)
            yield results, client, experiment_id
        finally:
            server.close()


def test_workers_trained_and_logged_at_the_same_time(concurrent):
    results, _, _ = concurrent
    failed = {
        r["index"]: (r["errors"], r["pending_file"]) for r in results if r["errors"] or r["pending_file"]
    }
    assert failed == {}  # the listener never went offline: everything was sent to the server
    # every worker was still training or logging when the last one started: the writes really overlapped
    assert max(r["started"] for r in results) < min(r["finished"] for r in results)


def test_every_run_finished(concurrent):
    results, client, experiment_id = concurrent
    runs = client.search_runs([experiment_id], max_results=100)
    assert len(runs) == WORKERS
    assert {r.info.run_id for r in runs} == {r["run_id"] for r in results}
    assert Counter(r.info.status for r in runs) == {"FINISHED": WORKERS}


def test_every_metric_step_is_stored_once(concurrent):
    results, client, _ = concurrent
    for result in results:
        sent: dict[str, list[tuple[int, float]]] = {}
        for m in result["metrics"]:
            sent.setdefault(m["key"], []).append((m["step"], m["value"]))
        per_epoch = {key for key, points in sent.items() if any(step > 0 for step, _ in points)}
        assert {"loss", "lr", "test_token_micro_f1", "test_entity_micro_f1"} <= per_epoch
        stored = {key: client.get_metric_history(result["run_id"], key) for key in sent}
        for key in per_epoch:
            steps = sorted(m.step for m in stored[key])
            assert steps == list(range(1, EPOCHS + 1)), f"run {result['index']}, {key}: steps {steps}"
        for key, points in sent.items():
            assert sorted((m.step, m.value) for m in stored[key]) == sorted(points), (result["index"], key)
        run_keys = set(client.get_run(result["run_id"]).data.metrics)
        assert run_keys == set(sent), f"run {result['index']}: keys differ {sorted(run_keys ^ set(sent))}"


def test_model_versions_are_one_to_eight_one_per_run(concurrent):
    results, client, _ = concurrent
    versions = client.search_model_versions(f"name = '{MODEL_NAME}'")
    numbers = sorted(int(v.version) for v in versions)
    assert numbers == list(range(1, WORKERS + 1))
    by_run = {v.run_id: v.version for v in versions}
    assert len(by_run) == WORKERS  # eight distinct runs behind the eight versions
    assert by_run == {r["run_id"]: str(r["version"]) for r in results}
    assert all(v.status == "READY" for v in versions)

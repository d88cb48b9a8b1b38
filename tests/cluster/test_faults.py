"""A worker SIGKILLed mid-task costs nothing: Spark retries its tasks, no row is lost or duplicated.

One driver job (jobs/faults.py) reads CoNLL files and runs a BERT transform undisturbed, then again with tasks
that announce themselves (a marker file on shared storage naming their worker) and pause. The test kills the
worker of a running read task, restarts it, then kills the worker of a running transform task, restarts it,
and compares the job's outputs with the undisturbed ones.
"""

from __future__ import annotations

import json
import re
import shutil
import time
from pathlib import Path

import pytest

JOBS = Path(__file__).parent / "jobs"
SAMPLE = Path(__file__).resolve().parents[2] / "src" / "sparktag" / "data" / "sample"

pytestmark = [pytest.mark.spark, pytest.mark.cluster, pytest.mark.slow]


def wait_for_marker(markers: Path, phase: str, driver, timeout_s: float = 600.0) -> int:
    """The index of the worker running a task of ``phase`` right now (from the first marker to appear)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        for marker in sorted(markers.glob(f"{phase}-*.json")):
            found = re.search(r"/worker(\d+)/", json.loads(marker.read_text())["cwd"])
            assert found, marker.read_text()
            return int(found.group(1))
        if driver.poll() is not None:
            out, err = driver.communicate()
            raise AssertionError(
                f"the driver ended before any {phase} task ran:\n{out[-2000:]}\n{err[-6000:]}"
            )
        time.sleep(0.2)
    raise TimeoutError(f"no {phase} task started in {timeout_s:.0f} s")


def test_a_killed_worker_loses_no_row(cluster, tmp_path: Path, sample_bert_dir: Path) -> None:
    data = cluster.shared / "faults" / "conll"
    data.mkdir(parents=True)
    for i in range(6):  # one read task per file: tasks on both workers
        shutil.copy(SAMPLE / "test.conll", data / f"part{i}.conll")
    markers = cluster.shared / "faults" / "markers"
    markers.mkdir()
    answer = tmp_path / "answer.json"

    driver = cluster.start_driver(
        [str(JOBS / "faults.py"), str(data), str(sample_bert_dir), str(markers), str(answer)], cwd=tmp_path
    )
    killed = []
    try:
        for phase in ("read", "transform"):
            worker = wait_for_marker(markers, phase, driver)
            cluster.kill_worker(worker)  # its executor and Python workers too, mid-task
            killed.append((phase, worker, time.time()))
            cluster.start_worker(worker)  # later tests (and the transform) have two workers again
        out, err = driver.communicate(timeout=900)
    finally:
        if driver.poll() is None:
            driver.kill()
            driver.wait()
        for i, worker in enumerate(cluster.workers):
            if worker.process is None or worker.process.poll() is not None:
                cluster.start_worker(i)
    assert driver.returncode == 0, f"driver failed:\n{out[-2000:]}\n{err[-8000:]}\n{cluster.logs()}"

    seen = json.loads(answer.read_text())
    assert len(killed) == 2
    # every file's rows once, in file order: none lost, none twice
    sentences = seen["read_reference"]
    assert sentences and len(sentences) % 6 == 0
    assert sentences[: len(sentences) // 6] == sentences[len(sentences) // 6 : len(sentences) // 3]
    assert seen["read_killed"] == sentences
    assert seen["transform_killed"] == seen["transform_reference"]
    assert len(seen["transform_killed"]) == len(sentences)
    # the kills hit running tasks: some partition of each phase ran more than once (marker name:
    # PHASE-STAGE-PARTITION-TASK_ATTEMPT_ID.json)
    names = sorted(m.name for m in markers.glob("*.json"))
    for phase in ("read", "transform"):
        runs: dict[tuple[str, str], int] = {}
        for name in names:
            if name.startswith(phase + "-"):
                stage, partition = name.removesuffix(".json").split("-")[1:3]
                key = (stage, partition)
                runs[key] = runs.get(key, 0) + 1
        assert max(runs.values()) >= 2, f"no {phase} task ran twice: kills {killed}; markers {names}"

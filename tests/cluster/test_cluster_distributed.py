"""NerDLApproach.setNumWorkers(2) on the standalone cluster: two ranks on two workers that cannot read the
driver's files; the driver's listeners, log file and model as with single-process training."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

JOBS = Path(__file__).parent / "jobs"
SAMPLE = Path(__file__).resolve().parents[2] / "src" / "sparktag" / "data" / "sample"

pytestmark = [pytest.mark.spark, pytest.mark.cluster, pytest.mark.slow]


def test_two_workers_train_like_the_driver(cluster, tmp_path: Path) -> None:
    from sparktag.embeddings.tiny import conll_words, save_tiny_bert

    # the inputs the executors read live on the shared storage, as they would on a cluster
    sample = cluster.shared / "sample"
    sample.mkdir()
    for name in ("train.conll", "test.conll"):
        shutil.copy(SAMPLE / name, sample / name)
    bert = save_tiny_bert(cluster.shared / "bert", conll_words(sample / "train.conll", sample / "test.conll"))
    logs = tmp_path / "logs"  # the driver's: out of the executors' reach
    answer = tmp_path / "answer.json"

    cluster.run_driver(
        [str(JOBS / "distributed.py"), str(cluster.shared), str(sample), str(bert), str(logs), str(answer)],
        cwd=tmp_path,
        timeout_s=900,
    )
    seen = json.loads(answer.read_text())
    assert seen["master"] == cluster.master_url

    # no shared folder: a clear refusal before anything runs
    assert "setCheckpointDir" in seen["refused"], seen["refused"]

    # the tiny model learns on the driver alone and on two workers (same seed, 8 sentences a step). Parity to a
    # point is not asserted: how the sentences fall into the workers' shards moves the two-worker F1 by several
    # points on this 400-sentence sample (0.913 single vs 0.854 two workers after a change of upstream
    # partitioning, 0.932 vs 0.917 in local[2]); until the spread over seeds is measured, "learns" is the claim.
    assert seen["f1_single"] > 0.6, seen
    assert seen["f1_two"] > 0.6, seen
    assert seen["history_test_f1"][-1] == pytest.approx(seen["f1_two"], abs=1e-9)

    # rank 0's events reached the driver's listener, in order; uneven shards, equal steps
    events = seen["events"]
    assert events[0] == "TrainingStarted" and events[-1] == "TrainingEnded"
    ended = [e for e in events if e.startswith("EpochEnded:")]
    assert ended == [f"EpochEnded:{n}" for n in range(1, 13)]
    assert [e for e in events if e.startswith("CheckpointSaved:")] == [
        f"CheckpointSaved:{n}" for n in range(1, 13)
    ]
    assert len(set(seen["rows_per_rank"])) == 2, seen["rows_per_rank"]
    assert seen["steps"] == 12 * sum(e == "BatchEnded:1" for e in events)

    # the Spark NLP log file is the driver's, though training ran elsewhere
    log = Path(seen["log_file"])
    assert log.is_relative_to(logs)
    lines = log.read_text(encoding="utf-8").split("\n")
    assert lines[0].startswith("Name of the selected graph: blstm_")
    assert sum(line.startswith("Quality on test dataset") for line in lines) == 12

    # checkpoints on the shared storage; a longer fit resumes from the last one
    assert seen["checkpoints"] == ["epoch-0012"] or "epoch-0012" in seen["checkpoints"]
    assert seen["resumed_start_epoch"] == 13 and seen["resumed_from"].endswith("epoch-0012")
    assert [e for e in seen["resumed_events"] if e.startswith("EpochEnded")] == ["EpochEnded:13"]
    assert seen["resumed_history"] == list(range(1, 14))
    assert seen["featurised_left"] == []  # the featurised data is removed after each fit

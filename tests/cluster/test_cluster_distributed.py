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

EPOCHS = 20  # as jobs/distributed.py


def test_two_workers_train_like_the_driver(cluster, tmp_path: Path) -> None:
    from tiny_bert import conll_words, save_tiny_bert

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

    # two workers train what the driver trains with the same seed: the same steps of the same 8 sentences with
    # the same dropout masks, split over the workers; the first steps' losses agree to float rounding
    assert seen["first_epoch_two"] == pytest.approx(seen["first_epoch_single"], rel=1e-3, abs=1e-3)
    # Later the rounding (the all-reduce adds in another order) grows as any perturbation does: on this sample
    # a 1-ulp change of one input vector moves single-process F1 by up to 1.7 points (docs/distributed.md), so
    # one run against one run is compared within that band; the mean over seeds is within a point
    # (benchmarks/results/distributed_parity.md)
    assert seen["f1_single"] > 0.9, seen
    assert abs(seen["f1_two"] - seen["f1_single"]) <= 0.03, seen
    assert seen["history_test_f1"][-1] == pytest.approx(seen["f1_two"], abs=1e-9)

    # rank 0's events reached the driver's listener, in order; halves of the rows, one process's steps
    events = seen["events"]
    assert events[0] == "TrainingStarted" and events[-1] == "TrainingEnded"
    ended = [e for e in events if e.startswith("EpochEnded:")]
    assert ended == [f"EpochEnded:{n}" for n in range(1, EPOCHS + 1)]
    assert [e for e in events if e.startswith("CheckpointSaved:")] == [
        f"CheckpointSaved:{n}" for n in range(1, EPOCHS + 1)
    ]
    assert abs(seen["rows_per_rank"][0] - seen["rows_per_rank"][1]) <= 1, seen["rows_per_rank"]
    assert seen["steps"] == EPOCHS * sum(e == "BatchEnded:1" for e in events)

    # the Spark NLP log file is the driver's, though training ran elsewhere
    log = Path(seen["log_file"])
    assert log.is_relative_to(logs)
    lines = log.read_text(encoding="utf-8").split("\n")
    assert lines[0].startswith("Name of the selected graph: blstm_")
    assert sum(line.startswith("Quality on test dataset") for line in lines) == EPOCHS
    assert sum(line.startswith("Quality on validation dataset (10.0%)") for line in lines) == EPOCHS

    # checkpoints on the shared storage; a longer fit resumes from the last one
    last = f"epoch-{EPOCHS:04d}"
    assert last in seen["checkpoints"], seen["checkpoints"]
    assert seen["resumed_start_epoch"] == EPOCHS + 1 and seen["resumed_from"].endswith(last)
    assert [e for e in seen["resumed_events"] if e.startswith("EpochEnded")] == [f"EpochEnded:{EPOCHS + 1}"]
    assert seen["resumed_history"] == list(range(1, EPOCHS + 2))
    # the validation split is held out of the whole data (as on the driver) and scored over every shard
    held = seen["validation_examples_single"][0]
    assert held and seen["validation_examples"] == [held] * (EPOCHS + 1)
    assert seen["featurised_left"] == []  # the featurised data is removed after each fit

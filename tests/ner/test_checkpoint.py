"""Training checkpoints: real trainings, real SIGKILLs, resumed runs equal to uninterrupted ones on CPU."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch

from sparktag.ner.checkpoint import (
    STATE_FILE,
    TRAINING_FORMAT_VERSION,
    latest_checkpoint,
    read_checkpoint,
)
from sparktag.ner.data import NerExample
from sparktag.ner.events import BatchEnded, CheckpointSaved, EpochEnded, EpochStarted, TrainingStarted
from sparktag.ner.log import NerDLLog, parse_log
from sparktag.ner.model_files import load_dir
from sparktag.ner.train import TrainResult, train

from processes import wait_for
from resume_worker import EPOCHS, comparable, config
from synthetic import DATA, Recorder, ScriptedScores, local_evaluate, quick, same_weights

WORKER = Path(__file__).with_name("resume_worker.py")
SRC = str(Path(__file__).resolve().parents[2] / "src")
START_TIMEOUT_S = 180  # importing torch in a fresh process on two busy cores


def weights_of(tagger_or_result) -> dict[str, torch.Tensor]:
    return {k: v.clone() for k, v in tagger_or_result.model.state_dict().items()}


def equal_weights(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


@pytest.fixture(scope="module")
def uninterrupted() -> TrainResult:
    """The reference: the workers' training, in this process, never interrupted, without checkpoints."""
    return train(DATA, config(None), evaluate=local_evaluate)


# -- writing ------------------------------------------------------------------------------------------------


def test_a_checkpoint_per_epoch_is_data_and_changes_nothing(uninterrupted, tmp_path):
    folder = tmp_path / "ckpt"
    recorder = Recorder()
    result = train(DATA, config(str(folder)), evaluate=local_evaluate, listeners=[recorder])
    assert same_weights(result, uninterrupted)  # checkpointing consumes no randomness
    assert comparable(result.history) == comparable(uninterrupted.history)

    saved = [e for e in recorder.events if isinstance(e, CheckpointSaved)]
    assert [e.epoch for e in saved] == list(range(1, EPOCHS + 1))
    kinds = [type(e).__name__ for e in recorder.events if not isinstance(e, BatchEnded)]
    assert kinds[1:4] == ["EpochStarted", "CheckpointSaved", "EpochEnded"]  # on disk before EpochEnded
    assert all(e.size_bytes > 0 and e.elapsed_s > 0 for e in saved)
    started = recorder.events[0]
    assert isinstance(started, TrainingStarted) and started.checkpoint_dir == str(folder)
    assert started.start_epoch == 1 and started.resumed_from is None and started.history == []

    # Only the latest is kept; it is plain JSON + safetensors, and loads as a tagger.
    last = folder / f"epoch-{EPOCHS:04d}"
    assert sorted(p.name for p in folder.iterdir()) == [last.name]
    assert saved[-1].path == str(last)
    assert sorted(p.name for p in last.iterdir()) == [
        "best_weights.safetensors",
        "config.json",
        "optimizer.safetensors",
        "trainer_state.json",
        "weights.safetensors",
    ]
    assert saved[-1].size_bytes == sum(p.stat().st_size for p in last.iterdir())
    state = json.loads((last / STATE_FILE).read_text())
    assert state["format_version"] == TRAINING_FORMAT_VERSION and state["epoch"] == EPOCHS
    assert state["seed"] == 7 and state["best_epoch"] == uninterrupted.best_epoch
    assert [e["epoch"] for e in state["history"]] == list(range(1, EPOCHS + 1))
    assert state["order_rng"]["bit_generator"] == "PCG64" and state["data"]["training_examples"] == 48
    last_weights = load_dir(last)  # the weights after the last epoch (use_best_model keeps another epoch's)
    point = read_checkpoint(last)
    assert equal_weights(weights_of(last_weights), weights_of(point.tagger))
    assert point.best_weights is not None and equal_weights(point.best_weights, weights_of(result))
    assert {k.rsplit(".", 1)[1] for k in point.optimizer} == {"exp_avg", "exp_avg_sq", "step"}


# -- a real kill -----------------------------------------------------------------------------------------------


def start_worker(tmp_path: Path, name: str, *args: str) -> tuple[subprocess.Popen, Path]:
    out = tmp_path / name
    out.mkdir()
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([SRC, os.environ.get("PYTHONPATH", "")])}
    log = open(out / "output.txt", "w")  # noqa: SIM115 - closed with the process by the caller's wait
    proc = subprocess.Popen(
        [sys.executable, str(WORKER), "--out", str(out), *args],
        stdout=log,
        stderr=subprocess.STDOUT,
        env=env,
        cwd=str(WORKER.parent),
    )
    return proc, out


def kill(proc: subprocess.Popen) -> None:
    os.kill(proc.pid, signal.SIGKILL)
    assert proc.wait(timeout=30) == -signal.SIGKILL


def finish(proc: subprocess.Popen, out: Path) -> dict:
    code = proc.wait(timeout=START_TIMEOUT_S)
    assert code == 0, (out / "output.txt").read_text()[-3000:]
    return json.loads((out / "result.json").read_text())


@pytest.mark.parametrize("pause_at", ["3:2", None], ids=["mid-epoch", "anywhere"])
def test_a_killed_training_resumes_to_the_uninterrupted_result(uninterrupted, tmp_path, pause_at):
    """SIGKILL once a checkpoint is on disk: at a known point inside epoch 3 (weights and Adam state already
    changed in memory), or as soon as the first checkpoint appears, wherever the worker then is (possibly
    writing the next checkpoint). A new process resumes and ends exactly where an uninterrupted run ends."""
    folder = tmp_path / "ckpt"
    args = ["--checkpoint-dir", str(folder)]
    first, out = start_worker(tmp_path, "killed", *args, *(["--pause-at", pause_at] if pause_at else []))
    if pause_at:
        ready = lambda: (out / "paused").exists() and latest_checkpoint(folder) is not None  # noqa: E731
        wait_for(ready, first, out / "output.txt", START_TIMEOUT_S)
        assert latest_checkpoint(folder) == folder / "epoch-0002"  # polled: epoch 2's checkpoint is there
    else:
        wait_for(lambda: latest_checkpoint(folder) is not None, first, out / "output.txt", START_TIMEOUT_S)
    kill(first)
    killed_at = latest_checkpoint(folder)
    assert killed_at is not None and not (out / "result.json").exists()
    epochs_done = int(killed_at.name.split("-")[1])
    if epochs_done == EPOCHS:
        pytest.skip("the worker finished all epochs before the kill landed")

    second, out2 = start_worker(tmp_path, "resumed", *args)
    resumed = finish(second, out2)
    assert resumed["resumed_from"] is not None and resumed["resumed_from"].startswith(str(folder / "epoch-"))
    assert resumed["history"] == comparable(uninterrupted.history)  # every epoch, scores and losses exact
    assert resumed["best_epoch"] == uninterrupted.best_epoch and resumed["seed"] == uninterrupted.seed
    assert equal_weights(weights_of(load_dir(out2 / "model")), weights_of(uninterrupted))
    assert [p.name for p in folder.iterdir()] == [f"epoch-{EPOCHS:04d}"]  # leftovers of the kill cleaned


# -- resuming in-process -------------------------------------------------------------------------------------


def test_resuming_emits_what_listeners_need_and_max_epochs_may_grow(uninterrupted, tmp_path):
    folder = str(tmp_path / "ckpt")
    short = train(DATA, replace(config(folder), max_epochs=2), evaluate=local_evaluate)
    assert short.resumed_from is None and len(short.history) == 2
    recorder = Recorder()
    result = train(DATA, config(folder), evaluate=local_evaluate, listeners=[recorder])
    assert same_weights(result, uninterrupted) and result.best_epoch == uninterrupted.best_epoch
    assert comparable(result.history) == comparable(uninterrupted.history)
    assert result.resumed_from == str(Path(folder) / "epoch-0002")

    started = recorder.events[0]
    assert isinstance(started, TrainingStarted)
    assert started.start_epoch == 3 and started.resumed_from == result.resumed_from
    assert comparable(started.history) == comparable(uninterrupted.history[:2])
    assert [e.epoch for e in recorder.events if isinstance(e, EpochStarted)] == [3, 4, 5]
    assert [e.epoch for e in recorder.events if isinstance(e, EpochEnded)] == [3, 4, 5]
    assert recorder.events[-1].epochs == EPOCHS  # TrainingEnded counts the restored epochs too


def test_an_early_stopped_training_resumes_to_no_more_epochs(tmp_path):
    folder = str(tmp_path / "ckpt")
    settings = {
        "max_epochs": 10,
        "early_stopping_patience": 2,
        "use_best_model": True,
        "checkpoint_dir": folder,
    }
    first = train(DATA, quick(**settings), validation=DATA[:8], evaluate=ScriptedScores([0.5, 0.9, 0.4, 0.3]))
    assert len(first.history) == 4 and first.best_epoch == 2
    recorder = Recorder()
    again = train(
        DATA, quick(**settings), validation=DATA[:8], evaluate=ScriptedScores([]), listeners=[recorder]
    )
    assert not any(isinstance(e, EpochStarted) for e in recorder.events)
    assert same_weights(first, again) and again.best_epoch == 2 and len(again.history) == 4


def test_the_resumed_training_log_is_written_whole(tmp_path):
    """The log of a resumed training holds every epoch once, after one header: like an uninterrupted one."""
    folder = str(tmp_path / "ckpt")
    logs = tmp_path / "logs"

    def masked(path: Path) -> list[str]:
        return [re.sub(r"\d+\.\d\ds", "T", line) for line in path.read_text().splitlines()]

    reference = NerDLLog(logs, "reference", extended=True)
    train(DATA, config(None), evaluate=local_evaluate, listeners=[reference])
    log = NerDLLog(logs, "resumed", extended=True)
    train(DATA, replace(config(folder), max_epochs=2), evaluate=local_evaluate, listeners=[log])
    log.path.write_text(
        log.path.read_text() + "\n\nEpoch 3/5 started, lr: 0.01, dataset size: 48\n"
    )  # killed
    train(DATA, config(folder), evaluate=local_evaluate, listeners=[log])
    assert [e["epoch"] for e in parse_log(log.path)] == list(range(1, EPOCHS + 1))
    lines = masked(log.path)
    assert lines[1].startswith("Training started - total epochs: 5")  # the resumed run's header
    assert lines == masked(reference.path)


# -- what may not be resumed -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def two_epochs(tmp_path_factory) -> Path:
    """A folder holding the checkpoint of epoch 2 of the workers' training (copy it before changing it)."""
    folder = tmp_path_factory.mktemp("two_epochs") / "ckpt"
    train(DATA, replace(config(str(folder)), max_epochs=2), evaluate=local_evaluate)
    return folder


def copy_of(folder: Path, tmp_path: Path) -> str:
    import shutil

    target = tmp_path / "ckpt"
    shutil.copytree(folder, target)
    return str(target)


def test_other_settings_or_data_are_refused(two_epochs, tmp_path):
    folder = copy_of(two_epochs, tmp_path)
    with pytest.raises(ValueError, match=r"other settings: lr was 0.01, now 0.02\. .*point checkpoint_dir"):
        train(DATA, replace(config(folder), lr=0.02), evaluate=local_evaluate)
    with pytest.raises(ValueError, match=r"random_seed \(randomSeed\) was 7, now 8"):
        train(DATA, replace(config(folder), random_seed=8), evaluate=local_evaluate)
    with pytest.raises(ValueError, match=r"trained 2 epochs but max_epochs \(maxEpochs\) is 1"):
        train(DATA, replace(config(folder), max_epochs=1), evaluate=local_evaluate)
    with pytest.raises(ValueError, match=r"other data \(training_examples was 48, now 45\)"):
        train(DATA[:-4], config(folder), evaluate=local_evaluate)
    nudged = [*DATA[:-1], NerExample(DATA[-1].tokens, DATA[-1].embeddings + 1e-6, DATA[-1].tags)]
    with pytest.raises(ValueError, match="the same sizes and tags but other sentences, order, labels or emb"):
        train(nudged, config(folder), evaluate=local_evaluate)
    assert latest_checkpoint(folder) == Path(folder) / "epoch-0002"  # refused, untouched

    # A network of another shape; and a checkpoint of a sparktag before casing_dim (no such key) trained
    # with casing off: it is refused with casing on, and resumes with it off (below).
    with pytest.raises(ValueError, match=r"other settings: casing_dim \(casingDim\) was 0, now 4\. "):
        train(DATA, replace(config(folder), casing_dim=4), evaluate=local_evaluate)
    state_file = Path(folder) / "epoch-0002" / STATE_FILE
    state = json.loads(state_file.read_text())
    del state["config"]["casing_dim"]
    state_file.write_text(json.dumps(state))
    with pytest.raises(ValueError, match=r"other settings: casing_dim \(casingDim\) was 0, now 4\. "):
        train(DATA, replace(config(folder), casing_dim=4), evaluate=local_evaluate)

    # A seed of None takes the checkpoint's; starting over deletes the old checkpoint.
    resumed = train(DATA, replace(config(folder), random_seed=None), evaluate=local_evaluate)
    assert resumed.seed == 7 and resumed.resumed_from is not None
    fresh = train(
        DATA, replace(config(folder), lr=0.02, resume_from_checkpoint=False), evaluate=local_evaluate
    )
    assert fresh.resumed_from is None
    assert json.loads((Path(folder) / "epoch-0005" / STATE_FILE).read_text())["config"]["lr"] == 0.02


def corrupt(kind: str, folder: Path) -> str:
    last = latest_checkpoint(folder)
    assert last is not None
    if kind == "state":
        (last / STATE_FILE).write_text('{"format_version": 1, "epoch": ')
        return "trainer_state.json|Expecting value"
    if kind == "version":
        state = json.loads((last / STATE_FILE).read_text())
        (last / STATE_FILE).write_text(json.dumps({**state, "format_version": 99}))
        return f"format_version 99 .* reads training checkpoints of format_version {TRAINING_FORMAT_VERSION} only"
    if kind == "weights":
        data = (last / "weights.safetensors").read_bytes()
        (last / "weights.safetensors").write_bytes(data[: len(data) // 2])
        return "SafetensorError|incomplete|invalid"
    (last / "optimizer.safetensors").unlink()
    return "optimizer.safetensors missing"


@pytest.mark.parametrize("kind", ["state", "version", "weights", "missing"])
def test_a_corrupt_checkpoint_is_refused_with_what_to_do(two_epochs, tmp_path, kind):
    folder = copy_of(two_epochs, tmp_path)
    reason = corrupt(kind, Path(folder))
    with pytest.raises(ValueError) as caught:
        train(DATA, config(folder), evaluate=local_evaluate)
    message = str(caught.value)
    assert message.startswith(f"cannot resume from the training checkpoint {folder}/epoch-0002: ")
    assert re.search(reason, message), message
    assert "delete" in message and "resumeFromCheckpoint=False" in message


def test_an_unfinished_write_is_ignored_and_cleaned(two_epochs, uninterrupted, tmp_path):
    """What a kill during a write leaves: a half-written temporary folder, or (killed between the rename and
    the clean-up) the previous checkpoint beside the new one."""
    folder = Path(copy_of(two_epochs, tmp_path))
    half = folder / ".tmp-epoch-0003-4242"
    half.mkdir()
    (half / "weights.safetensors").write_bytes(b"\x00\x01")
    older = folder / "epoch-0001"
    older.mkdir()
    (older / STATE_FILE).write_text("{}")
    assert latest_checkpoint(folder) == folder / "epoch-0002"
    result = train(DATA, config(str(folder)), evaluate=local_evaluate)
    assert same_weights(result, uninterrupted)
    assert [p.name for p in folder.iterdir()] == ["epoch-0005"]


def test_a_stream_checkpoints_and_resumes_like_memory(two_epochs, uninterrupted, tmp_path):
    folder = copy_of(two_epochs, tmp_path)  # written from the in-memory list: the same data, one chunk
    result = train(lambda: iter([DATA]), config(folder), evaluate=local_evaluate)
    assert result.resumed_from is not None and same_weights(result, uninterrupted)
    assert np.isfinite(result.history[-1].loss)

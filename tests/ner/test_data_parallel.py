"""Data-parallel training (``sparktag.ner.distributed``) against one process: the same seed trains the same model.

Each test starts real gloo ranks as OS processes (``rank_worker.py``), each holding a contiguous slice of the
data, and compares rank 0's trained weights with those of ``train`` on the whole data in this process.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from sparktag.ner.train import TrainResult, train

from processes import free_port
from synthetic import DATA, local_evaluate, quick

WORKER = Path(__file__).with_name("rank_worker.py")
SRC = str(Path(__file__).resolve().parents[2] / "src")

pytestmark = pytest.mark.slow


def run_ranks(world: int, out: Path, overrides: dict) -> dict:
    """Train with ``world`` rank processes; rank 0's result."""
    port = free_port()
    procs = []
    for rank in range(world):
        env = {
            **os.environ,
            "RANK": str(rank),
            "WORLD_SIZE": str(world),
            "MASTER_ADDR": "127.0.0.1",
            "MASTER_PORT": str(port),
            "PYTHONPATH": os.pathsep.join([SRC, str(WORKER.parent)]),
        }
        procs.append(
            subprocess.Popen(
                [sys.executable, str(WORKER), str(out), json.dumps(overrides)],
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
            )
        )
    for proc in procs:
        output, _ = proc.communicate(timeout=300)
        assert proc.returncode == 0, output[-3000:]
    return torch.load(out, weights_only=False)


def assert_same_model(single: TrainResult, ranks: dict, atol: float = 1e-5) -> None:
    weights = single.model.state_dict()
    assert weights.keys() == ranks["weights"].keys()
    for name, value in weights.items():
        diff = float((value - ranks["weights"][name]).abs().max())
        assert diff <= atol, f"{name} differs by {diff}"
    assert ranks["losses"] == pytest.approx([e.loss for e in single.history], rel=1e-5)
    assert ranks["batches"] == [e.batches for e in single.history]


@pytest.mark.parametrize(("world", "casing_dim"), [(2, 0), (3, 4)])
def test_ranks_train_the_model_one_process_trains(world, casing_dim, tmp_path):
    # 64 sentences, batches of 8, a validation split: 3 ranks split batches unevenly (and some steps have no
    # sentence on some rank); dropout on, so the per-sentence masks are part of what must agree; with 3 ranks
    # the casing embedding too (its ids travel in every rank's batches)
    overrides = {"max_epochs": 2, "validation_split": 0.25, "dropout": 0.7, "casing_dim": casing_dim}
    single = train(DATA, quick(**overrides), test=DATA, evaluate=local_evaluate)
    ranks = run_ranks(world, tmp_path / "ranks.pt", overrides)
    assert_same_model(single, ranks)
    # validation held out of the whole data, as one process holds it out, and scored over every rank's part
    assert ranks["validation_examples"] == [e.validation.examples for e in single.history]
    assert ranks["test_f1"] == pytest.approx([e.test.entity.micro_f1 for e in single.history], abs=1e-9)
    assert ranks["steps"] == sum(e.batches for e in single.history)


def test_streamed_shards_train_in_step(tmp_path):
    # one chunk per rank: the steps of the shards in memory, so the model one process trains
    single = train(DATA, quick(max_epochs=2), test=DATA, evaluate=local_evaluate)
    assert_same_model(single, run_ranks(2, tmp_path / "one.pt", {"max_epochs": 2, "chunk": 64}))
    # 3 ranks of 21, 21, 22 sentences in chunks of 7: the third rank has a 4th chunk, which it trains alone
    # while the others join its steps empty-handed; each chunk number is batched over every rank together
    ranks = run_ranks(3, tmp_path / "three.pt", {"max_epochs": 3, "chunk": 7})
    assert ranks["batches"] == [3 + 3 + 3 + 1] * 3  # chunks of 21, 21, 21 and 1 sentences, batches of 8
    assert ranks["losses"][-1] < ranks["losses"][0]  # it learns

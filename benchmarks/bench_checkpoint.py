"""What training checkpoints cost: size and write time per epoch, and the time a resume adds before training.

Usage: python benchmarks/bench_checkpoint.py [--epochs 2] [--repeats 3] [--out benchmarks/results]

Two trainings on synthetic data (random word vectors, nothing downloaded): the tiny tagger of the tests
(dim 16, 64 sentences) and a CoNLL-sized one (dim 384 like MiniLM, 3000 sentences, TrainConfig's default
network). For each, in this process: ``--epochs`` epochs with a checkpoint after each (CheckpointSaved gives
size and write time; EpochEnded the epoch's training time). Then, each in a fresh Python process, the time
from process start (before ``python`` runs) to the end of the first training batch: a fresh start without
checkpoints, a fresh start with checkpoints on (the data fingerprint is computed), and a resume from the
checkpoint just written; median of ``--repeats`` runs each, alternating. Writes checkpoint.json/.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

SETUPS: dict[str, dict[str, Any]] = {
    "tiny": {
        "sentences": 64,
        "dim": 16,
        "config": {"lr": 0.01, "dropout": 0.8, "char_cnn_filters": 8, "lstm_hidden": 16},
    },
    "conll-sized": {"sentences": 3000, "dim": 384, "config": {"lr": 0.003}},
}
ENTITIES = ("PER", "LOC", "ORG", "MISC")


def synthetic(sentences: int, dim: int, seed: int = 0) -> list[Any]:
    """CoNLL-like sentences (mean 14 tokens, ~1 entity in 6 tokens) over a 5000-word vocabulary."""
    import numpy as np

    from sparktag.ner.data import NerExample

    rng = np.random.default_rng(seed)
    letters = np.array(list("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"))
    vocab = ["".join(rng.choice(letters, size=int(rng.integers(2, 10)))) for _ in range(5000)]
    table = rng.standard_normal((len(vocab), dim)).astype(np.float32)
    out = []
    for _ in range(sentences):
        ids = rng.integers(0, len(vocab), size=max(1, int(rng.poisson(14))))
        tags, i = ["O"] * len(ids), 0
        while i < len(ids):
            if rng.random() < 0.12:
                kind = ENTITIES[int(rng.integers(len(ENTITIES)))]
                width = int(rng.integers(1, 3))
                for j in range(i, min(i + width, len(ids))):
                    tags[j] = ("B-" if j == i else "I-") + kind
                i += width
            else:
                i += 1
        out.append(NerExample([vocab[k] for k in ids], table[ids], tags))
    return out


def train_config(name: str, epochs: int, checkpoint_dir: str | None) -> Any:
    from sparktag.ner.config import TrainConfig

    return TrainConfig(
        max_epochs=epochs,
        random_seed=1,
        num_threads=1,
        checkpoint_dir=checkpoint_dir,
        **SETUPS[name]["config"],
    )


def child(name: str, epochs: int, checkpoint_dir: str | None, t0: float) -> None:
    """Train until the first batch ends, print the seconds since ``t0`` (the parent's clock before spawning)."""
    from sparktag.ner.events import BatchEnded
    from sparktag.ner.train import train

    class FirstBatch:
        def on_event(self, event: Any) -> None:
            if isinstance(event, BatchEnded):
                print(json.dumps({"first_batch_s": time.time() - t0, "epoch": event.epoch}), flush=True)
                os._exit(0)

    data = synthetic(SETUPS[name]["sentences"], SETUPS[name]["dim"])
    train(data, train_config(name, epochs, checkpoint_dir), listeners=[FirstBatch()])


class _Stop(BaseException):
    """Ends a training from a listener (the trainer drops listeners raising an Exception, not this)."""


def in_process_first_batch_s(data: list[Any], name: str, epochs: int, checkpoint_dir: str | None) -> float:
    """Seconds from calling ``train`` to the end of its first batch, in this process (no start-up noise)."""
    from sparktag.ner.events import BatchEnded
    from sparktag.ner.train import train

    class FirstBatch:
        def on_event(self, event: Any) -> None:
            if isinstance(event, BatchEnded):
                raise _Stop

    started = time.perf_counter()
    try:
        train(data, train_config(name, epochs, checkpoint_dir), listeners=[FirstBatch()])
    except _Stop:
        return time.perf_counter() - started
    raise AssertionError("training ended without a batch")


def first_batch_s(name: str, epochs: int, checkpoint_dir: str | None) -> tuple[float, int]:
    args = [sys.executable, __file__, "--child", name, "--epochs", str(epochs)]
    if checkpoint_dir:
        args += ["--checkpoint-dir", checkpoint_dir]
    t0 = time.time()
    done = subprocess.run([*args, "--t0", repr(t0)], capture_output=True, text=True, check=True, timeout=900)
    result = json.loads(done.stdout.strip().splitlines()[-1])
    return result["first_batch_s"], result["epoch"]


def measure(name: str, epochs: int, repeats: int) -> dict[str, Any]:
    from sparktag.ner.checkpoint import latest_checkpoint, read_checkpoint
    from sparktag.ner.events import CheckpointSaved, EpochEnded
    from sparktag.ner.train import train
    from sparktag.ner.training_data import DataFingerprint

    setup = SETUPS[name]
    data = synthetic(setup["sentences"], setup["dim"])
    folder = tempfile.mkdtemp(prefix=f"sparktag-bench-ckpt-{name}-")
    events: list[Any] = []

    class Record:
        def on_event(self, event: Any) -> None:
            if isinstance(event, (CheckpointSaved, EpochEnded)):
                events.append(event)

    result = train(data, train_config(name, epochs, folder), listeners=[Record()])
    saved = [e for e in events if isinstance(e, CheckpointSaved)]
    ended = [e for e in events if isinstance(e, EpochEnded)]
    latest = latest_checkpoint(folder)
    assert latest is not None
    files = {p.name: p.stat().st_size for p in latest.iterdir()}

    started = time.perf_counter()
    read_checkpoint(latest)
    read_s = time.perf_counter() - started
    started = time.perf_counter()
    fingerprint = DataFingerprint()
    fingerprint.add("train", data)
    fingerprint_s = time.perf_counter() - started

    # Fresh processes: the first batch of a fresh start (checkpoints off / on) and of a resume (epoch N + 1).
    runs: dict[str, list[float]] = {"fresh, no checkpoints": [], "fresh, checkpoints on": [], "resumed": []}
    for _ in range(repeats):
        runs["fresh, no checkpoints"].append(first_batch_s(name, epochs + 1, None)[0])
        runs["fresh, checkpoints on"].append(first_batch_s(name, epochs + 1, tempfile.mkdtemp())[0])
        resumed_s, epoch = first_batch_s(name, epochs + 1, folder)
        assert epoch == epochs + 1, f"the resumed child started at epoch {epoch}"
        runs["resumed"].append(resumed_s)
    median = {k: statistics.median(v) for k, v in runs.items()}
    in_process: dict[str, list[float]] = {k: [] for k in runs}
    for _ in range(repeats):
        in_process["fresh, no checkpoints"].append(in_process_first_batch_s(data, name, epochs + 1, None))
        in_process["fresh, checkpoints on"].append(
            in_process_first_batch_s(data, name, epochs + 1, tempfile.mkdtemp())
        )
        in_process["resumed"].append(in_process_first_batch_s(data, name, epochs + 1, folder))
    in_median = {k: statistics.median(v) for k, v in in_process.items()}
    return {
        "sentences": setup["sentences"],
        "embedding_dim": setup["dim"],
        "parameters": sum(p.numel() for p in result.model.parameters()),
        "epochs": epochs,
        "checkpoint_bytes": saved[-1].size_bytes,
        "checkpoint_files_bytes": files,
        "write_s": [round(e.elapsed_s, 4) for e in saved],
        "epoch_train_s": [round(e.elapsed_s, 3) for e in ended],
        "write_percent_of_epoch": round(
            100 * statistics.mean(e.elapsed_s for e in saved) / statistics.mean(e.elapsed_s for e in ended), 2
        ),
        "read_checkpoint_s": round(read_s, 4),
        "data_fingerprint_s": round(fingerprint_s, 4),
        "first_batch_s": {k: [round(x, 2) for x in v] for k, v in runs.items()},
        "first_batch_median_s": {k: round(v, 2) for k, v in median.items()},
        "resume_overhead_s": round(median["resumed"] - median["fresh, no checkpoints"], 2),
        "in_process_first_batch_s": {k: [round(x, 3) for x in v] for k, v in in_process.items()},
        "in_process_first_batch_median_s": {k: round(v, 3) for k, v in in_median.items()},
        "in_process_resume_overhead_s": round(in_median["resumed"] - in_median["fresh, no checkpoints"], 3),
    }


def markdown(results: dict[str, Any]) -> str:
    rows = [
        "| setup | params | sentences | checkpoint size | write per epoch (mean / max) | epoch training | "
        "write / epoch | read checkpoint | data fingerprint |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for name, r in results["setups"].items():
        rows.append(
            f"| {name} | {r['parameters']:,} | {r['sentences']} (dim {r['embedding_dim']}) | "
            f"{r['checkpoint_bytes'] / 1e6:.2f} MB | {1000 * statistics.mean(r['write_s']):.0f} / "
            f"{1000 * max(r['write_s']):.0f} ms | {statistics.mean(r['epoch_train_s']):.2f} s | "
            f"{r['write_percent_of_epoch']:.1f}% | {1000 * r['read_checkpoint_s']:.0f} ms | "
            f"{1000 * r['data_fingerprint_s']:.0f} ms |"
        )
    rows += [
        "",
        "| setup | to first batch | fresh, no checkpoints | fresh, checkpoints on | resumed | resume overhead |",
        "|---|---|---|---|---|---|",
    ]
    for name, r in results["setups"].items():
        for label, key, overhead in (
            ("from process start", "first_batch_median_s", "resume_overhead_s"),
            ("from the train() call", "in_process_first_batch_median_s", "in_process_resume_overhead_s"),
        ):
            first = r[key]
            rows.append(
                f"| {name} | {label} | {first['fresh, no checkpoints']:.3f} s | "
                f"{first['fresh, checkpoints on']:.3f} s | {first['resumed']:.3f} s | {r[overhead]:+.3f} s |"
            )
    meta = results["machine"]
    rows += [
        "",
        "To first batch: seconds to the end of the first training batch (epoch 1 fresh, epoch N + 1 resumed), "
        f"median of {results['repeats']} runs each: from process start (before `python` runs, so imports and "
        "data generation included) and from the `train()` call in a warm process. Resume overhead = resumed - "
        "fresh without checkpoints: reading and restoring the checkpoint and hashing the data (the fresh start "
        "with checkpoints on hashes the data too).",
        f"Machine: {meta['machine']}, {meta['cores']} cores, load average before the run {meta['load_before']}, "
        f"after {meta['load_after']}; torch {meta['torch']}.",
    ]
    return "\n".join(rows) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", default="benchmarks/results")
    parser.add_argument("--setups", default=",".join(SETUPS))
    parser.add_argument("--child", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--checkpoint-dir", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--t0", type=float, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.epochs, args.checkpoint_dir, args.t0)
        return

    import torch

    load_before = [round(x, 2) for x in os.getloadavg()]
    setups = {name: measure(name, args.epochs, args.repeats) for name in args.setups.split(",")}
    results = {
        "repeats": args.repeats,
        "setups": setups,
        "machine": {
            "machine": platform.machine(),
            "cores": os.cpu_count(),
            "load_before": load_before,
            "load_after": [round(x, 2) for x in os.getloadavg()],
            "torch": torch.__version__,
        },
    }
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "checkpoint.json").write_text(json.dumps(results, indent=1) + "\n", encoding="utf-8")
    (out / "checkpoint.md").write_text(markdown(results), encoding="utf-8")
    print(markdown(results))


if __name__ == "__main__":
    main()

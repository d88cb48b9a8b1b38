"""Sweep throughput: N one-thread worker processes against one N-thread worker, same trials, this machine.

Both scenarios run the same sweep (``sparktag.tracking.sweep.sweep``): the same ``--trials`` points, enqueued
in the same order (random points drawn once, seeded), no pruning, on a SQLite store in a fresh folder, so the
work is identical and only the split of the cores differs:

* ``workers=N``: N processes, each with its own local Spark of 1 core and 1 torch thread;
* ``workers=1``: one process with local[N] Spark and N torch threads (``numThreads``).

Reported: wall time of the whole command (start-up, embedding once per machine, the trials, the champion's
registration and test score), trials per hour, the mean trial time, and the ratio of the two throughputs.

    python benchmarks/bench_sweep.py --data ../shared/data/conll2003 --limit 2000 --trials 8 --epochs 3
    python benchmarks/bench_sweep.py    # the bundled sample, MiniLM

Writes benchmarks/results/sweep_workers.{json,md}. Not a test: numbers depend on the machine and its load.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "src" / "sparktag" / "data" / "sample"
RESULTS = ROOT / "benchmarks" / "results"


def _subset(data: Path, limit: int, out: Path) -> tuple[Path, Path]:
    """eng.train's first ``limit`` sentences (and eng.testa's first limit/4) as CoNLL files in ``out``."""
    from sparktag.core.conll import read_conll_documents

    paths = []
    for name, count in (("eng.train", limit), ("eng.testa", max(1, limit // 4))):
        lines, sentences = ["-DOCSTART- -X- -X- O", ""], 0
        for doc in read_conll_documents(str(data / name)):
            for sentence in doc.sentences:
                if sentences >= count:
                    break
                lines += [f"{t.text} {t.pos} O {t.label}" for t in sentence.tokens] + [""]
                sentences += 1
        path = out / f"{name}.{limit}"
        path.write_text("\n".join(lines) + "\n")
        paths.append(path)
    return paths[0], paths[1]


def _points(n: int, seed: int) -> list[dict[str, object]]:
    rng = random.Random(seed)
    return [{"params.lr": round(10 ** rng.uniform(-3, -1.7), 6), "params.lstmHidden": rng.choice([32, 64, 128]),
             "dropout": round(rng.uniform(0.3, 0.7), 3)} for _ in range(n)]  # fmt: skip


def run_scenario(workers: int, train: Path, test: Path, args: argparse.Namespace) -> dict[str, object]:
    import optuna

    from sparktag.tracking.sweep import sweep
    from sparktag.tracking.sweep_config import SweepConfig
    from sparktag.tracking.sweep_storage import storage_url

    with tempfile.TemporaryDirectory(prefix=f"bench_sweep_{workers}_") as tmp:
        uri = f"sqlite:///{tmp}/mlflow.db"
        config = SweepConfig.from_dict({
            "experiment": {"train_path": str(train), "test_path": str(test), "embeddings": args.embeddings,
                           "max_epochs": args.epochs, "batch_size": 16, "validation_split": 0.1,
                           "tracking_uri": uri, "experiment_name": "bench"},
            "study_name": "bench", "n_trials": args.trials, "sampler": "random", "pruner": "none",
            "output_dir": f"{tmp}/out", "enqueue": _points(args.trials, args.seed),
            "space": {"params.lr": {"low": 0.001, "high": 0.02, "log": True},
                      "params.lstmHidden": {"choices": [32, 64, 128]}, "dropout": {"low": 0.3, "high": 0.7}},
        })  # fmt: skip
        started = time.perf_counter()
        result = sweep(config, workers=workers, echo=print)
        wall = time.perf_counter() - started
        trials = optuna.load_study(study_name="bench", storage=storage_url(uri, "")).get_trials()
        seconds = [
            (t.datetime_complete - t.datetime_start).total_seconds() for t in trials if t.datetime_complete
        ]
        # the trial phase: from the first trial's start to the last one's end (start-up and embedding before
        # it, the champion's registration and test score after it)
        phase = (
            max(t.datetime_complete for t in trials) - min(t.datetime_start for t in trials)
        ).total_seconds()
    return {
        "workers": workers,
        "threads_per_worker": max(1, (os.cpu_count() or 1) // workers),
        "trials": len(trials),
        "wall_s": round(wall, 1),
        "trials_per_hour": round(len(trials) / wall * 3600, 1),
        "mean_trial_s": round(statistics.mean(seconds), 1),
        "trial_phase_s": round(phase, 1),
        "trial_phase_trials_per_hour": round(len(trials) / phase * 3600, 1),
        "best_validation_f1": round(float(result.best_value or 0), 4),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--data", type=Path, help="folder with eng.train and eng.testa (default: the bundled sample)"
    )
    parser.add_argument("--limit", type=int, default=2000, help="sentences of eng.train to use (with --data)")
    parser.add_argument("--trials", type=int, default=8)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--embeddings", default="all_minilm_l6_v2")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    cores = os.cpu_count() or 1
    with tempfile.TemporaryDirectory() as tmp:
        if args.data:
            train, test = _subset(args.data, args.limit, Path(tmp))
        else:
            train, test = SAMPLE / "train.conll", SAMPLE / "test.conll"
        rows = [run_scenario(cores, train, test, args), run_scenario(1, train, test, args)]
    ratio = rows[0]["trials_per_hour"] / rows[1]["trials_per_hour"]  # type: ignore[operator]
    phase_ratio = rows[0]["trial_phase_trials_per_hour"] / rows[1]["trial_phase_trials_per_hour"]  # type: ignore[operator]
    result = {
        "machine": {"cores": cores, "python": platform.python_version(), "platform": platform.platform()},
        "data": str(args.data or SAMPLE), "limit": args.limit if args.data else None, "trials": args.trials,
        "epochs": args.epochs, "embeddings": args.embeddings, "scenarios": rows,
        "throughput_ratio_workers_vs_threads": round(ratio, 2),
        "trial_phase_ratio_workers_vs_threads": round(phase_ratio, 2), "date": time.strftime("%Y-%m-%d"),
    }  # fmt: skip
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "sweep_workers.json").write_text(json.dumps(result, indent=1) + "\n")
    lines = [
        f"# Sweep throughput: {cores} one-thread workers vs 1 worker with {cores} threads",
        "",
        f"{args.trials} trials (the same points in both), {args.epochs} epochs each, {args.embeddings}, "
        f"data {'eng.train[:' + str(args.limit) + ']' if args.data else 'the bundled sample'}; "
        f"{result['date']}, {cores} cores. Wall time is the whole `sweep` call (start-up, embedding once, "
        "trials, champion registration and test score).",
        "",
        "| workers | threads each | trials | wall (s) | trials/hour | trial phase (s) | trials/hour in it "
        "| mean trial (s) | best validation F1 |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        lines.append(f"| {row['workers']} | {row['threads_per_worker']} | {row['trials']} | {row['wall_s']} | "
                     f"{row['trials_per_hour']} | {row['trial_phase_s']} | {row['trial_phase_trials_per_hour']} | "
                     f"{row['mean_trial_s']} | {row['best_validation_f1']} |")  # fmt: skip
    lines += ["", f"Throughput ratio ({cores} workers / 1 worker): **{ratio:.2f}x** for the whole command, "
              f"**{phase_ratio:.2f}x** in the trial phase. The best validation F1 differs between the two runs "
              "although the points are the same: one trains with 1 torch thread, the other with 2, and float "
              "sums taken in another order change the weights a little, which training amplifies; within one "
              "sweep every trial has the same thread count and the same validation split.", ""]  # fmt: skip
    (RESULTS / "sweep_workers.md").write_text("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    sys.exit(main())

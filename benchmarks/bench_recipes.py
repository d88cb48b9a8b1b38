"""NER recipes and their ablations on CoNLL-2003: each row a config file (plus overrides), several seeds.

Usage:
    python benchmarks/bench_recipes.py DATA_DIR --row NAME CONFIG [FIELD=VALUE ...] [--row ...]
                                       [--seeds 0 1 2] [--name recipes] [--out benchmarks/results]

DATA_DIR holds eng.train and eng.testa (CoNLL-2003, IOB1). Each run is one ``sparktag train --config CONFIG
--train DATA_DIR/eng.train --test DATA_DIR/eng.testa --random-seed SEED`` in a fresh process with its own
SQLite store, so ``whole_run_s`` is what a user waits for: Python and Spark start-up, reading, embedding,
training, saving, tagging and scoring eng.testa (the model is not logged to MLflow). A row's overrides are
passed on as ``sparktag train`` overrides (``params.lstmHidden=256``, ``embeddings_params.layers=[-2]``).
eng.train is the only training data; eng.testa is tagged and scored once, at the end.

Measured per run and reported per row (mean and spread over the seeds):
- ``testa_f1``: strict entity micro F1 (conlleval) of the final model on eng.testa;
- ``embedding_s``: from the start of the fit to the first epoch (the stages before NerDLApproach, embeddings
  included, and featurizing), and, once per benchmark in the same run, the bare encoder's forward pass over the
  same eng.train sentences (``benchmarks/bench_embeddings_stage.py``'s ``raw_forward``), their ratio beside it;
- ``epoch_s``: mean training time of an epoch; ``whole_run_s``: the command's wall time;
- ``serving_p50_ms``: the saved pipeline loaded as the MLflow pyfunc model (JVM-free, as ``mlflow models
  serve`` runs it), one-sentence ``predict`` calls over 200 eng.testa sentences, median.

Writes ``<name>.json`` (every run) and ``<name>.md`` (the table) to ``--out``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


def sparktag_command() -> list[str]:
    """The ``sparktag`` command of this interpreter's environment."""
    script = Path(sys.executable).with_name("sparktag")
    return [str(script)] if script.exists() else [sys.executable, "-m", "sparktag.cli.main"]


def run_once(data: Path, config: str, overrides: list[str], seed: int, scratch: Path) -> dict:
    """One ``sparktag train`` run; its scores and timings."""
    out = scratch / "out"
    command = [
        *sparktag_command(),
        "train",
        "--config",
        config,
        "--train",
        str(data / "eng.train"),
        "--test",
        str(data / "eng.testa"),
        "--random-seed",
        str(seed),
        "--output",
        str(out),
        "--tracking-uri",
        f"sqlite:///{scratch}/mlflow.db",
        "--experiment",
        "bench",
        "--no-log-model",
        *(f"--{item}" for item in overrides),
    ]
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True)
    whole = time.perf_counter() - started
    if done.returncode != 0:
        tail = (done.stdout + done.stderr)[-4000:]
        raise SystemExit(f"{shlex.join(command)} failed ({done.returncode}):\n{tail}")
    scores = json.loads((out / "scores.json").read_text(encoding="utf-8"))
    return {
        "seed": seed,
        "testa_f1": scores["final_entity_micro_f1"],
        "embedding_s": scores.get("embedding_time_s"),
        "epoch_s": scores.get("mean_epoch_time_s"),
        "fit_s": scores["fit_time_s"],
        "whole_run_s": whole,
        "serving_p50_ms": serving_p50_ms(out / "model" / "pipeline", data / "eng.testa"),
    }


def serving_p50_ms(pipeline: Path, testa: Path, n: int = 200) -> float:
    """Median ms of a one-sentence ``predict`` of the pyfunc model over ``n`` eng.testa sentences."""
    import pandas as pd

    from sparktag.tracking.pyfunc_model import SparktagModel
    from sparktag.training import CoNLL

    texts = CoNLL().read_arrow(str(testa)).column("text").to_pylist()[:n]
    model = SparktagModel.load(str(pipeline))
    for text in texts[:10]:
        model.predict(pd.DataFrame({"text": [text]}))
    times = []
    for text in texts:
        started = time.perf_counter()
        model.predict(pd.DataFrame({"text": [text]}))
        times.append(time.perf_counter() - started)
    return 1000 * statistics.median(times)


def bare_encoder_s(data: Path) -> tuple[int, float]:
    """Sentences of eng.train and the bare encoder's forward pass over them (2 torch threads), seconds."""
    import torch

    sys.path.insert(0, str(Path(__file__).parent))
    from bench_embeddings_stage import raw_forward

    from sparktag.embeddings.model_folders import resolve_pretrained
    from sparktag.training import CoNLL

    torch.set_num_threads(2)
    texts = CoNLL().read_arrow(str(data / "eng.train")).column("text").to_pylist()
    return len(texts), raw_forward(resolve_pretrained("all_minilm_l6_v2"), [t.split(" ") for t in texts])


def summary(runs: list[dict], key: str) -> tuple[float, float]:
    values = [r[key] for r in runs if r.get(key) is not None]
    if not values:
        return float("nan"), float("nan")
    return statistics.fmean(values), (statistics.stdev(values) if len(values) > 1 else 0.0)


def table(rows: list[dict], bare_s: float) -> str:
    lines = [
        "| row | testa F1 (mean ± sd) | per seed | embedding s (of bare encoder) | epoch s | whole run s "
        "| serving p50 ms |",
        "|---|---:|---|---:|---:|---:|---:|",
    ]
    for row in rows:
        runs = row["runs"]
        f1, f1_sd = summary(runs, "testa_f1")
        emb, _ = summary(runs, "embedding_s")
        epoch, _ = summary(runs, "epoch_s")
        whole, whole_sd = summary(runs, "whole_run_s")
        p50, _ = summary(runs, "serving_p50_ms")
        seeds = ", ".join(f"{r['testa_f1']:.4f}" for r in runs)
        lines.append(
            f"| {row['name']} | {f1:.4f} ± {f1_sd:.4f} | {seeds} | {emb:.1f} ({bare_s / emb:.2f}) | {epoch:.1f} "
            f"| {whole:.0f} ± {whole_sd:.0f} | {p50:.1f} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data_dir")
    parser.add_argument(
        "--row",
        nargs="+",
        action="append",
        required=True,
        metavar="NAME CONFIG [FIELD=VALUE ...]",
        help="a row: its name, a config file, and sparktag train overrides",
    )
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--name", default="recipes")
    parser.add_argument("--out", default="benchmarks/results")
    args = parser.parse_args()
    data = Path(args.data_dir)
    for spec in args.row:
        if len(spec) < 2 or not Path(spec[1]).is_file():
            parser.error(f"--row {' '.join(spec)}: give a name and an existing config file")

    n_sentences, bare_s = bare_encoder_s(data)
    print(f"bare encoder: {n_sentences} eng.train sentences in {bare_s:.1f}s", flush=True)
    rows = []
    for name, config, *overrides in args.row:
        runs = []
        for seed in args.seeds:
            with tempfile.TemporaryDirectory(prefix="sparktag-recipe-") as scratch:
                run = run_once(data, config, overrides, seed, Path(scratch))
            print(f"{name} seed {seed}: {json.dumps(run)}", flush=True)
            runs.append(run)
        rows.append({"name": name, "config": config, "overrides": overrides, "runs": runs})

    result = {
        "rows": rows,
        "bare_encoder": {"sentences": n_sentences, "seconds": bare_s},
        "seeds": args.seeds,
        "load_average_end": os.getloadavg(),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores",
    }
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / f"{args.name}.json").write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    body = table(rows, bare_s)
    rows_md = "\n".join(
        f"- **{r['name']}**: `{r['config']}` {' '.join(f'`{o}`' for o in r['overrides'])}" for r in rows
    )
    (out / f"{args.name}.md").write_text(
        f"# NER recipes on CoNLL-2003 (train: eng.train; scored: eng.testa), seeds {args.seeds}\n\n{body}\n\n"
        f"Bare encoder (MiniLM forward pass, 2 threads) over the {n_sentences} eng.train sentences: "
        f"{bare_s:.1f}s; embedding s is the fit's time to its first epoch, the bare/embedding ratio beside "
        f"it.\n\n{rows_md}\n\nMachine: {result['machine']}; 1-minute load average at the end: "
        f"{result['load_average_end'][0]:.1f}.\n",
        encoding="utf-8",
    )
    print(body)


if __name__ == "__main__":
    main()

"""Throughput of TransformerEncoder.embed against the raw forward pass it is built on.

    HF_HUB_OFFLINE=1 python benchmarks/bench_encoder.py /work/shared/data/conll2003 [--limit N] [--out DIR]

Reads the sentences of ``DATA_DIR/eng.testa`` and measures, in interleaved rounds (the best round counts,
so a busy machine hurts both sides alike; throughput by CPU time, ``sentences / (cpu_s / threads)``, is
reported too, as it is much less sensitive to other processes):

- ``raw``: a plain ``AutoModel`` forward pass over pre-tokenized, length-sorted batches of 32 sentences:
  the physical ceiling, with no tokenization, alignment or pooling;
- ``raw_b8``: the same with batches of 8 (Spark NLP's default ``batchSize`` taken literally);
- ``raw_embed_batches``: the same with ``embed``'s batches (at most ``8 * 128`` padded wordpieces each), so
  ``embed`` against it is the cost of tokenization, alignment and pooling alone;
- ``embed``: ``TransformerEncoder.embed`` end to end (tokenization, windows, batching, pooling) with the
  default ``EncoderConfig`` and with mean pooling.

Writes ``bench_encoder.json`` and ``bench_encoder.md`` to ``--out`` and prints the table.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


def read_sentences(path: Path, limit: int | None) -> list[list[str]]:
    """First column of each non-empty, non ``-DOCSTART-`` line; a blank line ends a sentence."""
    sentences: list[list[str]] = []
    current: list[str] = []
    with path.open(encoding="utf-8") as f:
        for line in f:
            fields = line.split()
            if not fields:
                if current:
                    sentences.append(current)
                    current = []
                continue
            if fields[0] != "-DOCSTART-":
                current.append(fields[0])
    if current:
        sentences.append(current)
    return sentences[:limit] if limit else sentences


def rss_mb() -> float:
    """Current resident set size in MB (Linux)."""
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KB on Linux


def raw_forward(
    model: Any, tokenizer: Any, sentences: list[list[str]], batch_size: int, max_tokens: int | None = None
) -> Callable[[], None]:
    """A closure running the plain forward pass over length-sorted, pre-tokenized batches.

    Batches hold ``batch_size`` sentences, or with ``max_tokens`` as many as fit in ``max_tokens`` padded
    wordpieces (how ``TransformerEncoder.embed`` batches).
    """
    import torch

    ids = tokenizer(sentences, is_split_into_words=True, truncation=True, max_length=128)["input_ids"]
    ids.sort(key=len)
    groups: list[list[list[int]]] = []
    if max_tokens is None:
        groups = [ids[start : start + batch_size] for start in range(0, len(ids), batch_size)]
    else:
        for row in ids:
            if groups and (len(groups[-1]) + 1) * len(row) <= max_tokens:
                groups[-1].append(row)
            else:
                groups.append([row])
    batches = []
    for rows in groups:
        width = len(rows[-1])
        input_ids = torch.zeros(len(rows), width, dtype=torch.long)
        mask = torch.zeros(len(rows), width, dtype=torch.long)
        for r, row in enumerate(rows):
            input_ids[r, : len(row)] = torch.tensor(row)
            mask[r, : len(row)] = 1
        batches.append((input_ids, mask))

    def run() -> None:
        with torch.inference_mode():
            for input_ids, mask in batches:
                model(input_ids=input_ids, attention_mask=mask)

    return run


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("data_dir", type=Path, help="folder with eng.testa (CoNLL 2003)")
    parser.add_argument("--limit", type=int, default=None, help="use only the first N sentences")
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results"))
    parser.add_argument("--model", default="all_minilm_l6_v2", help="a pretrained name or a model folder")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv)

    import torch

    from sparktag.embeddings.model_folders import resolve_pretrained
    from sparktag.embeddings.transformer import EncoderConfig, TransformerEncoder

    torch.set_num_threads(args.threads)
    sentences = read_sentences(args.data_dir / "eng.testa", args.limit)
    n_words = sum(map(len, sentences))
    model_dir = args.model if Path(args.model).is_dir() else resolve_pretrained(args.model)
    rss_start = rss_mb()

    encoder = TransformerEncoder.from_folder(model_dir)
    rss_encoder = rss_mb()
    from transformers import AutoModel, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(model_dir, local_files_only=True)
    model = AutoModel.from_pretrained(model_dir, local_files_only=True, dtype=torch.float32).eval()
    runs: dict[str, Callable[[], object]] = {
        "raw": raw_forward(model, tokenizer, sentences, 32),
        "raw_b8": raw_forward(model, tokenizer, sentences, 8),
        "raw_embed_batches": raw_forward(model, tokenizer, sentences, 0, max_tokens=8 * 128),
        "embed": lambda: encoder.embed(sentences, EncoderConfig()),
        "embed_mean": lambda: encoder.embed(sentences, EncoderConfig(pooling="mean")),
    }
    encoder.embed(sentences[:64])  # warm up oneDNN kernels and allocator
    times: dict[str, list[float]] = {name: [] for name in runs}
    cpu_times: dict[str, list[float]] = {name: [] for name in runs}
    for _ in range(args.rounds):
        for name, run in runs.items():
            start, cpu_start = time.perf_counter(), time.process_time()
            run()
            times[name].append(time.perf_counter() - start)
            cpu_times[name].append(time.process_time() - cpu_start)

    results = {
        name: {
            "best_s": min(ts),
            "median_s": statistics.median(ts),
            "sentences_per_s": len(sentences) / min(ts),
            "sentences_per_s_median": len(sentences) / statistics.median(ts),
            # CPU seconds spread over the threads: what wall time would be on an otherwise idle machine
            "cpu_s_best": min(cpu_times[name]),
            "sentences_per_s_cpu": len(sentences) / (min(cpu_times[name]) / args.threads),
        }
        for name, ts in times.items()
    }
    for name in ("embed", "embed_mean"):
        for key in ("sentences_per_s", "sentences_per_s_cpu"):
            results[name][f"{key}_of_raw"] = results[name][key] / results["raw"][key]
            results[name][f"{key}_of_raw_embed_batches"] = (
                results[name][key] / results["raw_embed_batches"][key]
            )
    report = {
        "model": model_dir,
        "dimension": encoder.dimension,
        "sentences": len(sentences),
        "words": n_words,
        "threads": args.threads,
        "rounds": args.rounds,
        "load_avg_1m": os.getloadavg()[0],
        "rss_mb": {"start": rss_start, "encoder_loaded": rss_encoder, "peak": peak_rss_mb()},
        "results": results,
        "python": sys.version.split()[0],
        "torch": torch.__version__,
        "machine": platform.machine(),
    }

    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "bench_encoder.json").write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    lines = [
        f"# Encoder throughput: {Path(model_dir).name}, {len(sentences)} sentences ({n_words} words), "
        f"{args.threads} threads, best of {args.rounds}",
        "",
        "| run | sentences/s wall (best) | wall (median) | of raw | of raw_embed_batches "
        "| sentences/s by CPU time | of raw | of raw_embed_batches |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]

    def percent(r: dict[str, float], key: str) -> str:
        return f"{r[key]:.0%}" if key in r else ""

    for name, r in results.items():
        lines.append(
            f"| {name} | {r['sentences_per_s']:.0f} | {r['sentences_per_s_median']:.0f} "
            f"| {percent(r, 'sentences_per_s_of_raw')} | {percent(r, 'sentences_per_s_of_raw_embed_batches')} "
            f"| {r['sentences_per_s_cpu']:.0f} | {percent(r, 'sentences_per_s_cpu_of_raw')} "
            f"| {percent(r, 'sentences_per_s_cpu_of_raw_embed_batches')} |"
        )
    lines += [
        "",
        f"Peak RSS {report['rss_mb']['peak']:.0f} MB (encoder loaded: {rss_encoder:.0f} MB; "
        f"start {rss_start:.0f} MB); 1-minute load average at the end: {report['load_avg_1m']:.1f}.",
    ]
    (args.out / "bench_encoder.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

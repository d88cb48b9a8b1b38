"""NerDLApproach on 1 vs 2 workers (setNumWorkers) on this machine, and what 8 and 32 workers would give.

Measures, with MiniLM-sized features (384-dim vectors from a 1-layer random BERT of hidden 384: the demo's
MiniLM dims; the NER network is the default one, so the all-reduce payload is the demo's):

* time per epoch: single-process training on the driver, and 2 ranks (TorchDistributor, local[2]);
* the all-reduce per step: payload bytes (every gradient + the loss, float32) and time, both inside training
  (rank 0's wait in all_reduce, which includes waiting for the slower rank) and alone (2 gloo processes
  all-reducing the same payload 200 times: the pure communication cost on loopback);
* a projection for N workers training batches of 8N sentences (8 per worker on average; ``batchSize`` is the
  step's batch, split over the workers by where its sentences lie, so the shares are uneven): a step costs the
  largest share's compute plus the all-reduce, t_allreduce(N) = 2(N-1)/N * bytes / bandwidth + 2(N-1) * latency
  (ring all-reduce); the largest share is simulated with the sparktag batch plan over eng.train's size, and
  speed-up(N) = sentences per second on N workers / on one.

    python benchmarks/bench_distributed.py            # writes benchmarks/results/distributed.{json,md}

Not a test: numbers depend on the machine (this one has 2 cores shared with other jobs: expect no speed-up).
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "src" / "sparktag" / "data" / "sample"
RESULTS = ROOT / "benchmarks" / "results"
sys.path.insert(
    0, str(ROOT / "tests")
)  # tiny_bert: the tiny random BERT builder is a test helper, not in the package

# Assumed network for the projection: 10 Gbit/s Ethernet, the usual NIC of mid-size cloud VMs (AWS m5/m6i
# 4xlarge "up to 10 Gbps", GCP n2 standard 10-16 Gbps); gloo over TCP reaches ~80% of it. Per-message
# latency of a TCP hop inside one datacenter zone: ~50-100 us; 100 us taken.
BANDWIDTH_BYTES_S = 0.8 * 10e9 / 8
LATENCY_S = 100e-6


def _allreduce_worker(rank: int, world: int, port: int, numel: int, reps: int, out: str) -> None:
    import torch
    import torch.distributed as dist

    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    torch.set_num_threads(1)
    dist.init_process_group("gloo", rank=rank, world_size=world)
    buf = torch.ones(numel)
    for _ in range(10):
        dist.all_reduce(buf)
    dist.barrier()
    start = time.perf_counter()
    for _ in range(reps):
        dist.all_reduce(buf)
    elapsed = (time.perf_counter() - start) / reps
    if rank == 0:
        Path(out).write_text(json.dumps({"allreduce_s": elapsed}))
    dist.destroy_process_group()


def allreduce_alone(numel: int, reps: int = 200) -> float:
    """Seconds per all-reduce of ``numel`` float32 between 2 gloo processes on this machine."""
    import socket

    import torch.multiprocessing as mp

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "out.json")
        mp.spawn(_allreduce_worker, args=(2, port, numel, reps, out), nprocs=2, join=True)
        return float(json.loads(Path(out).read_text())["allreduce_s"])


def largest_share(n: int, batch: int, sentences: int = 14041, epochs: int = 3) -> float:
    """Mean over steps of the most sentences any of ``n`` workers holds of a ``batch``: the data cut into n
    contiguous ranges, batches cut as training cuts them (``length_batches``; the lengths do not change who
    holds what, so equal lengths here)."""
    import numpy as np

    from sparktag.ner.data import length_batches

    rng = np.random.default_rng(0)
    bounds = np.array([r * sentences // n for r in range(n + 1)])
    most = []
    for _ in range(epochs):
        for members in length_batches([1] * sentences, batch, rng):
            owners = np.searchsorted(bounds, np.asarray(members), side="right") - 1
            most.append(np.bincount(owners, minlength=n).max())
    return float(np.mean(most))


def project(t_sentence: float, payload: int, n: int, bandwidth: float, latency: float) -> dict[str, float]:
    """One step of 8n sentences on n workers against 8n sentences on one process (8 a step)."""
    t_ar = 2 * (n - 1) / n * payload / bandwidth + 2 * (n - 1) * latency
    most = largest_share(n, 8 * n)
    step = most * t_sentence + t_ar
    return {
        "workers": n,
        "batch": 8 * n,
        "largest_share": most,
        "allreduce_ms": 1000 * t_ar,
        "step_ms": 1000 * step,
        "speedup": 8 * n * t_sentence / step,
        "efficiency": 8 * t_sentence / step,
    }


def main() -> None:
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    epochs = int(os.environ.get("BENCH_EPOCHS", "3"))
    from pyspark.ml import Pipeline

    import sparktag
    from sparktag.annotator import BertEmbeddings, NerDLApproach, SentenceDetector, Tokenizer
    from sparktag.base import DocumentAssembler
    from sparktag.training import CoNLL

    from tiny_bert import conll_words, save_tiny_bert

    spark = sparktag.start(master="local[2]", driver_memory="2g")
    spark.sparkContext.setLogLevel("ERROR")
    with tempfile.TemporaryDirectory() as tmp:
        bert = save_tiny_bert(Path(tmp) / "bert", conll_words(SAMPLE / "train.conll"), hidden_size=384)
        stages = [
            DocumentAssembler().setInputCol("text").setOutputCol("document"),
            SentenceDetector().setInputCols(["document"]).setOutputCol("sentence"),
            Tokenizer().setInputCols(["sentence"]).setOutputCol("token"),
            BertEmbeddings.loadSavedModel(str(bert))
            .setInputCols("sentence", "token")
            .setOutputCol("embeddings"),
        ]
        train = CoNLL().readDataset(spark, str(SAMPLE / "train.conll"))
        data = Pipeline(stages=stages).fit(train).transform(train).cache()
        sentences = data.count()

        runs = {}
        for workers in (1, 2):
            ner = (
                NerDLApproach()
                .setInputCols(["sentence", "token", "embeddings"])
                .setLabelColumn("label")
                .setMaxEpochs(epochs)
                .setBatchSize(8)
                .setRandomSeed(7)
                .setVerbose(4)
                .setNumWorkers(workers)
            )
            start = time.perf_counter()
            model = ner.fit(data)
            wall = time.perf_counter() - start
            history = model.training_result.history
            per_epoch = [e.elapsed_s for e in history]
            run = {
                "workers": workers,
                "fit_wall_s": wall,
                "epoch_s": per_epoch,
                "epoch_s_median": statistics.median(per_epoch),
                "steps_per_epoch": history[0].batches,
            }
            if workers > 1:
                fit = ner.last_distributed_fit
                run.update(
                    comm_ms_per_step=1000 * fit.comm_s / fit.steps,
                    bytes_per_step=fit.bytes_per_step,
                    rows_per_rank=fit.rows_per_rank,
                )
            runs[workers] = run
        params = sum(p.numel() for p in model.training_result.model.parameters())
    spark.stop()

    payload = runs[2]["bytes_per_step"]
    alone = allreduce_alone(payload // 4)
    single = runs[1]
    t_compute = (
        single["epoch_s_median"] / single["steps_per_epoch"]
    )  # one batch of 8: forward, backward, Adam
    projection = [project(t_compute / 8, payload, n, BANDWIDTH_BYTES_S, LATENCY_S) for n in (2, 8, 32)]
    result = {
        "machine": {
            "cpus": os.cpu_count(),
            "python": sys.version.split()[0],
            "platform": platform.platform(),
        },
        "setup": {
            "sentences": sentences,
            "embedding_dim": 384,
            "batch_size": 8,
            "epochs": epochs,
            "parameters": params,
        },
        "runs": list(runs.values()),
        "allreduce_alone_ms": 1000 * alone,
        "loopback_bandwidth_mb_s": payload / alone / 1e6,
        "compute_ms_per_step": 1000 * t_compute,
        "assumed": {"bandwidth_bytes_s": BANDWIDTH_BYTES_S, "latency_s": LATENCY_S},
        "projection": projection,
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "distributed.json").write_text(json.dumps(result, indent=2) + "\n")
    two = runs[2]
    lines = [
        "# NerDLApproach on several workers (setNumWorkers)",
        "",
        f"Sample train set ({sentences} rows), 384-dim vectors (MiniLM's width), default network "
        f"({params:,} parameters), batch 8 (split over the workers), {epochs} epochs, local[2] on a "
        f"{os.cpu_count()}-core machine shared with other jobs.",
        "",
        "| workers | epoch (median) | steps/epoch | fit wall (Spark included) |",
        "|---|---|---|---|",
        *(
            f"| {r['workers']} | {r['epoch_s_median']:.2f} s | {r['steps_per_epoch']} | {r['fit_wall_s']:.0f} s |"
            for r in runs.values()
        ),
        "",
        f"All-reduce payload: {payload:,} bytes per step (every gradient + the loss, float32). Rank 0 spent "
        f"{two['comm_ms_per_step']:.1f} ms per step in all_reduce during training (waiting for the other rank "
        f"included); alone, 2 gloo processes all-reduce it in {1000 * alone:.2f} ms "
        f"({payload / alone / 1e6:.0f} MB/s on loopback). Compute per step (1 worker): "
        f"{1000 * t_compute:.1f} ms.",
        "",
        "Projection for N workers with batchSize 8N (8 sentences per worker on average). A step's sentences are "
        "trained where they lie, so shares are uneven and the step waits for the largest (simulated with the "
        "batch plan over eng.train's 14,041 sentences); ring all-reduce over 10 Gbit/s Ethernet (80% usable), "
        "100 us per hop: step = largest share x compute per sentence + 2(N-1)/N x bytes / bandwidth + "
        "2(N-1) x latency; speed-up = sentences/s on N workers / on one process at batch 8.",
        "",
        "| workers | batch | largest share (mean) | all-reduce | step | speed-up | efficiency |",
        "|---|---|---|---|---|---|---|",
        *(
            f"| {p['workers']} | {p['batch']} | {p['largest_share']:.1f} | {p['allreduce_ms']:.2f} ms | "
            f"{p['step_ms']:.1f} ms | {p['speedup']:.1f}x | {100 * p['efficiency']:.0f}% |"
            for p in projection
        ),
        "",
    ]
    (RESULTS / "distributed.md").write_text("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()

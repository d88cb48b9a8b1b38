"""Consecutive sparktag stages fuse into one mapInArrow: same rows and metadata, fewer Python operators."""

from __future__ import annotations

import pytest
from pyspark.ml import Pipeline
from pyspark.sql import functions as sf

from sparktag.annotator import SentenceDetector, Tokenizer
from sparktag.base import DocumentAssembler

pytestmark = pytest.mark.spark

ORDER = "first_begin"

TEXTS = [
    "Maria Lopez joined Northwind Bank in Lisbon. She starts on Monday!",
    "",
    "Dr. Smith paid $3.50 for the U.S. edition. Zoë visited São Paulo.",
]


def python_operators(df) -> int:
    """MapInArrow operators in the DataFrame's physical plan."""
    return df._jdf.queryExecution().executedPlan().toString().count("MapInArrow")


@pytest.fixture(scope="module")
def model_and_input(spark):
    df = spark.createDataFrame([(i, t) for i, t in enumerate(TEXTS)], "id int, text string")
    pipeline = Pipeline(
        stages=[
            DocumentAssembler(),
            SentenceDetector(inputCols=["document"], outputCol="sentence", explodeSentences=True),
            Tokenizer(inputCols=["sentence"], outputCol="token"),
        ]
    )
    return pipeline.fit(df), df


def unfused(model, df):
    for stage in model.stages:
        df = stage.transform(df).select("*")  # a new DataFrame the next stage cannot extend
    return df


def test_consecutive_stages_run_as_one_python_operator(model_and_input):
    model, df = model_and_input
    fused = model.transform(df)
    separate = unfused(model, df)
    assert python_operators(fused) == 1
    assert python_operators(separate) == 3
    # the same rows (explodeSentences multiplies them inside the chain) and the same column metadata
    assert (
        fused.withColumn(ORDER, sf.col("sentence")[0]["begin"]).orderBy("id", ORDER).collect()
        == separate.withColumn(ORDER, sf.col("sentence")[0]["begin"]).orderBy("id", ORDER).collect()
    )
    assert fused.count() == 4  # two sentences, no row for "", two sentences
    for col in ("document", "sentence", "token"):
        assert fused.schema[col].metadata == separate.schema[col].metadata
    assert fused.schema["token"].metadata["annotatorType"] == "token"


def test_a_cached_dataframe_is_not_fused_through(model_and_input, spark):
    model, df = model_and_input
    documents = model.stages[0].transform(df).cache()
    try:
        tokens = model.stages[2].transform(model.stages[1].transform(documents))
        assert python_operators(tokens) == 2  # sentence + token; the documents come from the cache
        assert "InMemoryTableScan" in tokens._jdf.queryExecution().executedPlan().toString()
        assert (
            tokens.withColumn(ORDER, sf.col("sentence")[0]["begin"]).orderBy("id", ORDER).collect()
            == unfused(model, df)
            .withColumn(ORDER, sf.col("sentence")[0]["begin"])
            .orderBy("id", ORDER)
            .collect()
        )
    finally:
        documents.unpersist()


def test_a_stage_reads_columns_its_chain_made(model_and_input):
    """An intermediate DataFrame stays usable on its own, and a later stage can still read it."""
    model, df = model_and_input
    documents = model.stages[0].transform(df)
    sentences = model.stages[1].transform(documents)
    assert documents.count() == 3
    assert python_operators(documents) == 1 and python_operators(sentences) == 1
    assert sentences.select("sentence.result").count() == 4

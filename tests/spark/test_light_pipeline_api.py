"""LightPipeline's Spark NLP API: setIgnoreUnsupported, fullAnnotate(target, optional_target), annotate with
parse_embeddings, fullAnnotateImage."""

from __future__ import annotations

import warnings

import pytest
from pyspark.ml import Pipeline, PipelineModel
from pyspark.ml.feature import SQLTransformer

from sparktag.annotator import WordEmbeddings
from sparktag.base import LightPipeline

from pipelines import text_stages

pytestmark = pytest.mark.spark

TEXT = "Maria flew to Lisbon."


@pytest.fixture(scope="module")
def model(spark):
    df = spark.createDataFrame([(TEXT,)], "text string")
    return Pipeline(stages=text_stages()).fit(df)


def test_unsupported_stages_raise_unless_ignored(model, spark):
    sql = SQLTransformer(statement="SELECT *, length(text) AS n FROM __THIS__")
    mixed = PipelineModel(stages=[*model.stages[:2], sql, model.stages[2]])
    light = LightPipeline(mixed)  # Spark NLP's constructor: the model and parse_embeddings only
    assert light.getIgnoreUnsupported() is False
    with pytest.raises(TypeError, match=r"stage 2 \(SQLTransformer\) .* call setIgnoreUnsupported\(True\)"):
        light.annotate(TEXT)
    assert light.setIgnoreUnsupported(True) is light and light.getIgnoreUnsupported()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        first = light.annotate(TEXT)
        light.annotate(TEXT)
    assert [str(w.message) for w in caught] == [
        "LightPipeline skips the stages it cannot run: 2 (SQLTransformer) (setIgnoreUnsupported(True))"
    ]
    assert first == LightPipeline(model).annotate(TEXT)
    # the Spark path still runs every stage
    row = light.transform(spark.createDataFrame([(TEXT,)], "text string")).first()
    assert row["n"] == len(TEXT)


def test_full_annotate_takes_spark_nlps_arguments(model):
    light = LightPipeline(pipelineModel=model)
    one = light.fullAnnotate(TEXT)
    assert light.fullAnnotate(TEXT, "") == one == light.fullAnnotate([TEXT])
    assert [a.result for a in one[0]["token"]] == ["Maria", "flew", "to", "Lisbon", "."]
    assert light.annotate(TEXT, "") == light.annotate([TEXT])[0]
    with pytest.raises(ValueError, match=r"optional_target is the second input of .* question-answering"):
        light.fullAnnotate("Who flew?", TEXT)
    with pytest.raises(ValueError, match="optional_target"):
        light.annotate(["Who flew?"], [TEXT])
    with pytest.raises(TypeError, match="looks like audio samples"):
        light.fullAnnotate([0.1, 0.2, 0.3])
    with pytest.raises(TypeError, match="target must be a str or a list of str; got int"):
        light.fullAnnotate(3)  # type: ignore[arg-type]


def test_full_annotate_image_says_there_is_no_image_support(model):
    with pytest.raises(NotImplementedError, match=r"fullAnnotateImage: sparktag annotates text only"):
        LightPipeline(model).fullAnnotateImage("cat.jpg")


def test_annotate_with_parse_embeddings_gives_vectors_as_spark_nlp(model, spark, tmp_path):
    glove = tmp_path / "tiny.txt"
    glove.write_text("maria 0.5 -1 0.0001\n", encoding="utf-8")
    embeddings = WordEmbeddings().setStoragePath(str(glove), "TEXT").setInputCols("sentence", "token")
    embeddings = embeddings.setOutputCol("embeddings").fit(spark.createDataFrame([("x",)], "text string"))
    stages = [*model.stages, embeddings]
    assert LightPipeline(stages).annotate(TEXT)["embeddings"][0] == "Maria"
    parsed = LightPipeline(stages, parse_embeddings=True).annotate(TEXT)["embeddings"]
    assert parsed[0] == "0.5 -1.0 1.0E-4" and parsed[1] == "0.0 0.0 0.0"

"""Finisher and EmbeddingsFinisher on a real local Spark: Spark NLP's params, defaults, column names and types,
and the same values through LightPipeline."""

from __future__ import annotations

import numpy as np
import pytest
from pyspark.ml import Pipeline, PipelineModel
from pyspark.ml.linalg import DenseVector, VectorUDT
from pyspark.sql.types import ArrayType, FloatType, MapType, StringType

from sparktag.base import EmbeddingsFinisher, Finisher, LightPipeline

import pipelines
from pipelines import text_stages

pytestmark = pytest.mark.spark

TEXTS = ["Maria flew to Lisbon. She stayed.", "", "lisbon maria"]
VECTORS = {"maria": [0.5, -1.0, 2.0], "lisbon": [1.5, 0.25, -0.000125], ".": [0.1, 1e8, 0.0]}


@pytest.fixture(scope="module")
def annotated(spark, tmp_path_factory):
    """The fitted annotation stages (document, sentence, token, embeddings) and the texts' DataFrame."""
    glove = tmp_path_factory.mktemp("glove") / "tiny.txt"
    glove.write_text("".join(f"{w} {' '.join(map(str, v))}\n" for w, v in VECTORS.items()), encoding="utf-8")
    df = spark.createDataFrame([(t,) for t in TEXTS], "text string")
    model = Pipeline(stages=[*text_stages(), pipelines.glove(glove)]).fit(df)
    return model, df


def run_both(annotated, *finishers):
    """Spark rows (only the finished columns) and LightPipeline.finish rows, plus the Spark output schema."""
    model, df = annotated
    full = PipelineModel(stages=[*model.stages, *finishers])
    out = full.transform(df)
    light = LightPipeline(full).finish(TEXTS)
    cols = [c for f in finishers for c in f.getOutputCols()]
    cols += [c + "_metadata" for f in finishers if isinstance(f, Finisher) for c in f.getOutputCols()]
    cols = [c for c in cols if c in out.columns]
    spark_rows = [{c: row[c] for c in cols} for row in out.collect()]
    return spark_rows, light, out.schema


def test_defaults_are_spark_nlps(annotated):
    finisher = Finisher().setInputCols(["token", "sentence"])
    assert finisher.getOutputCols() == ["finished_token", "finished_sentence"]
    assert finisher.getOutputAsArray() and finisher.getCleanAnnotations()
    assert not finisher.getIncludeMetadata() and not finisher.getParseEmbeddingsVectors()
    assert (finisher.getValueSplitSymbol(), finisher.getAnnotationSplitSymbol()) == ("#", "@")
    spark_rows, light, schema = run_both(annotated, finisher)
    # every annotation column is dropped; the finished ones are array<string>
    assert schema.names == ["text", "finished_token", "finished_sentence"]
    assert schema["finished_token"].dataType == ArrayType(StringType(), True)
    assert spark_rows == light
    assert spark_rows[0]["finished_token"] == ["Maria", "flew", "to", "Lisbon", ".", "She", "stayed", "."]
    assert spark_rows[0]["finished_sentence"] == ["Maria flew to Lisbon.", "She stayed."]
    assert spark_rows[1] == {"finished_token": [], "finished_sentence": []}
    e = EmbeddingsFinisher().setInputCols("embeddings")
    assert e.getOutputCols() == ["finished_embeddings"]
    assert not e.getOutputAsVector() and not e.getCleanAnnotations()  # Spark NLP's Python defaults


def test_light_pipeline_keeps_the_finishers_inputs_as_spark_nlp_does(annotated):
    model, _ = annotated
    light = LightPipeline(PipelineModel(stages=[*model.stages, Finisher().setInputCols(["token"])]))
    assert light.annotate(TEXTS[0]) == {"token": ["Maria", "flew", "to", "Lisbon", ".", "She", "stayed", "."]}
    assert list(light.fullAnnotate(TEXTS[0])[0]) == ["token"]
    assert set(LightPipeline(model).annotate(TEXTS[0])) == {"document", "sentence", "token", "embeddings"}


def test_string_output_with_and_without_metadata(annotated):
    plain = Finisher().setInputCols(["token"]).setOutputAsArray(False).setOutputCols(["tokens"])
    plain.setCleanAnnotations(False)  # else the next finisher finds no annotation column (as in Spark NLP)
    detailed = (
        Finisher()
        .setInputCols(["sentence"])
        .setOutputAsArray(False)
        .setIncludeMetadata(True)
        .setAnnotationSplitSymbol(" | ")
        .setValueSplitSymbol(";")
        .setCleanAnnotations(False)
    )
    spark_rows, light, schema = run_both(annotated, plain, detailed)
    assert spark_rows == light
    assert schema["tokens"].dataType == StringType()
    assert spark_rows[0]["tokens"] == "Maria@flew@to@Lisbon@.@She@stayed@."
    assert spark_rows[0]["finished_sentence"] == (
        "sentence->0;result->Maria flew to Lisbon. | sentence->1;result->She stayed."
    )
    assert spark_rows[1] == {"tokens": "", "finished_sentence": ""}


def test_clean_annotations_false_keeps_the_annotation_columns_and_their_type(annotated):
    finisher = Finisher().setInputCols(["token"]).setCleanAnnotations(False)
    _, _, schema = run_both(annotated, finisher)
    assert schema.names == ["text", "document", "sentence", "token", "embeddings", "finished_token"]
    assert schema["token"].metadata == {"annotatorType": "token"}
    # an output named like an input replaces it in place, as a plain column
    in_place = Finisher().setInputCols(["token"]).setOutputCols(["token"]).setCleanAnnotations(False)
    spark_rows, light, schema = run_both(annotated, in_place)
    assert schema.names == ["text", "document", "sentence", "token", "embeddings"]
    assert schema["token"].dataType == ArrayType(StringType(), True) and schema["token"].metadata == {}
    assert spark_rows == light and spark_rows[2] == {"token": ["lisbon", "maria"]}


def test_array_output_with_metadata_adds_a_metadata_map(annotated):
    finisher = Finisher().setInputCols(["embeddings"]).setIncludeMetadata(True)
    spark_rows, light, schema = run_both(annotated, finisher)
    assert spark_rows == light
    assert schema["finished_embeddings_metadata"].dataType == MapType(StringType(), StringType(), True)
    # the row's annotations' metadata merged, later ones winning (Spark NLP 6 on Spark 4)
    assert spark_rows[2]["finished_embeddings_metadata"] == {
        "sentence": "0",
        "token": "maria",
        "isOOV": "false",
        "isWordStart": "true",
    }
    assert spark_rows[2]["finished_embeddings"] == ["lisbon", "maria"]


def test_parse_embeddings_vectors_writes_the_vectors_as_java_does(annotated):
    arrays = (
        Finisher().setInputCols(["embeddings"]).setParseEmbeddingsVectors(True).setCleanAnnotations(False)
    )
    strings = (
        Finisher()
        .setInputCols(["embeddings"])
        .setOutputCols(["joined"])
        .setOutputAsArray(False)
        .setParseEmbeddingsVectors(True)
    )
    spark_rows, light, _ = run_both(annotated, arrays, strings)
    assert spark_rows == light
    assert spark_rows[2]["finished_embeddings"] == ["1.5 0.25 -1.25E-4", "0.5 -1.0 2.0"]
    assert spark_rows[2]["joined"] == "1.5#0.25#-1.25E-4@0.5#-1.0#2.0"
    # a token without a vector (OOV) has a zero vector
    assert spark_rows[0]["finished_embeddings"][1] == "0.0 0.0 0.0"


def test_embeddings_finisher_arrays_and_vectors(annotated):
    arrays = EmbeddingsFinisher().setInputCols("embeddings")
    spark_rows, light, schema = run_both(annotated, arrays)
    assert schema["finished_embeddings"].dataType == ArrayType(ArrayType(FloatType(), False), True)
    assert "embeddings" in schema.names  # cleanAnnotations is False by default
    assert spark_rows == light
    assert spark_rows[2]["finished_embeddings"][1] == [0.5, -1.0, 2.0]
    assert spark_rows[0]["finished_embeddings"][4] == pytest.approx([0.1, 1e8, 0.0], rel=1e-7)

    vectors = EmbeddingsFinisher().setInputCols("embeddings").setOutputCols("vec").setOutputAsVector(True)
    vectors.setCleanAnnotations(True)
    spark_rows, light, schema = run_both(annotated, vectors)
    assert schema.names == ["text", "vec"]
    assert isinstance(schema["vec"].dataType.elementType, VectorUDT)
    assert spark_rows == light
    assert spark_rows[2]["vec"][0] == DenseVector(np.float32([1.5, 0.25, -0.000125]).astype(np.float64))


def test_spark_and_light_agree_after_a_save_and_load(annotated, tmp_path):
    model, df = annotated
    stages = [
        *model.stages,
        Finisher().setInputCols(["token"]).setIncludeMetadata(True).setCleanAnnotations(False),
        EmbeddingsFinisher().setInputCols(["embeddings"]).setOutputAsVector(True),
    ]
    PipelineModel(stages=stages).write().overwrite().save(str(tmp_path / "p"))
    loaded = PipelineModel.load(str(tmp_path / "p"))
    rows = (
        loaded.transform(df)
        .select("finished_token", "finished_token_metadata", "finished_embeddings")
        .collect()
    )
    light = LightPipeline.load(str(tmp_path / "p")).finish(TEXTS)
    assert [r.asDict() for r in rows] == light
    assert LightPipeline.load(str(tmp_path / "p")).finish(TEXTS[0]) == light[0]


def test_bad_input_is_named(annotated, spark):
    model, df = annotated
    out = model.transform(df)
    with pytest.raises(ValueError, match=r"inputCols has 2 columns .* outputCols has 1"):
        Finisher().setInputCols(["token", "sentence"]).setOutputCols(["x"]).transform(out)
    with pytest.raises(ValueError, match=r"column 'text' is not an annotation column"):
        Finisher().setInputCols(["text"]).transform(out)
    with pytest.raises(ValueError, match=r"input column 'tokens' is not in the DataFrame"):
        Finisher().setInputCols(["tokens"]).transform(out)
    with pytest.raises(ValueError, match=r"column 'token' holds 'token' annotations; it finishes embeddings"):
        EmbeddingsFinisher().setInputCols(["token"]).transform(out)
    with pytest.raises(ValueError, match="has no Finisher or EmbeddingsFinisher"):
        LightPipeline(model).finish("x")
    assert Finisher(inputCols=["token"], outputAsArray=False).getOutputAsArray() is False
    with pytest.raises(TypeError, match="unexpected keyword argument 'outputAsVector'"):
        Finisher(outputAsVector=True)  # type: ignore[call-arg]


def test_the_finisher_runs_in_the_same_python_worker_as_the_stages_before_it(annotated):
    model, df = annotated
    finisher = Finisher().setInputCols(["token"]).setCleanAnnotations(False)
    fused = PipelineModel(stages=[*model.stages, finisher]).transform(df)
    plan = fused._jdf.queryExecution().executedPlan().toString()
    assert plan.count("MapInArrow") == 1, plan
    assert fused.schema["token"].metadata == {"annotatorType": "token"}
    # a cached input is read as cached: the finisher then runs on its own, with the same values
    cached = model.transform(df).cache()
    alone = finisher.transform(cached)
    assert alone.select("finished_token").collect() == fused.select("finished_token").collect()
    assert alone.schema["token"].metadata == {"annotatorType": "token"}
    cached.unpersist()

"""The text stages on a real local Spark: params, offsets, errors, persistence, and parity with LightPipeline."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest
from pyspark.ml import Pipeline, PipelineModel

from sparktag.annotation import Annotation, from_rows
from sparktag.annotator import SentenceDetector, Tokenizer, TokenizerModel
from sparktag.base import DocumentAssembler, LightPipeline

from pipelines import text_stages

pytestmark = pytest.mark.spark

TEXTS = [
    "Maria Lopez joined Northwind Bank in Lisbon. She starts on Monday!",
    "",
    "   ",
    "Dr. Smith paid $3.50 for the U.S. edition, didn't he?",
    "Zoë Ørsted visited São Paulo — and 東京 too. 😀 Great.",
    "word " * 400 + "end.",
    "Tabs\tand\nnew lines.\n\nSecond paragraph here.",
]


def text_pipeline() -> Pipeline:
    return Pipeline(stages=text_stages())


@pytest.fixture(scope="module")
def fitted(spark):
    df = spark.createDataFrame([(t,) for t in TEXTS], "text string")
    return text_pipeline().fit(df), df


def test_hand_checked_offsets(spark, fitted):
    model, _ = fitted
    row = model.transform(spark.createDataFrame([("Hi there. Bye now.",)], "text string")).first()
    assert from_rows(row["document"]) == [
        Annotation("document", 0, 17, "Hi there. Bye now.", {"sentence": "0"})
    ]
    sentences = from_rows(row["sentence"])
    assert [(s.begin, s.end, s.result, s.metadata["sentence"]) for s in sentences] == [
        (0, 8, "Hi there.", "0"),
        (10, 17, "Bye now.", "1"),
    ]
    tokens = from_rows(row["token"])
    assert [(t.begin, t.end, t.result, t.metadata["sentence"]) for t in tokens] == [
        (0, 1, "Hi", "0"),
        (3, 7, "there", "0"),
        (8, 8, ".", "0"),
        (10, 12, "Bye", "1"),
        (14, 16, "now", "1"),
        (17, 17, ".", "1"),
    ]


def test_column_metadata_carries_annotator_type(fitted):
    model, df = fitted
    out = model.transform(df)
    assert out.schema["document"].metadata == {"annotatorType": "document"}
    assert out.schema["sentence"].metadata == {"annotatorType": "document"}
    assert out.schema["token"].metadata == {"annotatorType": "token"}


def test_offsets_point_into_the_text(fitted):
    model, df = fitted
    for row in model.transform(df).collect():
        for col in ("document", "sentence", "token"):
            for a in from_rows(row[col]):
                assert row["text"][a.begin : a.end + 1] == a.result


def test_spark_and_light_pipeline_agree(fitted):
    model, df = fitted
    spark_rows = model.transform(df).collect()
    light = LightPipeline(model).fullAnnotate(TEXTS)
    assert len(light) == len(spark_rows)
    for row, annotated in zip(spark_rows, light, strict=True):
        for col in ("document", "sentence", "token"):
            assert from_rows(row[col]) == annotated[col], (row["text"], col)


def test_light_annotate_shapes(fitted):
    model, _ = fitted
    light = LightPipeline(model)
    one = light.annotate("Hello world.")
    assert one["token"] == ["Hello", "world", "."]
    many = light.annotate(["A b.", "C."])
    assert [m["token"] for m in many] == [["A", "b", "."], ["C", "."]]
    with pytest.raises(TypeError, match="item 1 is int"):
        light.annotate(["ok", 3])  # type: ignore[list-item]


def test_explode_sentences_gives_a_row_per_sentence(spark):
    df = spark.createDataFrame([("One. Two. Three.", 1), ("Four.", 2)], "text string, id int")
    stages = [
        DocumentAssembler(),
        SentenceDetector(inputCols=["document"], outputCol="sentence", explodeSentences=True),
    ]
    rows = Pipeline(stages=stages).fit(df).transform(df).collect()
    assert [(r["id"], [a.result for a in from_rows(r["sentence"])]) for r in rows] == [
        (1, ["One."]),
        (1, ["Two."]),
        (1, ["Three."]),
        (2, ["Four."]),
    ]


def test_keyword_constructors_and_setters_agree():
    a = Tokenizer(inputCols=["sentence"], outputCol="token", minLength=2)
    b = Tokenizer().setInputCols("sentence").setOutputCol("token").setMinLength(2)
    assert a.config() == b.config()
    assert a.getInputCols() == ["sentence"]
    with pytest.raises(TypeError, match="minLenght"):
        SentenceDetector(minLenght=3)  # type: ignore[call-arg]
    with pytest.raises(TypeError, match="Tokenizer has no param 'minLenght'; its params are: .*minLength"):
        Tokenizer(minLenght=3)


def test_wrong_input_column_is_named(spark):
    df = spark.createDataFrame([("x",)], "text string")
    doc = DocumentAssembler().transform(df)
    with pytest.raises(ValueError, match="input column 'sentences' is not in the DataFrame"):
        TokenizerModel().setInputCols(["sentences"]).setOutputCol("token").transform(doc)
    tokens = Tokenizer(inputCols=["document"], outputCol="token").fit(doc).transform(doc)
    with pytest.raises(ValueError, match="holds 'token' annotations, but this stage needs 'document'"):
        SentenceDetector(inputCols=["token"], outputCol="s").transform(tokens)


def test_each_stage_round_trips(tmp_path, fitted):
    model, df = fitted
    for i, stage in enumerate(model.stages):
        path = str(tmp_path / f"stage{i}")
        stage.write().overwrite().save(path)
        loaded = type(stage).load(path)
        assert loaded.uid == stage.uid
        assert loaded.extractParamMap() == stage.extractParamMap()


def test_pipeline_round_trip_and_light_load_without_spark(tmp_path, fitted):
    model, df = fitted
    path = str(tmp_path / "pipeline")
    model.write().overwrite().save(path)
    reloaded = PipelineModel.load(path)
    assert reloaded.transform(df).collect() == model.transform(df).collect()

    # A fresh interpreter with pyspark's JVM gateway made impossible: LightPipeline must not need it.
    script = textwrap.dedent(
        f"""
        import json, sys
        import pyspark.java_gateway
        def no_jvm(*a, **k):
            raise RuntimeError("a JVM was started")
        pyspark.java_gateway.launch_gateway = no_jvm
        from sparktag.base import LightPipeline
        light = LightPipeline.load({path!r})
        texts = json.loads(sys.stdin.read())
        out = [{{c: [a.to_dict() for a in anns] for c, anns in row.items()}} for row in light.fullAnnotate(texts)]
        print(json.dumps(out))
        """
    )
    import json

    proc = subprocess.run(
        [sys.executable, "-c", script], input=json.dumps(TEXTS), capture_output=True, text=True, check=True
    )
    expected = [
        {c: [a.to_dict() for a in anns] for c, anns in row.items()}
        for row in LightPipeline(model).fullAnnotate(TEXTS)
    ]
    assert json.loads(proc.stdout) == expected

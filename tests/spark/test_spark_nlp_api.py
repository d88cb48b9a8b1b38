"""Spark NLP API a migrating notebook calls: pretrained() from the local model folder, TensorFlow-only setters,
the SentenceDetector/Tokenizer setters, NerDLModel's batchSize default."""

from __future__ import annotations

import warnings

import pytest
from pyspark.ml import Pipeline, PipelineModel

from sparktag.annotation import from_rows
from sparktag.annotator import (
    NerDLApproach,
    NerDLModel,
    SentenceDetector,
    Tokenizer,
    WordEmbeddingsModel,
)
from sparktag.base import LightPipeline

import pipelines
from pipelines import text_stages

pytestmark = pytest.mark.spark

VECTORS = {
    "maria": [1.0, 0.0, 0.0, 0.5],
    "lopez": [0.9, 0.1, 0.0, 0.5],
    "lisbon": [0.0, 1.0, 0.0, -0.5],
    "porto": [0.1, 0.9, 0.0, -0.5],
    "visited": [0.0, 0.0, 1.0, 0.0],
    "likes": [0.0, 0.1, 0.9, 0.0],
    ".": [0.0, 0.0, 0.0, 1.0],
}


@pytest.fixture(scope="module")
def glove(tmp_path_factory):
    path = tmp_path_factory.mktemp("glove") / "tiny.txt"
    path.write_text("".join(f"{w} {' '.join(map(str, v))}\n" for w, v in VECTORS.items()), encoding="utf-8")
    return str(path)


@pytest.fixture(scope="module")
def ner_pipeline(spark, glove):
    """Text stages + word vectors + a NerDLModel trained (without Spark) on a few tagged sentences."""
    from sparktag.ner.data import NerExample
    from sparktag.ner.train import train

    df = spark.createDataFrame([("x",)], "text string")
    featurizers = Pipeline(
        stages=[
            *text_stages(),
            pipelines.glove(glove),
        ]
    ).fit(df)
    sentences = [
        ("Maria Lopez visited Lisbon .", ["B-PER", "I-PER", "O", "B-LOC", "O"]),
        ("Lopez likes Porto .", ["B-PER", "O", "B-LOC", "O"]),
        ("Maria visited Porto .", ["B-PER", "O", "B-LOC", "O"]),
        ("Lopez likes Lisbon .", ["B-PER", "O", "B-LOC", "O"]),
    ]
    light = LightPipeline(featurizers, parse_embeddings=True)
    examples = []
    for text, tags in sentences:
        row = light.fullAnnotate(text)[0]
        import numpy as np

        matrix = np.asarray([a.embeddings for a in row["embeddings"]], dtype=np.float32)
        examples.append(NerExample([a.result for a in row["token"]], matrix, tags))
    approach = NerDLApproach().setInputCols(["sentence", "token", "embeddings"]).setOutputCol("ner")
    config = approach.setMaxEpochs(30).setLr(0.05).setRandomSeed(3).setVerbose(4).train_config()
    ner = approach.model_from_result(train(examples * 4, config))
    return PipelineModel(stages=[*featurizers.stages, ner])


# -- item 8: pretrained() resolves the local model folder -----------------------------------------------------


def test_pretrained_loads_saved_models_from_the_models_folder(ner_pipeline, tmp_path, monkeypatch, spark):
    monkeypatch.setenv("SPARKTAG_MODELS", str(tmp_path))
    *text, embeddings, ner = ner_pipeline.stages
    embeddings.write().overwrite().save(str(tmp_path / "glove_100d_en"))
    ner.write().overwrite().save(str(tmp_path / "ner_dl"))  # the folder without the language works too
    pretrained = PipelineModel(
        stages=[
            *text,
            WordEmbeddingsModel.pretrained().setInputCols("sentence", "token").setOutputCol("embeddings"),
            NerDLModel.pretrained().setInputCols("sentence", "token", "embeddings").setOutputCol("ner"),
        ]
    )
    df = spark.createDataFrame([("Maria Lopez visited Porto .",), ("Lopez likes Lisbon .",)], "text string")
    want = [from_rows(r["ner"]) for r in ner_pipeline.transform(df).collect()]
    got = [from_rows(r["ner"]) for r in pretrained.transform(df).collect()]
    assert got == want
    assert [a.result for a in want[0]] == ["B-PER", "I-PER", "O", "B-LOC", "O"]


def test_pretrained_never_downloads_and_says_where_to_put_the_model(tmp_path, monkeypatch):
    monkeypatch.setenv("SPARKTAG_MODELS", str(tmp_path))
    with pytest.raises(FileNotFoundError) as err:
        NerDLModel.pretrained()
    message = str(err.value)
    assert "never downloads" in message and str(tmp_path / "ner_dl_en") in message
    assert "'ner_dl'" in message and "write().overwrite().save(" in message
    with pytest.raises(FileNotFoundError, match=r"glove_100d.*never downloads"):
        WordEmbeddingsModel.pretrained()
    with pytest.raises(FileNotFoundError, match=r"'glove_840B_300' for language 'xx'"):
        WordEmbeddingsModel.pretrained("glove_840B_300", "xx")


def test_pretrained_refuses_a_folder_holding_another_stage(ner_pipeline, tmp_path, monkeypatch):
    monkeypatch.setenv("SPARKTAG_MODELS", str(tmp_path))
    ner_pipeline.stages[-1].write().overwrite().save(str(tmp_path / "glove_100d_en"))
    with pytest.raises(TypeError, match=r"holds a NerDLModel, not a saved WordEmbeddingsModel"):
        WordEmbeddingsModel.pretrained()


# -- item 9: TensorFlow-only setters ---------------------------------------------------------------------------


def test_tensorflow_only_setters_do_nothing_and_warn_once_each():
    from sparktag.spark import ner_params

    ner_params._TF_WARNED.clear()  # each setter warns once per process
    ner = NerDLApproach()
    before = ner.params_dict()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for _ in range(3):
            out = (
                ner.setGraphFolder("/graphs")
                .setUseContrib(False)
                .setConfigProtoBytes([1, 2, 3])
                .setGraphFile("/graphs/blstm_10_100_128_120.pb")
            )
            assert out is ner
        model = NerDLModel().setConfigProtoBytes([1])
        model.setConfigProtoBytes([2])
    messages = [str(w.message) for w in caught]
    assert len(messages) == 5, messages  # one per (class, setter), however often it is called
    for name in ("setGraphFolder", "setUseContrib", "setConfigProtoBytes", "setGraphFile"):
        assert sum(m.startswith(f"NerDLApproach.{name} ") for m in messages) == 1
    assert sum(m.startswith("NerDLModel.setConfigProtoBytes ") for m in messages) == 1
    assert all("no effect" in m for m in messages)
    assert ner.params_dict() == before  # nothing was set: the training is the same


# -- item 11: SentenceDetector / Tokenizer setters, NerDLModel batchSize -------------------------------------


def run_light(stages, text):
    return LightPipeline(stages).fullAnnotate(text)[0]


def fit_text(spark, sentence_detector=None, tokenizer=None):
    stages = text_stages()
    if sentence_detector is not None:
        stages[1] = sentence_detector.setInputCols(["document"]).setOutputCol("sentence")
    if tokenizer is not None:
        stages[2] = tokenizer.setInputCols(["sentence"]).setOutputCol("token")
    return Pipeline(stages=stages).fit(spark.createDataFrame([("x",)], "text string"))


def spark_and_light(spark, model, text, col):
    row = model.transform(spark.createDataFrame([(text,)], "text string")).first()
    spark_anns = from_rows(row[col])
    assert spark_anns == run_light(model, text)[col]  # both paths give the same annotations
    return [a.result for a in spark_anns]


def test_custom_bounds_strategy_keeps_the_bound_where_asked(spark):
    text = "first part;; second part;; third"
    results = {}
    for strategy in ("none", "prepend", "append"):
        detector = SentenceDetector().setCustomBounds([";;"]).setUseCustomBoundsOnly(True)
        model = fit_text(spark, detector.setCustomBoundsStrategy(strategy))
        results[strategy] = spark_and_light(spark, model, text, "sentence")
    assert results["none"] == ["first part", "second part", "third"]
    assert results["prepend"] == ["first part", ";; second part", ";; third"]
    assert results["append"] == ["first part;;", "second part;;", "third"]
    assert SentenceDetector().getCustomBoundsStrategy() == "none"
    with pytest.raises(
        ValueError, match=r"customBoundsStrategy must be one of 'none', 'prepend', 'append'; got 'middle'"
    ):
        SentenceDetector().setCustomBoundsStrategy("middle")


def test_split_length_cuts_long_sentences(spark):
    text = "one two three four five six seven eight nine ten."
    whole = spark_and_light(spark, fit_text(spark), text, "sentence")
    assert whole == [text]
    cut = spark_and_light(spark, fit_text(spark, SentenceDetector().setSplitLength(15)), text, "sentence")
    assert len(cut) > 1 and all(len(s) <= 15 for s in cut)
    assert " ".join(cut) == text
    assert SentenceDetector().getSplitLength() is None
    with pytest.raises(ValueError, match="setSplitLength: must be >= 1"):
        SentenceDetector().setSplitLength(0)


def test_exceptions_path_keeps_listed_phrases_whole(spark, tmp_path):
    exceptions = tmp_path / "exceptions.txt"
    exceptions.write_text("New York\n\ne-mail  \n", encoding="utf-8")
    text = "She sent an e-mail from New York today."
    plain = spark_and_light(spark, fit_text(spark, tokenizer=Tokenizer().setSplitChars(["-"])), text, "token")
    assert "New" in plain and "e" in plain
    tokenizer = Tokenizer().setSplitChars(["-"]).setExceptionsPath(str(exceptions))
    model = fit_text(spark, tokenizer=tokenizer)
    tokens = spark_and_light(spark, model, text, "token")
    assert tokens == ["She", "sent", "an", "e-mail", "from", "New York", "today", "."]
    assert model.stages[2].getExceptions() == ["New York", "e-mail"]  # the model carries them, not the path
    # Spark NLP's ReadAs / options arguments are accepted; other formats are refused
    Tokenizer().setExceptionsPath(str(exceptions), "TEXT", {"format": "text"})
    with pytest.raises(ValueError, match="only format 'text'"):
        Tokenizer().setExceptionsPath(str(exceptions), "TEXT", {"format": "csv"})
    with pytest.raises(FileNotFoundError, match=r"setExceptionsPath: .*missing.txt is not a file"):
        fit_text(spark, tokenizer=Tokenizer().setExceptionsPath(str(tmp_path / "missing.txt")))


def test_ner_batch_size_defaults_to_spark_nlps_8_and_does_not_change_tags(ner_pipeline, spark):
    assert NerDLModel().getBatchSize() == 8
    assert NerDLApproach().getOrDefault("batchSize") == 8
    ner = ner_pipeline.stages[-1]
    texts = [("Maria visited Lisbon .",), ("Lopez likes Porto . Maria Lopez visited Porto .",)] * 5
    df = spark.createDataFrame(texts, "text string")
    tags = {}
    for size in (1, 8, 64):
        ner.setBatchSize(size)
        tags[size] = [[a.result for a in from_rows(r["ner"])] for r in ner_pipeline.transform(df).collect()]
    ner.setBatchSize(8)
    assert tags[1] == tags[8] == tags[64]
    assert tags[8][0] == ["B-PER", "O", "B-LOC", "O"]

"""BertEmbeddings as a Spark stage: vectors per token, Spark/LightPipeline parity, persistence, errors."""

from __future__ import annotations

import numpy as np
import pytest
from pyspark.ml import Pipeline

from sparktag.annotation import Annotation, from_rows
from sparktag.annotator import BertEmbeddings
from sparktag.base import LightPipeline

from pipelines import bert, text_stages

pytestmark = pytest.mark.spark

TEXTS = ["Maria Lopez joined Northwind Bank in Lisbon .", "", "Acme wins . Paris " + "Lisbon " * 150]


@pytest.fixture(scope="module")
def fitted(spark, sample_bert_dir):
    df = spark.createDataFrame([(t,) for t in TEXTS], "text string")
    stages = [*text_stages(), bert(sample_bert_dir, maxSentenceLength=32, caseSensitive=True)]
    return Pipeline(stages=stages).fit(df), df


def test_one_vector_per_token_matching_a_direct_forward_pass(fitted, sample_bert_dir):
    from sparktag.embeddings.transformer import EncoderConfig, TransformerEncoder

    model, df = fitted
    rows = model.transform(df).collect()
    assert model.stages[-1].getDimension() == 32
    encoder = TransformerEncoder.from_folder(str(sample_bert_dir))
    config = EncoderConfig(case_sensitive=True, max_sentence_length=32)
    for row in rows:
        tokens = from_rows(row["token"])
        vectors = from_rows(row["embeddings"])
        assert [(v.begin, v.end, v.result) for v in vectors] == [(t.begin, t.end, t.result) for t in tokens]
        assert all(len(v.embeddings) == 32 for v in vectors)
        for sentence in {t.metadata["sentence"] for t in tokens}:
            words = [t.result for t in tokens if t.metadata["sentence"] == sentence]
            (expected,) = encoder.embed([words], config)
            got = np.array([v.embeddings for v in vectors if v.metadata["sentence"] == sentence])
            assert np.allclose(got, expected, atol=1e-5)
    long_row = rows[2]
    assert len(from_rows(long_row["embeddings"])) == len(from_rows(long_row["token"])) > 150  # windowed


def test_spark_light_and_reloaded_stage_agree(fitted, tmp_path):
    model, df = fitted
    spark_rows = [from_rows(r["embeddings"]) for r in model.transform(df).collect()]
    light = [row["embeddings"] for row in LightPipeline(model, parse_embeddings=True).fullAnnotate(TEXTS)]
    for a, b in zip(spark_rows, light, strict=True):
        assert [x.result for x in a] == [y.result for y in b]
        assert np.allclose(
            [x.embeddings for x in a] or [[0.0]], [y.embeddings for y in b] or [[0.0]], atol=1e-6
        )
    path = str(tmp_path / "bert")
    model.stages[-1].write().overwrite().save(path)
    loaded = BertEmbeddings.load(path)
    assert loaded.getMaxSentenceLength() == 32 and loaded.getCaseSensitive() is True
    again = model.copy()
    again.stages[-1] = loaded
    reloaded = [from_rows(r["embeddings"]) for r in again.transform(df).collect()]
    assert reloaded == spark_rows


def test_case_sensitivity_changes_vectors(fitted):
    model, _ = fitted
    stage = model.stages[-1]
    columns = [[[]], [[Annotation("token", 0, 4, "Maria", {"sentence": "0"})]]]  # one row: sentences, tokens
    cased = stage._annotator()(columns)[0][0].embeddings
    uncased = stage.copy().setCaseSensitive(False)._annotator()(columns)[0][0].embeddings
    assert not np.allclose(cased, uncased)  # "maria" is a different word of the vocab than "Maria"


def test_bfloat16_precision_is_opt_in_close_and_saved(fitted, tmp_path):
    model, _ = fitted
    stage = model.stages[-1]
    assert stage.getPrecision() == "float32"
    columns = [[[]], [[Annotation("token", 0, 4, "Maria", {"sentence": "0"})]]]
    exact = np.asarray(stage._annotator()(columns)[0][0].embeddings)
    fast_stage = stage.copy().setPrecision("bfloat16")
    fast = np.asarray(fast_stage._annotator()(columns)[0][0].embeddings)
    assert not np.array_equal(exact, fast)
    assert float(exact @ fast / np.linalg.norm(exact) / np.linalg.norm(fast)) > 0.99
    path = str(tmp_path / "bert_bf16")
    fast_stage.write().overwrite().save(path)
    assert BertEmbeddings.load(path).getPrecision() == "bfloat16"
    with pytest.raises(ValueError, match="precision must be one of"):
        stage.copy().setPrecision("float16")


def test_pretrained_name_not_found_says_where_it_looked(tmp_path, monkeypatch):
    monkeypatch.setenv("SPARKTAG_MODELS", str(tmp_path))
    with pytest.raises(FileNotFoundError, match="loadSavedModel") as err:
        BertEmbeddings.pretrained("no_such_model", "en")
    assert str(tmp_path) in str(err.value)


@pytest.fixture(scope="module")
def deep_bert_dir(sample_dir, tmp_path_factory):
    """A 3-layer tiny BERT over the sample's words and TEXTS': 4 hidden states, so layers -1 to -4 exist."""
    from tiny_bert import conll_words, save_tiny_bert

    words = conll_words(sample_dir / "train.conll") + [w for t in TEXTS for w in t.split()]
    return save_tiny_bert(tmp_path_factory.mktemp("deep_bert"), list(dict.fromkeys(words)), layers=3)


def test_layers_and_layer_pooling_reach_spark_light_and_a_reloaded_stage(spark, deep_bert_dir, tmp_path):
    from sparktag.embeddings.transformer import EncoderConfig, TransformerEncoder

    stage = bert(deep_bert_dir, maxSentenceLength=32, caseSensitive=True)
    assert (stage.getLayers(), stage.getLayerPooling(), stage.getDimension()) == ([-1], "mean", 32)
    stage.setLayers([-2, -3]).setLayerPooling("concat")
    assert stage.getDimension() == 64  # the output size, what a tagger trained on it reads
    # one partition: Spark embeds the rows in the batches LightPipeline makes, so the vectors are the same bits
    df = spark.createDataFrame([(t,) for t in TEXTS], "text string").coalesce(1)
    model = Pipeline(stages=[*text_stages(), stage]).fit(df)
    spark_rows = [(from_rows(r["token"]), from_rows(r["embeddings"])) for r in model.transform(df).collect()]
    light = LightPipeline(model, parse_embeddings=True).fullAnnotate(TEXTS)
    encoder = TransformerEncoder.from_folder(str(deep_bert_dir))
    config = EncoderConfig(
        case_sensitive=True, max_sentence_length=32, layers=(-2, -3), layer_pooling="concat"
    )
    for (tokens, vectors), light_row in zip(spark_rows, light, strict=True):
        light_vectors = [np.asarray(a.embeddings) for a in light_row["embeddings"]]
        assert len(light_vectors) == len(vectors)
        assert all(np.array_equal(a.embeddings, b) for a, b in zip(vectors, light_vectors, strict=True))
        assert all(len(a.embeddings) == 64 for a in vectors)
        for sentence in {t.metadata["sentence"] for t in tokens}:
            (expected,) = encoder.embed(
                [[t.result for t in tokens if t.metadata["sentence"] == sentence]], config
            )
            got = [v.embeddings for v in vectors if v.metadata["sentence"] == sentence]
            np.testing.assert_allclose(got, expected, atol=1e-5)

    path = str(tmp_path / "bert_layers")
    model.stages[-1].write().overwrite().save(path)
    loaded = BertEmbeddings.load(path)
    assert (loaded.getLayers(), loaded.getLayerPooling(), loaded.getDimension()) == ([-2, -3], "concat", 64)
    again = model.copy()
    again.stages[-1] = loaded
    assert [from_rows(r["embeddings"]) for r in again.transform(df).collect()] == [v for _, v in spark_rows]
    assert loaded.setLayerPooling("mean").getDimension() == 32  # dimension follows the params
    assert loaded.setLayers([-1, -2, -3, -4]).setLayerPooling("concat").getDimension() == 128


def test_wrong_layers_are_refused_when_set(deep_bert_dir):
    stage = bert(deep_bert_dir)
    with pytest.raises(ValueError, match=r"index -5 is out of range .* use indices from -4 to 3"):
        stage.setLayers([-1, -5])
    with pytest.raises(ValueError, match=r"layers=\[-1, -1\] names a layer twice"):
        stage.setLayers([-1, -1])
    with pytest.raises(ValueError, match="layers must be a non-empty list"):
        stage.setLayers([])
    with pytest.raises(ValueError, match="layerPooling must be one of 'mean', 'concat'; got 'sum'"):
        stage.setLayerPooling("sum")
    assert (stage.getLayers(), stage.getLayerPooling(), stage.getDimension()) == ([-1], "mean", 32)
    bare = BertEmbeddings(layers=[-1, -9], layerPooling="concat")  # no model yet: its range is checked later
    assert bare.getLayers() == [-1, -9]

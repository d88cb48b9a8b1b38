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

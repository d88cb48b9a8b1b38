"""WordEmbeddings on a real local Spark: vectors per token, OOV, case, persistence, LightPipeline parity."""

from __future__ import annotations

import numpy as np
import pytest
from pyspark.ml import Pipeline

from sparktag.annotation import from_rows
from sparktag.annotator import WordEmbeddingsModel
from sparktag.base import LightPipeline

import pipelines
from pipelines import text_stages

pytestmark = pytest.mark.spark

VECTORS = {
    "maria": [0.5, -1.0, 2.0],
    "lisbon": [1.5, 0.25, -0.75],
    ".": [0.0, 1.0, 0.0],
    "Maria": [9.0, 9.0, 9.0],
}


@pytest.fixture(scope="module")
def glove(tmp_path_factory):
    path = tmp_path_factory.mktemp("glove") / "tiny.txt"
    path.write_text("".join(f"{w} {' '.join(map(str, v))}\n" for w, v in VECTORS.items()), encoding="utf-8")
    return str(path)


def pipeline(glove, case_sensitive=False):
    return Pipeline(stages=[*text_stages(), pipelines.glove(glove, caseSensitive=case_sensitive)])


def test_vectors_oov_and_case(spark, glove, tmp_path):
    df = spark.createDataFrame([("Maria flew to LISBON.",)], "text string")
    model = pipeline(glove).fit(df)
    anns = from_rows(model.transform(df).first()["embeddings"])
    got = {a.result: (list(a.embeddings), a.metadata["isOOV"]) for a in anns}
    assert got["Maria"] == (pytest.approx(VECTORS["Maria"]), "false")  # exact match first
    assert got["LISBON"] == (pytest.approx(VECTORS["lisbon"]), "false")  # then lowercase
    assert got["flew"] == ([0.0, 0.0, 0.0], "true")
    assert model.stages[-1].getDimension() == 3
    strict = pipeline(glove, case_sensitive=True).fit(df)
    strict_anns = {a.result: a for a in from_rows(strict.transform(df).first()["embeddings"])}
    assert strict_anns["LISBON"].metadata["isOOV"] == "true"

    path = str(tmp_path / "we")
    model.stages[-1].write().overwrite().save(path)
    loaded = WordEmbeddingsModel.load(path)
    assert loaded.getDimension() == 3
    light = LightPipeline(model, parse_embeddings=True).fullAnnotate("Maria flew to LISBON.")[0]["embeddings"]
    assert light == anns
    assert np.allclose(loaded._annotator()([[], [[a for a in anns]]])[0][0].embeddings, VECTORS["Maria"])


def test_bad_vectors_file_names_the_line(spark, tmp_path):
    bad = tmp_path / "bad.txt"
    bad.write_text("a 1 2 3\nb 1 2\n", encoding="utf-8")
    df = spark.createDataFrame([("a b",)], "text string")
    with pytest.raises(ValueError, match=r"bad\.txt.*2"):
        pipeline(str(bad)).fit(df)

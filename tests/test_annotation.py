"""The annotation contract: Spark schema field for field, lossless Arrow and Row round trips."""

from __future__ import annotations

import pyarrow as pa
import pytest

from sparktag.annotation import (
    Annotation,
    annotation_schema,
    arrow_type,
    from_arrow,
    from_rows,
    to_arrow,
)


def test_spark_schema_is_spark_nlps_struct():
    assert annotation_schema().simpleString() == (
        "struct<annotatorType:string,begin:int,end:int,result:string,"
        "metadata:map<string,string>,embeddings:array<float>>"
    )


def test_arrow_round_trip_is_lossless():
    rows = [
        [
            Annotation("token", 0, 4, "Hello", {"sentence": "0", "k": ""}, [0.5, -1.25]),
            Annotation("token", 6, 6, "ü", {}, []),
        ],
        [],
        None,
    ]
    array = to_arrow(rows)
    assert array.type == arrow_type()
    assert from_arrow(array) == rows


def test_arrow_keeps_float32_values():
    value = 0.1  # not exactly representable: the column is float32, like Spark NLP's
    (back,) = from_arrow(to_arrow([[Annotation("word_embeddings", 0, 0, "a", {}, [value])]]))
    assert list(back[0].embeddings) == [pytest.approx(value, rel=1e-7)]
    assert back[0].embeddings[0] == float(pa.scalar(value, pa.float32()).as_py())
    assert back[0].to_dict()["embeddings"] == [float(pa.scalar(value, pa.float32()).as_py())]  # JSON-able


def test_equality_compares_vector_values_whatever_their_container():
    import numpy as np

    a = Annotation("word_embeddings", 0, 0, "a", {}, [0.5, 1.5])
    assert a == Annotation("word_embeddings", 0, 0, "a", {}, np.array([0.5, 1.5], np.float32))
    assert a != Annotation("word_embeddings", 0, 0, "a", {}, np.array([0.5, 1.25], np.float32))
    assert a != Annotation("word_embeddings", 0, 0, "a", {}, [0.5])


@pytest.mark.spark
def test_spark_rows_round_trip(spark):
    from pyspark.sql.types import StructField, StructType

    from sparktag.annotation import annotation_column_type

    anns = [Annotation("chunk", 3, 9, "Lisbon", {"entity": "LOC", "sentence": "1"}, [1.0])]
    schema = StructType([StructField("c", annotation_column_type())])
    df = spark.createDataFrame([([a.to_dict() for a in anns],)], schema)
    assert df.schema["c"].dataType == annotation_column_type()
    assert from_rows(df.first()["c"]) == anns


def test_from_dict_accepts_pairs_and_nulls():
    a = Annotation.from_dict(
        {
            "annotatorType": "token",
            "begin": 1,
            "end": 2,
            "result": None,
            "metadata": [("a", None)],
            "embeddings": None,
        }
    )
    assert a == Annotation("token", 1, 2, "", {"a": ""}, [])
    assert a.annotatorType == "token"

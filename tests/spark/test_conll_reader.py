"""CoNLL().readDataset on a real local Spark: Spark NLP's columns, types, offsets, and errors."""

from __future__ import annotations

import pytest

from sparktag.annotation import from_rows
from sparktag.core.conll import ConllFormatError
from sparktag.training import CoNLL

pytestmark = pytest.mark.spark

SMALL = """-DOCSTART- -X- -X- O

Maria NNP B-NP I-PER
Lopez NNP I-NP I-PER
visits VBZ B-VP O
Lisbon NNP B-NP I-LOC
. . O O

Acme NNP B-NP I-ORG
wins VBZ B-VP O

-DOCSTART- -X- -X- O

Paris NNP B-NP I-LOC
"""


def test_columns_types_and_metadata(spark, tmp_path):
    path = tmp_path / "small.conll"
    path.write_text(SMALL, encoding="utf-8")
    df = CoNLL().readDataset(spark, str(path))
    assert df.columns == ["text", "document", "sentence", "token", "pos", "label"]
    types = {f.name: f.metadata.get("annotatorType") for f in df.schema.fields}
    assert types == {
        "text": None,
        "document": "document",
        "sentence": "document",
        "token": "token",
        "pos": "pos",
        "label": "named_entity",
    }
    rows = df.collect()
    assert [r["text"] for r in rows] == ["Maria Lopez visits Lisbon .", "Acme wins", "Paris"]
    first = rows[0]
    tokens = from_rows(first["token"])
    assert [(t.begin, t.end, t.result) for t in tokens][:2] == [(0, 4, "Maria"), (6, 10, "Lopez")]
    labels = from_rows(first["label"])
    assert [a.result for a in labels] == ["I-PER", "I-PER", "O", "I-LOC", "O"]
    assert labels[3].metadata == {"word": "Lisbon", "sentence": "0"}
    assert from_rows(first["document"])[0].metadata == {"training": "true"}


def test_iob2_option_and_doc_id(spark, tmp_path):
    path = tmp_path / "small.conll"
    path.write_text(SMALL, encoding="utf-8")
    df = CoNLL(includeDocId=True, toIOB2=True).readDataset(spark, str(path))
    rows = df.collect()
    assert [a.result for a in from_rows(rows[0]["label"])] == ["B-PER", "I-PER", "O", "B-LOC", "O"]
    assert df.columns[0] == "doc_id"
    assert [r["doc_id"] for r in rows] == ["X", "X", "X"]


def test_sample_data_reads(spark, sample_dir):
    df = CoNLL().readDataset(spark, str(sample_dir / "train.conll"))
    assert df.count() == 400


def test_empty_file_gives_empty_dataframe_with_schema(spark, tmp_path):
    path = tmp_path / "empty.conll"
    path.write_text("", encoding="utf-8")
    df = CoNLL().readDataset(spark, str(path))
    assert df.count() == 0
    assert df.schema["label"].metadata == {"annotatorType": "named_entity"}


def test_bad_line_error_names_file_and_line(spark, tmp_path):
    path = tmp_path / "bad.conll"
    path.write_text("Maria NNP B-NP I-PER\nLopez NNP\n", encoding="utf-8")
    with pytest.raises(ConllFormatError, match=r"bad\.conll:2:"):
        CoNLL().readDataset(spark, str(path))

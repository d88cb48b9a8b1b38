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


def _many_documents(n_docs: int, first: int) -> str:
    """``n_docs`` documents of two sentences each, every word numbered so row order is visible."""
    parts = []
    for d in range(first, first + n_docs):
        parts.append(f"-DOCSTART- -X- -{d}- O\n\nw{d}a NN B-NP I-PER\n\nw{d}b NN B-NP O\nend{d} . O O\n")
    return "\n".join(parts)


def test_folder_is_parsed_by_spark_in_file_order_into_partitions(spark, tmp_path):
    folder = tmp_path / "corpus"
    folder.mkdir()
    # sizes differ, so Spark's own packing (largest file first) would put them out of order
    (folder / "a.conll").write_text(_many_documents(5, 0), encoding="utf-8")
    (folder / "b.conll").write_text(_many_documents(40, 100), encoding="utf-8")
    (folder / "c.conll").write_text(_many_documents(12, 500), encoding="utf-8")
    (folder / ".hidden").write_text("not conll at all\n", encoding="utf-8")
    reader = CoNLL(includeDocId=True)

    df = reader.readDataset(spark, str(folder), partitions=3)

    expected = reader.read_arrow(str(folder)).to_pylist()  # parsed in this process, file by file
    rows = [r.asDict(recursive=True) for r in df.collect()]
    assert len(rows) == len(expected) == 2 * (5 + 40 + 12)
    assert [r["text"] for r in rows] == [r["text"] for r in expected]
    assert [r["doc_id"] for r in rows][:4] == ["0", "0", "1", "1"]
    assert [a["metadata"] for a in rows[1]["label"]] == [
        dict(m) for m in (a["metadata"] for a in expected[1]["label"])
    ]
    assert df.rdd.getNumPartitions() == 3
    sizes = df.rdd.glom().map(len).collect()
    assert min(sizes) > 0, sizes  # the rows are spread, not all in one partition
    # stored once, on disk only (Spark NLP's DISK_ONLY default): later actions read it back instead of parsing
    stored = [i for i in spark.sparkContext._jsc.sc().getRDDStorageInfo() if i.numCachedPartitions() == 3]
    assert any(i.diskSize() > 0 and i.memSize() == 0 for i in stored), [i.toString() for i in stored]


def test_file_uri_and_no_persistence(spark, tmp_path):
    path = tmp_path / "small.conll"
    path.write_text(SMALL, encoding="utf-8")
    df = CoNLL().readDataset(spark, path.as_uri(), storage_level=None)
    assert [r["text"] for r in df.collect()] == ["Maria Lopez visits Lisbon .", "Acme wins", "Paris"]
    assert not df.is_cached


def test_bad_line_in_second_file_of_a_glob_names_it(spark, tmp_path):
    (tmp_path / "1.conll").write_text(SMALL, encoding="utf-8")
    (tmp_path / "2.conll").write_text(SMALL + "\nLisbon NNP B-NP I-LOC\nbroken\n", encoding="utf-8")
    with pytest.raises(ConllFormatError, match=r"2\.conll:17: token line has 1 column") as err:
        CoNLL().readDataset(spark, str(tmp_path / "*.conll"))
    assert str(tmp_path) in str(err.value)  # the file as the user named it, not Spark's URI
    assert "Traceback" not in str(err.value)

"""CoNLL: read CoNLL-2003-style files into the DataFrame Spark NLP's ``CoNLL().readDataset`` gives."""

from __future__ import annotations

from typing import Any

from sparktag.annotation import AnnotatorType, arrow_type, column_metadata, to_arrow
from sparktag.core.conll import document_rows, read_conll_documents

ROWS_PER_BATCH = 4096


class CoNLL:
    """Spark NLP's CoNLL reader: ``CoNLL().readDataset(spark, path)``.

    Columns: ``text`` (the sentence's tokens joined by one space), ``document``, ``sentence`` (annotator type
    ``document``), ``token``, ``pos``, ``label`` (``named_entity``), plus ``doc_id`` with ``includeDocId``.

    Args:
        documentCol, sentenceCol, tokenCol, posCol, labelCol: output column names.
        conllLabelIndex: 0-based column of the NER tag on a token line (3 in CoNLL-2003).
        conllPosIndex: 0-based column of the part-of-speech tag.
        textCol: name of the text column.
        explodeSentences: one row per sentence (default) or one per document.
        delimiter: what separates the columns of a token line.
        includeDocId: add a ``doc_id`` column (the ``-DOCSTART-`` line's id, else the document's index).
        toIOB2: convert IOB1 tags (CoNLL-2003's original scheme) to IOB2 while reading; off by default, as
            Spark NLP reads tags as they are.

    Example:
        >>> train = CoNLL().readDataset(spark, "eng.train")  # doctest: +SKIP
    """

    def __init__(
        self,
        documentCol: str = "document",
        sentenceCol: str = "sentence",
        tokenCol: str = "token",
        posCol: str = "pos",
        conllLabelIndex: int = 3,
        conllPosIndex: int = 1,
        textCol: str = "text",
        labelCol: str = "label",
        explodeSentences: bool = True,
        delimiter: str = " ",
        includeDocId: bool = False,
        toIOB2: bool = False,
    ) -> None:
        self.documentCol = documentCol
        self.sentenceCol = sentenceCol
        self.tokenCol = tokenCol
        self.posCol = posCol
        self.conllLabelIndex = conllLabelIndex
        self.conllPosIndex = conllPosIndex
        self.textCol = textCol
        self.labelCol = labelCol
        self.explodeSentences = explodeSentences
        self.delimiter = delimiter
        self.includeDocId = includeDocId
        self.toIOB2 = toIOB2

    def _columns(self) -> list[tuple[str, str, str | None]]:
        """(row key, output column, annotator type) for every column, in output order."""
        cols: list[tuple[str, str, str | None]] = []
        if self.includeDocId:
            cols.append(("doc_id", "doc_id", None))
        cols += [
            ("text", self.textCol, None),
            ("document", self.documentCol, AnnotatorType.DOCUMENT),
            ("sentence", self.sentenceCol, AnnotatorType.DOCUMENT),
            ("token", self.tokenCol, AnnotatorType.TOKEN),
            ("pos", self.posCol, AnnotatorType.POS),
            ("label", self.labelCol, AnnotatorType.NAMED_ENTITY),
        ]
        return cols

    def read_arrow(self, path: str) -> Any:
        """Parse ``path`` (a file, folder or glob) into a pyarrow Table with the reader's columns."""
        import pyarrow as pa

        cols = self._columns()
        schema = pa.schema(
            [pa.field(out, pa.string() if kind is None else arrow_type()) for _, out, kind in cols]
        )
        batches = []
        pending: list[dict[str, Any]] = []

        def flush() -> None:
            arrays = [
                pa.array([r[key] for r in pending], pa.string())
                if kind is None
                else to_arrow([r[key] for r in pending])
                for key, _, kind in cols
            ]
            batches.append(pa.RecordBatch.from_arrays(arrays, schema=schema))
            pending.clear()

        documents = read_conll_documents(
            path,
            label_index=self.conllLabelIndex,
            pos_index=self.conllPosIndex,
            delimiter=self.delimiter,
            to_iob2=self.toIOB2,
        )
        for doc in documents:
            pending.extend(
                document_rows(doc, explode_sentences=self.explodeSentences, include_doc_id=self.includeDocId)
            )
            if len(pending) >= ROWS_PER_BATCH:
                flush()
        if pending:
            flush()
        return pa.Table.from_batches(batches, schema=schema)

    def readDataset(self, spark: Any, path: str, read_as: str = "TEXT", partitions: int = 8) -> Any:
        """Read CoNLL data into a DataFrame with Spark NLP's columns and annotator-type column metadata.

        Args:
            spark: the SparkSession.
            path: a file, a folder of files, or a glob.
            read_as: kept for Spark NLP compatibility; only ``"TEXT"`` exists.
            partitions: at most this many partitions (rows stay in file order).
        """
        from pyspark.sql.types import StringType, StructField, StructType

        from sparktag.annotation import annotation_column_type

        if str(read_as).upper() != "TEXT":
            raise ValueError(f"read_as={read_as!r}: only 'TEXT' is supported")
        table = self.read_arrow(path)
        schema = StructType(
            [
                StructField(out, StringType(), True)
                if kind is None
                else StructField(out, annotation_column_type(), True, column_metadata(kind))
                for _, out, kind in self._columns()
            ]
        )
        df = (
            spark.createDataFrame(table, schema=schema)
            if table.num_rows
            else spark.createDataFrame([], schema)
        )
        for _, out, kind in self._columns():
            if kind is not None:
                df = df.withMetadata(out, column_metadata(kind))
        # coalesce, not repartition: rows keep the file's order, so a seeded training run sees the same data
        # in the same order every time.
        return df.coalesce(partitions) if partitions else df

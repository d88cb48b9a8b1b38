"""CoNLL: read CoNLL-2003-style files into the DataFrame Spark NLP's ``CoNLL().readDataset`` gives."""

from __future__ import annotations

import io
import re
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import pyspark
from pyspark import StorageLevel

from sparktag.annotation import AnnotatorType, arrow_type, column_metadata, to_arrow
from sparktag.core.conll import (
    ConllDocument,
    ConllFormatError,
    parse_conll_lines,
    read_conll_documents,
    resolve_paths,
)
from sparktag.core.conll_rows import document_rows

ROWS_PER_BATCH = 4096
# helper columns that put the parsed rows back in file order
_FILE = "__sparktag_conll_file"
_ROW = "__sparktag_conll_row"


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

    def _split_every(self) -> int:
        """Rows are sentences: parse a long document (a file without ``-DOCSTART-``) in parts, not whole."""
        return ROWS_PER_BATCH if self.explodeSentences else 0

    def _arrow_schema(self) -> Any:
        import pyarrow as pa

        return pa.schema(
            [pa.field(out, pa.string() if kind is None else arrow_type()) for _, out, kind in self._columns()]
        )

    def _batches(self, documents: Iterable[ConllDocument]) -> Iterator[Any]:
        """The rows of ``documents`` as Arrow record batches of at most ``ROWS_PER_BATCH`` rows."""
        import pyarrow as pa

        cols = self._columns()
        schema = self._arrow_schema()
        pending: list[dict[str, Any]] = []

        def batch() -> Any:
            arrays = [
                pa.array([r[key] for r in pending], pa.string())
                if kind is None
                else to_arrow([r[key] for r in pending])
                for key, _, kind in cols
            ]
            pending.clear()
            return pa.RecordBatch.from_arrays(arrays, schema=schema)

        for doc in documents:
            pending.extend(
                document_rows(doc, explode_sentences=self.explodeSentences, include_doc_id=self.includeDocId)
            )
            if len(pending) >= ROWS_PER_BATCH:
                yield batch()
        if pending:
            yield batch()

    def read_arrow(self, path: str) -> Any:
        """Parse ``path`` (a local file, folder or glob) in this process into a pyarrow Table."""
        import pyarrow as pa

        documents = read_conll_documents(
            path,
            label_index=self.conllLabelIndex,
            pos_index=self.conllPosIndex,
            delimiter=self.delimiter,
            to_iob2=self.toIOB2,
            split_every=self._split_every(),
        )
        return pa.Table.from_batches(list(self._batches(documents)), schema=self._arrow_schema())

    def readDataset(
        self,
        spark: Any,
        path: str,
        read_as: str = "TEXT",
        partitions: int = 8,
        storage_level: StorageLevel | None = StorageLevel.DISK_ONLY,
    ) -> Any:
        """Read CoNLL data into a DataFrame with Spark NLP's columns and annotator-type column metadata.

        The files are parsed where Spark reads them (each by one task, so no process holds more than one file
        and its rows), then put in file order into ``partitions`` partitions and persisted, as Spark NLP does,
        with ``storage_level``. The read is eager: a malformed line raises here, naming ``file:line``.

        Args:
            spark: the SparkSession.
            path: a file, a folder of files, or a glob; local, or any Hadoop URI (``hdfs://``, ``s3a://``).
            read_as: kept for Spark NLP compatibility; only ``"TEXT"`` exists.
            partitions: up to this many partitions (each a contiguous run of rows in file order).
            storage_level: how the rows are persisted (a ``pyspark.StorageLevel``; default DISK_ONLY, so a
                large corpus costs disk, not memory); None to not persist.

        Raises:
            FileNotFoundError: a local ``path`` that names no file.
            ConllFormatError: a malformed line; the message starts with ``file:line:``.
        """
        from pyspark.sql.functions import col
        from pyspark.sql.types import LongType, StringType, StructField, StructType

        from sparktag.annotation import annotation_column_type

        if str(read_as).upper() != "TEXT":
            raise ValueError(f"read_as={read_as!r}: only 'TEXT' is supported")
        if partitions < 1:
            raise ValueError(f"partitions={partitions}: give at least 1")
        files, shown = _spark_paths(path)
        columns = self._columns()
        schema = StructType(
            [
                StructField(out, StringType(), True)
                if kind is None
                else StructField(out, annotation_column_type(), True, column_metadata(kind))
                for _, out, kind in columns
            ]
            + [StructField(_FILE, StringType(), False), StructField(_ROW, LongType(), False)]
        )
        parse = _FileParser(self, shown)
        raw = spark.read.format("binaryFile").load(files).select("path", "content")
        # A range sort on (file, row) keeps the file order Spark NLP gives (so a seeded training sees the data in
        # the same order every time) while spreading the rows evenly over the partitions.
        df = (
            raw.mapInArrow(parse, schema)
            .repartitionByRange(partitions, _FILE, _ROW)
            .sortWithinPartitions(_FILE, _ROW)
            .select(*[col(out) for _, out, _ in columns])
        )
        for _, out, kind in columns:
            if kind is not None:
                df = df.withMetadata(out, column_metadata(kind))
        return _read_now(spark, df, storage_level, path)


def _read_now(spark: Any, df: Any, storage_level: StorageLevel | None, path: str) -> Any:
    """Parse the files now (errors belong to readDataset) and persist the rows with ``storage_level``."""
    from pyspark.errors import PythonException

    from sparktag.spark.persistence import is_local_master, is_local_path

    try:
        # Parse now: errors belong to readDataset. A local checkpoint stores the rows as they stream out of
        # the sort; DataFrame.persist would first build columnar cache batches in the JVM heap, which runs a
        # 1 GB driver out of memory on a few hundred thousand sentences.
        if storage_level is None:
            df.count()
        elif is_local_master(spark) and _LOCAL_CHECKPOINT_TAKES_LEVEL:
            df = df.localCheckpoint(eager=True, storageLevel=storage_level)
        else:
            # On a cluster, a local checkpoint's blocks die with their executor and nothing can rebuild them:
            # a lost worker would fail every later job. Persisted rows keep their lineage, so Spark re-reads
            # and re-parses just the lost partitions from the (shared) files. (pyspark 3.5's localCheckpoint
            # takes no storageLevel either: 4.0 added it.)
            df = df.persist(storage_level)
            df.count()
    except PythonException as err:
        found = re.search(r"ConllFormatError: (.*)", str(err))
        if found:
            raise ConllFormatError(found.group(1)) from None
        raise
    except Exception as err:
        if is_local_master(spark) or not is_local_path(path) or not _unreadable(err):
            raise
        raise FileNotFoundError(
            f"readDataset: the executors cannot read {path}: it is on the driver's disk, and on a cluster the "
            "CoNLL files must be on storage every node reaches (hdfs://, s3a://, dbfs:/, or a folder mounted "
            "at the same path on every machine); copy them there and read that path"
        ) from err
    return df


_LOCAL_CHECKPOINT_TAKES_LEVEL = int(pyspark.__version__.split(".")[0]) >= 4


class _FileParser:
    """mapInArrow function: each input row is one file (``path``, ``content``); out come its rows in order."""

    def __init__(self, reader: CoNLL, shown: dict[str, str]) -> None:
        self.reader = reader
        self.shown = shown  # Spark's file URI -> the path to name in errors

    def __call__(self, batches: Iterator[Any]) -> Iterator[Any]:
        import pyarrow as pa

        r = self.reader
        for batch in batches:
            for uri, content in zip(
                batch.column("path").to_pylist(), batch.column("content").to_pylist(), strict=True
            ):
                documents = parse_conll_lines(
                    io.BytesIO(content),
                    self.shown.get(uri, uri),
                    label_index=r.conllLabelIndex,
                    pos_index=r.conllPosIndex,
                    delimiter=r.delimiter,
                    to_iob2=r.toIOB2,
                    split_every=r._split_every(),
                )
                row = 0
                for rows in r._batches(documents):
                    order = pa.array(range(row, row + rows.num_rows), pa.int64())
                    row += rows.num_rows
                    files = pa.array([uri] * rows.num_rows, pa.string())
                    yield pa.RecordBatch.from_arrays(
                        [*rows.columns, files, order], names=[*rows.schema.names, _FILE, _ROW]
                    )


def _unreadable(err: Exception) -> bool:
    """Whether a failed Spark job failed on reading a file (missing, or not readable by the executor)."""
    text = str(err)
    return any(
        s in text
        for s in ("FileNotFoundException", "AccessDeniedException", "Permission denied", "No such file")
    )


def _spark_paths(path: str) -> tuple[list[str], dict[str, str]]:
    """What to give ``spark.read`` for ``path``, and how to name each file URI Spark reports in errors.

    A local path (no scheme, or ``file:``) is resolved here, so a missing file fails at once with a clear
    message and a folder keeps only its regular, non-hidden files; any other URI goes to Spark as it is.
    """
    from sparktag.spark.persistence import is_local_path

    if not is_local_path(path):  # hdfs://, s3a://, dbfs:/, or a plain path on a non-local fs.defaultFS
        return [path], {}
    local = path.removeprefix("file://") if path.startswith("file://") else path.removeprefix("file:")
    files = resolve_paths(local)
    uris = [Path(f).absolute().as_uri() for f in files]
    # Spark reports file:/abs/path (one slash); errors name the file the way the user wrote it
    shown = {"file:" + Path(f).absolute().as_posix(): f for f in files}
    return uris, shown

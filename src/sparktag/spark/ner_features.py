"""NerDLApproach's featurising: annotation rows -> per-sentence records (on the executors) -> examples (driver).

Each partition turns its rows into compact per-sentence records with ``mapInArrow``: the token texts, the gold
tags (:func:`sparktag.core.labels.align_labels`) and one float32 buffer of the sentence's vectors. When the
columns come straight from sparktag stages, featurising runs in the same Python worker as those stages. The driver
reads them back as :class:`~sparktag.ner.data.NerExample` views of the Arrow buffers (no copies), all at once or,
with ``enableMemoryOptimizer``, streamed from local parquet in bounded chunks every epoch.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from sparktag.core.chunks import is_iob_tag
from sparktag.core.labels import align_labels, labels_without_token
from sparktag.core.tokens import tokens_by_sentence

# enableMemoryOptimizer: a streamed chunk holds up to 2048 sentences or 32 MB of vectors (so its memory does
# not grow with the embeddings' dimension); it is read 256 rows at a time from row groups of at most 16 MB.
CHUNK_ROWS = 2048
CHUNK_BYTES = 32 * 2**20
READ_ROWS = 256
ROW_GROUP_BYTES = 16 * 2**20


def record_schema() -> Any:
    """The Arrow schema of a featurised record: tokens, tags, dim, vectors (float32 bytes, row-major)."""
    import pyarrow as pa

    return pa.schema(
        [
            pa.field("tokens", pa.list_(pa.string())),
            pa.field("tags", pa.list_(pa.string())),
            pa.field("dim", pa.int32()),
            pa.field("vectors", pa.binary()),
        ]
    )


def featurize(
    df: Any,
    sentence_col: str,
    token_col: str,
    emb_col: str,
    label_col: str,
    *,
    entities: list[str],
    name: str,
) -> Any:
    """A DataFrame of per-sentence records: tokens, tags, dim, vectors (float32 bytes, row-major).

    Raises (when the records are computed):
        ValueError: a label covers no token, a tag is not an IOB tag, or a token has no vector; each names
            the column and what to change.
    """
    from pyspark.sql.types import ArrayType, BinaryType, IntegerType, StringType, StructField, StructType

    schema = StructType(
        [
            StructField("tokens", ArrayType(StringType())),
            StructField("tags", ArrayType(StringType())),
            StructField("dim", IntegerType()),
            StructField("vectors", BinaryType()),
        ]
    )
    cols = [token_col, emb_col, label_col]

    def run(batches: Iterator[Any]) -> Iterator[Any]:
        import pyarrow as pa

        from sparktag.annotation import from_arrow

        for batch in batches:
            tok, emb, lab = (from_arrow(batch.column(batch.schema.get_field_index(c))) for c in cols)
            out: dict[str, list[Any]] = {"tokens": [], "tags": [], "dim": [], "vectors": []}
            for tokens, embeddings, labels in zip(tok, emb, lab, strict=True):
                _add_records(out, tokens or [], embeddings or [], labels or [], entities, name, cols)
            yield pa.RecordBatch.from_pydict(out, schema=record_schema())

    from sparktag.spark.stage import _CHAIN_ATTR, _Chain, _compose

    chain = getattr(df, _CHAIN_ATTR, None)
    if isinstance(chain, _Chain) and not getattr(df, "is_cached", False):
        # run in the same Python worker as the sparktag stages that made the columns (see sparktag.spark.stage):
        # the embedding vectors go straight from the encoder to the records, never back through the JVM
        return chain.source.mapInArrow(_compose((*chain.mappers, run)), schema)
    return df.select(*cols).mapInArrow(run, schema)


def _add_records(
    out: dict[str, list[Any]],
    tokens: list[Any],
    embeddings: list[Any],
    labels: list[Any],
    entities: list[str],
    name: str,
    cols: list[str],
) -> None:
    """Append one row's sentences to ``out`` as records; ``cols`` are the token, embeddings and label columns."""
    import numpy as np

    token_col, emb_col, label_col = cols
    by_begin = {e.begin: e.embeddings for e in embeddings}
    lost = labels_without_token(tokens, labels)
    if lost:
        a = lost[0]
        word = a.metadata.get("word", "")
        raise ValueError(
            f"{name}: label {a.result!r} for {word!r} at characters {a.begin}-{a.end} in column "
            f"{label_col!r} covers no token of column {token_col!r} ({len(lost)} such label(s) in this "
            f"row; tokens: {' '.join(t.result for t in tokens[:30])!r}); the labels must describe the "
            "same text as the tokens: build both from the same document column, and check that no "
            "tokenizer setting (minLength, maxLength, splitChars) drops labelled words"
        )
    for group in tokens_by_sentence(tokens):
        tags = align_labels(group, labels, entities)
        for tag in tags:
            if not is_iob_tag(tag):
                raise ValueError(
                    f"{name}: label {tag!r} in column {label_col!r} is not an IOB tag (O, B-X, I-X, E-X, S-X)"
                )
        rows = [by_begin.get(t.begin) for t in group]
        if any(r is None for r in rows):
            t = group[[r is None for r in rows].index(True)]
            raise ValueError(
                f"{name}: token {t.result!r} at {t.begin}-{t.end} has no vector in column {emb_col!r}; "
                "make the embeddings from the same token column"
            )
        matrix = np.asarray(rows, dtype=np.float32)
        out["tokens"].append([t.result for t in group])
        out["tags"].append(tags)
        out["dim"].append(int(matrix.shape[1]) if matrix.size else 0)
        out["vectors"].append(matrix.tobytes())


def records_to_examples(table: Any) -> list[Any]:
    """NerExamples of featurized records (a pyarrow Table or RecordBatch); the vectors are read-only views of the
    Arrow buffers, not copies, so the records cost their memory once."""
    import numpy as np

    from sparktag.arrow_binary import binary_values
    from sparktag.ner.data import NerExample

    examples = []
    for tokens, tags, dim, data in zip(
        table.column("tokens").to_pylist(),
        table.column("tags").to_pylist(),
        table.column("dim").to_pylist(),
        binary_values(table.column("vectors")),
        strict=True,
    ):
        if not tokens:
            continue
        # every value is n x dim x 4 bytes, so the float32 view is exact
        examples.append(NerExample(tokens, data.view(np.float32).reshape(len(tokens), dim), tags))
    return examples


def examples(records: Any) -> list[Any]:
    """Every featurised record of a DataFrame, collected to the driver as examples."""
    if not hasattr(records, "toArrow"):  # pyspark 3.5 (DataFrame.toArrow came in 4.0)
        import pyarrow as pa

        batches = records._collect_as_arrow()
        return records_to_examples(pa.Table.from_batches(batches)) if batches else []
    return records_to_examples(records.toArrow())


def parquet_source(records: Any, folder: str) -> Callable[[], Iterator[list[Any]]]:
    """enableMemoryOptimizer: records go to local parquet once; each epoch streams them back in chunks.

    The files are read one after the other, a few rows at a time, with no read-ahead, from row groups of at most
    ``ROW_GROUP_BYTES``; examples view the Arrow buffers. What is in memory at once is one chunk of examples
    (``CHUNK_ROWS`` / ``CHUNK_BYTES``), however large the data.
    """
    import glob

    import pyarrow.parquet as pq

    from sparktag.spark.persistence import is_local_master

    if is_local_master(records.sparkSession):
        (
            records.write.mode("overwrite")
            .option("parquet.block.size", ROW_GROUP_BYTES)
            .parquet("file://" + os.path.abspath(folder))
        )
    else:
        # On a cluster, executors writing to the driver's folder would write to their own disks (or fail to):
        # the driver pulls the records itself, one partition at a time, into its local parquet.
        pull_records(records, os.path.join(folder, "part-00000.parquet"))
    files = sorted(glob.glob(os.path.join(folder, "*.parquet")))

    def batches() -> Iterator[Any]:
        for path in files:
            with pq.ParquetFile(path, pre_buffer=False) as parquet:
                # small reads: Arrow's decoding buffers stay small; the examples view the batches' memory
                yield from parquet.iter_batches(batch_size=READ_ROWS, use_threads=False)

    def chunks() -> Iterator[list[Any]]:
        return example_chunks(batches())

    return chunks


def example_chunks(batches: Iterable[Any]) -> Iterator[list[Any]]:
    """Featurised record batches as lists of examples, each at most ``CHUNK_ROWS`` sentences or
    ``CHUNK_BYTES`` of vectors, so a streaming epoch holds one bounded chunk at a time."""
    chunk: list[Any] = []
    held = 0  # bytes of vectors in the chunk
    for batch in batches:
        chunk.extend(records_to_examples(batch))
        held += batch.column("vectors").nbytes
        if len(chunk) >= CHUNK_ROWS or held >= CHUNK_BYTES:
            yield chunk
            chunk, held = [], 0
    if chunk:
        yield chunk


def pull_records(records: Any, path: str) -> None:
    """Stream featurized records to a parquet file on the driver, one partition in memory at a time."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    schema = record_schema()
    os.makedirs(os.path.dirname(path), exist_ok=True)
    pending: list[Any] = []
    held = 0

    def flush(writer: Any) -> None:
        nonlocal held
        columns = {name: [row[name] for row in pending] for name in schema.names}
        writer.write_batch(pa.RecordBatch.from_pydict(columns, schema=schema), row_group_size=len(pending))
        pending.clear()
        held = 0

    with pq.ParquetWriter(path, schema, compression="none") as writer:
        for row in records.toLocalIterator(prefetchPartitions=True):
            pending.append(row)
            held += len(row["vectors"])
            if held >= ROW_GROUP_BYTES or len(pending) >= CHUNK_ROWS:
                flush(writer)
        if pending:
            flush(writer)


def has_examples(source: Any) -> bool:
    """Whether a training source (examples, or a chunk factory) holds at least one example."""
    if callable(source):
        return any(len(chunk) for chunk in source())
    return bool(source)


def read_test(train_df: Any, path: str) -> Any:
    """The testDataset parquet folder, read with the training DataFrame's session."""
    return train_df.sparkSession.read.parquet(path)

"""The one data contract: Spark NLP's annotation struct, as a dataclass, a Spark schema and an Arrow type.

A column of annotations is ``array<struct<annotatorType, begin, end, result, metadata, embeddings>>``;
``begin`` and ``end`` are inclusive character offsets into the text the annotation was made from, so an
annotation covering ``text[b:e]`` has ``begin=b, end=e - 1``. The column's Spark metadata carries
``{"annotatorType": ...}`` exactly as Spark NLP writes it.

This module imports neither Spark nor pyarrow at import time; the schema helpers import them lazily.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    import pyarrow as pa
    from pyspark.sql.types import StructType


class AnnotatorType:
    """Annotator type names, spelled as Spark NLP spells them."""

    DOCUMENT = "document"
    TOKEN = "token"
    WORDPIECE = "wordpiece"
    WORD_EMBEDDINGS = "word_embeddings"
    SENTENCE_EMBEDDINGS = "sentence_embeddings"
    POS = "pos"
    NAMED_ENTITY = "named_entity"
    CHUNK = "chunk"
    LABELED_DEPENDENCY = "labeled_dependency"
    DUMMY = "dummy"


@dataclass(eq=False)
class Annotation:
    """One annotation, field for field Spark NLP's ``Annotation``.

    Args:
        annotator_type: one of :class:`AnnotatorType`'s names, e.g. ``"token"``.
        begin: first character offset (inclusive).
        end: last character offset (inclusive); ``end == begin - 1`` for an empty span.
        result: the annotation's value (the token text, the tag, the chunk text, ...).
        metadata: string -> string map (``sentence``, ``confidence``, ``entity``, ...).
        embeddings: a float vector (empty unless the annotator produces one): a list of floats, or a float32
            numpy vector where sparktag made or read one (embedding stages, Arrow columns), which avoids
            turning hundreds of floats per token into Python objects. Equality compares the values.

    Example:
        >>> Annotation("token", 0, 4, "Hello", {"sentence": "0"})
        Annotation(annotator_type='token', begin=0, end=4, result='Hello', metadata={'sentence': '0'}, embeddings=[])
    """

    annotator_type: str
    begin: int
    end: int
    result: str
    metadata: dict[str, str] = field(default_factory=dict)
    embeddings: Any = field(default_factory=list)  # Sequence[float]: a list or a float32 numpy vector

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Annotation):
            return NotImplemented
        return (
            self.annotator_type == other.annotator_type
            and self.begin == other.begin
            and self.end == other.end
            and self.result == other.result
            and self.metadata == other.metadata
            and _same_vector(self.embeddings, other.embeddings)
        )

    # Spark NLP's Python class exposes the camelCase name too.
    @property
    def annotatorType(self) -> str:  # noqa: N802 - Spark NLP's spelling
        return self.annotator_type

    def to_dict(self) -> dict[str, Any]:
        """The annotation as the dict Spark rows and Arrow use (camelCase ``annotatorType``)."""
        return {
            "annotatorType": self.annotator_type,
            "begin": self.begin,
            "end": self.end,
            "result": self.result,
            "metadata": dict(self.metadata),
            "embeddings": _float_list(self.embeddings),
        }

    @classmethod
    def from_dict(cls, value: Mapping[str, Any]) -> Annotation:
        """Build from a Spark ``Row``/dict or an Arrow ``to_pylist()`` struct (maps come as key/value pairs)."""
        if hasattr(value, "asDict"):
            value = value.asDict()  # type: ignore[union-attr]
        metadata = value.get("metadata") or {}
        if not isinstance(metadata, Mapping):  # Arrow gives a map as a list of (key, value) tuples
            metadata = dict(metadata)
        embeddings = value.get("embeddings")
        return cls(
            annotator_type=value["annotatorType"],
            begin=int(value["begin"]),
            end=int(value["end"]),
            result=value["result"] if value["result"] is not None else "",
            metadata={str(k): "" if v is None else str(v) for k, v in metadata.items()},
            embeddings=[float(x) for x in embeddings] if embeddings is not None else [],
        )

    def to_arrow_value(self) -> dict[str, Any]:
        """The annotation as a value for :func:`arrow_type` (maps as key/value pairs, kept in order)."""
        return {
            "annotatorType": self.annotator_type,
            "begin": self.begin,
            "end": self.end,
            "result": self.result,
            "metadata": list(self.metadata.items()),
            "embeddings": _float_list(self.embeddings),
        }


def _float_list(vector: Any) -> list[float]:
    return vector.tolist() if hasattr(vector, "tolist") else [float(x) for x in vector]


def _same_vector(a: Any, b: Any) -> bool:
    if len(a) != len(b):
        return False
    if not len(a):
        return True
    import numpy as np

    return bool(np.array_equal(np.asarray(a, dtype=np.float32), np.asarray(b, dtype=np.float32)))


def annotation_schema() -> StructType:
    """The Spark struct of one annotation, field for field Spark NLP's."""
    from pyspark.sql.types import (
        ArrayType,
        FloatType,
        IntegerType,
        MapType,
        StringType,
        StructField,
        StructType,
    )

    return StructType(
        [
            StructField("annotatorType", StringType(), True),
            StructField("begin", IntegerType(), False),
            StructField("end", IntegerType(), False),
            StructField("result", StringType(), True),
            StructField("metadata", MapType(StringType(), StringType(), True), True),
            StructField("embeddings", ArrayType(FloatType(), False), True),
        ]
    )


def annotation_column_type() -> Any:
    """The Spark type of an annotation column: ``array<annotation>``."""
    from pyspark.sql.types import ArrayType

    return ArrayType(annotation_schema(), True)


def column_metadata(annotator_type: str) -> dict[str, str]:
    """Spark column metadata that marks a column as holding annotations of ``annotator_type``."""
    return {"annotatorType": annotator_type}


def arrow_type() -> pa.DataType:
    """The Arrow type of an annotation column: ``list<struct<...>>`` matching :func:`annotation_schema`."""
    import pyarrow as pa

    struct = pa.struct(
        [
            pa.field("annotatorType", pa.string()),
            pa.field("begin", pa.int32(), nullable=False),
            pa.field("end", pa.int32(), nullable=False),
            pa.field("result", pa.string()),
            pa.field("metadata", pa.map_(pa.string(), pa.string())),
            pa.field("embeddings", pa.list_(pa.field("element", pa.float32(), nullable=False))),
        ]
    )
    return pa.list_(pa.field("element", struct))


def _nullable(t: pa.DataType) -> pa.DataType:
    """``t`` with every nested field nullable (for comparing types up to nullability)."""
    import pyarrow as pa

    if pa.types.is_struct(t):
        return pa.struct([pa.field(f.name, _nullable(f.type)) for f in t])
    if pa.types.is_map(t):
        return pa.map_(_nullable(t.key_type), _nullable(t.item_type))
    if pa.types.is_list(t):
        return pa.list_(pa.field(t.value_field.name, _nullable(t.value_type)))
    return t


def to_arrow(rows: Sequence[Sequence[Annotation] | None]) -> pa.Array:
    """Convert a column (one list of annotations per row; ``None`` for a null cell) to an Arrow array.

    Built column by column (offsets + flat child arrays), not from per-annotation dicts: this is the hot path
    of every Spark stage, and of embedding columns with hundreds of floats per token.
    """
    import numpy as np
    import pyarrow as pa

    list_type = arrow_type()
    struct_type = list_type.value_type
    offsets = [0]
    nulls: list[bool] = []
    types: list[str] = []
    begins: list[int] = []
    ends: list[int] = []
    results: list[str] = []
    meta_offsets = [0]
    meta_keys: list[str] = []
    meta_values: list[str] = []
    emb_offsets = [0]
    emb_parts: list[Any] = []
    emb_total = 0
    for row in rows:
        nulls.append(row is None)
        for a in row or ():
            types.append(a.annotator_type)
            begins.append(a.begin)
            ends.append(a.end)
            results.append(a.result)
            meta_keys.extend(a.metadata.keys())
            meta_values.extend(a.metadata.values())
            meta_offsets.append(len(meta_keys))
            if len(a.embeddings):
                emb_parts.append(a.embeddings)
                emb_total += len(a.embeddings)
            emb_offsets.append(emb_total)
        offsets.append(len(types))
    flat = (
        np.concatenate([np.asarray(e, dtype=np.float32) for e in emb_parts])
        if emb_parts
        else np.zeros(0, dtype=np.float32)
    )
    fields = [struct_type.field(i) for i in range(struct_type.num_fields)]
    children = [
        pa.array(types, pa.string()),
        pa.array(begins, pa.int32()),
        pa.array(ends, pa.int32()),
        pa.array(results, pa.string()),
        pa.MapArray.from_arrays(
            pa.array(meta_offsets, pa.int32()),
            pa.array(meta_keys, pa.string()),
            pa.array(meta_values, pa.string()),
            type=fields[4].type,
        ),
        pa.ListArray.from_arrays(pa.array(emb_offsets, pa.int32()), pa.array(flat), type=fields[5].type),
    ]
    struct = pa.StructArray.from_arrays(children, fields=fields)
    mask = pa.array(nulls, pa.bool_()) if any(nulls) else None
    return pa.ListArray.from_arrays(pa.array(offsets, pa.int32()), struct, type=list_type, mask=mask)


def from_arrow(array: pa.Array | pa.ChunkedArray) -> list[list[Annotation] | None]:
    """Convert an Arrow annotation column back to lists of :class:`Annotation` (``None`` stays ``None``).

    Reads the flat child arrays once (not ``to_pylist()`` per struct), which keeps large embedding columns
    cheap: each vector is one slice of a float32 buffer.
    """
    import pyarrow as pa

    if isinstance(array, pa.ChunkedArray):
        return [row for chunk in array.chunks for row in from_arrow(chunk)]
    if _nullable(array.type) != _nullable(arrow_type()):  # other types (int64, large_list, ...): convert
        array = array.cast(arrow_type())
    # (a type that differs only in which fields may be null is read as it is: Spark sends annotation columns
    # with every field nullable, and pyarrow < 16 refuses to cast a nullable field to a non-nullable one)
    if array.offset:  # a slice: normalise offsets to start at zero
        array = pa.concat_arrays([array])
    row_offsets = array.offsets.to_numpy()
    values = array.values
    start, stop = int(row_offsets[0]), int(row_offsets[-1])
    values = values.slice(start, stop - start)
    types = values.field("annotatorType").to_pylist()
    begins = values.field("begin").to_pylist()
    ends = values.field("end").to_pylist()
    results = values.field("result").to_pylist()
    meta = values.field("metadata")
    meta_offsets = meta.offsets.to_numpy()
    keys = meta.keys.to_pylist()
    items = meta.items.to_pylist()
    emb = values.field("embeddings")
    emb_offsets = emb.offsets.to_numpy()
    emb_values = emb.values.to_numpy(zero_copy_only=False)
    anns: list[Annotation] = []
    for i in range(stop - start):
        m0, m1 = int(meta_offsets[i]), int(meta_offsets[i + 1])
        e0, e1 = int(emb_offsets[i]), int(emb_offsets[i + 1])
        anns.append(
            Annotation(
                types[i],
                begins[i],
                ends[i],
                results[i] if results[i] is not None else "",
                {k: "" if v is None else v for k, v in zip(keys[m0:m1], items[m0:m1], strict=True)},
                emb_values[e0:e1] if e1 > e0 else [],  # a float32 view: no per-float Python objects
            )
        )
    valid = array.is_valid().to_pylist() if array.null_count else [True] * len(array)
    out: list[list[Annotation] | None] = []
    for r in range(len(array)):
        if not valid[r]:
            out.append(None)
            continue
        out.append(anns[int(row_offsets[r]) - start : int(row_offsets[r + 1]) - start])
    return out


def from_rows(rows: Iterable[Any] | None) -> list[Annotation]:
    """Convert one Spark cell (a list of ``Row``) to annotations; ``None`` gives an empty list."""
    return [Annotation.from_dict(r) for r in rows or []]

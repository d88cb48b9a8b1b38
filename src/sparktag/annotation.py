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


@dataclass
class Annotation:
    """One annotation, field for field Spark NLP's ``Annotation``.

    Args:
        annotator_type: one of :class:`AnnotatorType`'s names, e.g. ``"token"``.
        begin: first character offset (inclusive).
        end: last character offset (inclusive); ``end == begin - 1`` for an empty span.
        result: the annotation's value (the token text, the tag, the chunk text, ...).
        metadata: string -> string map (``sentence``, ``confidence``, ``entity``, ...).
        embeddings: a float vector (empty unless the annotator produces one).

    Example:
        >>> Annotation("token", 0, 4, "Hello", {"sentence": "0"})
        Annotation(annotator_type='token', begin=0, end=4, result='Hello', metadata={'sentence': '0'}, embeddings=[])
    """

    annotator_type: str
    begin: int
    end: int
    result: str
    metadata: dict[str, str] = field(default_factory=dict)
    embeddings: list[float] = field(default_factory=list)

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
            "embeddings": list(self.embeddings),
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
            "embeddings": self.embeddings,
        }


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


def to_arrow(rows: Sequence[Sequence[Annotation] | None]) -> pa.Array:
    """Convert a column (one list of annotations per row; ``None`` for a null cell) to an Arrow array."""
    import pyarrow as pa

    values = [None if row is None else [a.to_arrow_value() for a in row] for row in rows]
    return pa.array(values, type=arrow_type())


def from_arrow(array: pa.Array | pa.ChunkedArray) -> list[list[Annotation] | None]:
    """Convert an Arrow annotation column back to lists of :class:`Annotation` (``None`` stays ``None``)."""
    return [None if row is None else [Annotation.from_dict(a) for a in row] for row in array.to_pylist()]


def from_rows(rows: Iterable[Any] | None) -> list[Annotation]:
    """Convert one Spark cell (a list of ``Row``) to annotations; ``None`` gives an empty list."""
    return [Annotation.from_dict(r) for r in rows or []]

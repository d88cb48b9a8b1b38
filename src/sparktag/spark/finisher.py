"""Finisher and EmbeddingsFinisher: annotation columns -> plain columns (strings, string arrays, vectors).

Spark NLP's params, defaults and output columns: ``Finisher`` writes ``finished_<col>`` (an ``array<string>`` of
results, or one ``string`` joined with ``annotationSplitSymbol``) and, with ``includeMetadata`` on an array
output, ``finished_<col>_metadata`` (``map<string,string>``); ``EmbeddingsFinisher`` writes ``finished_<col>``
as ``array<array<float>>``, or ``array<vector>`` with ``outputAsVector``.

The values come from plain functions (:mod:`sparktag.core.finishing`, called by :meth:`Finisher.finish_row` and
:meth:`EmbeddingsFinisher.finish_row`) that the Spark stage maps over Arrow batches and
:meth:`sparktag.light.LightPipeline.finish` calls in-process, so both paths give the same values.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from pyspark import keyword_only
from pyspark.ml import Transformer
from pyspark.ml.param import TypeConverters
from pyspark.sql import DataFrame

from sparktag.annotation import Annotation
from sparktag.core.finishing import EMBEDDING_TYPES, FinisherConfig, finish_annotations, finish_embeddings
from sparktag.spark.params import HasInputCols, ParamSpec, column_names
from sparktag.spark.persistence import ParamsReadWrite

_ANNOTATION_FIELDS = {"annotatorType", "begin", "end", "result", "metadata", "embeddings"}


def _is_annotation_column(data_type: Any) -> bool:
    from pyspark.sql.types import ArrayType, StructType

    return (
        isinstance(data_type, ArrayType)
        and isinstance(data_type.elementType, StructType)
        and set(data_type.elementType.names) >= _ANNOTATION_FIELDS
    )


class _FinisherParams(HasInputCols):
    param_table: tuple[ParamSpec, ...] = (
        ParamSpec(
            "outputCols",
            "output column names, one per input column (empty: finished_<input column>)",
            TypeConverters.toListString,
            [],
        ),
        ParamSpec(
            "cleanAnnotations",
            "whether to drop every annotation column from the output",
            TypeConverters.toBoolean,
        ),
    )

    def setOutputCols(self, *value: Any) -> Any:
        """Output column names: ``setOutputCols("a", "b")`` or a list."""
        return self._set(outputCols=column_names(value))

    def getOutputCols(self) -> list[str]:
        """The output columns: ``outputCols``, or ``finished_<input column>`` for each input column."""
        given = list(self.getOrDefault(self.outputCols))
        return given or ["finished_" + col for col in self.getInputCols()]

    # -- the Spark side, shared by both finishers --------------------------------------------------------
    def finish_row(self, columns: dict[str, list[Annotation]]) -> dict[str, Any]:  # pragma: no cover
        """The output values of one row, by output column, from its annotations by input column."""
        raise NotImplementedError

    def _output_fields(self) -> list[Any]:  # pragma: no cover - abstract
        raise NotImplementedError

    def _check(self, df: DataFrame) -> None:
        name = f"{type(self).__name__} ({self.uid})"
        if not self.isDefined(self.inputCols):
            raise ValueError(f"{name}: inputCols is not set; call setInputCols(...) with annotation columns")
        inputs, outputs = self.getInputCols(), self.getOutputCols()
        if len(inputs) != len(outputs):
            raise ValueError(
                f"{name}: inputCols has {len(inputs)} columns {inputs} but outputCols has {len(outputs)} "
                f"{outputs}; give one output column per input column (or none, for finished_<col>)"
            )
        for col in inputs:
            if col not in df.columns:
                raise ValueError(
                    f"{name}: input column {col!r} is not in the DataFrame (columns: {', '.join(df.columns)}); "
                    "fix setInputCols(...)"
                )
            if not _is_annotation_column(df.schema[col].dataType):
                raise ValueError(
                    f"{name}: column {col!r} is not an annotation column; finish annotation columns"
                )

    def _output_schema(self, df: DataFrame) -> Any:
        """Spark NLP's layout: outputs replace same-named columns in place or are appended, then the
        annotation columns are dropped if cleanAnnotations."""
        from pyspark.sql.types import StructType

        fields = list(df.schema.fields)
        for new in self._output_fields():
            names = [f.name for f in fields]
            if new.name in names:
                fields[names.index(new.name)] = new
            else:
                fields.append(new)
        if self.getCleanAnnotations():
            fields = [f for f in fields if not _is_annotation_column(f.dataType)]
        return StructType(fields)

    def _transform(self, df: DataFrame) -> DataFrame:
        from sparktag.spark.stage import _CHAIN_ATTR, _Chain, _compose

        self._check(df)
        schema = self._arrow_schema(self._output_schema(df))
        new = {f.name for f in self._output_fields()}
        new_types = {f.name: _arrow_type(f.dataType) for f in schema.fields if f.name in new}
        mapper = _finisher_mapper(self, schema.names, new_types)
        chain = getattr(df, _CHAIN_ATTR, None)
        if isinstance(chain, _Chain) and not getattr(df, "is_cached", False):
            # run in the same Python worker as the sparktag stages before it (see sparktag.spark.stage)
            result = chain.source.mapInArrow(_compose((*chain.mappers, mapper)), schema)
            kept = list(chain.metadata)
        else:
            result = df.mapInArrow(mapper, schema)
            kept = [(f.name, f.metadata) for f in df.schema.fields if f.metadata]
        # mapInArrow drops field metadata: put back that of kept columns (later stages win on reused names),
        # never on a finished column that took an annotation column's name
        for col, meta in kept:
            if col in schema.names and col not in new:
                result = result.withMetadata(col, meta)
        return self._after_arrow(result)

    def _arrow_schema(self, schema: Any) -> Any:
        """The schema the Arrow mapper writes (Vectors cannot cross Arrow: they are converted afterwards)."""
        return schema

    def _after_arrow(self, df: DataFrame) -> DataFrame:
        return df


def _arrow_type(data_type: Any) -> Any:
    """The Arrow type of the columns the finishers write (strings, string maps, float and string arrays)."""
    import pyarrow as pa
    from pyspark.sql.types import ArrayType, FloatType, MapType, StringType

    if isinstance(data_type, StringType):
        return pa.string()
    if isinstance(data_type, FloatType):
        return pa.float32()
    if isinstance(data_type, MapType):
        return pa.map_(pa.string(), pa.string())
    if isinstance(data_type, ArrayType):
        return pa.list_(_arrow_type(data_type.elementType))
    raise TypeError(f"finisher output of type {data_type} has no Arrow type here")  # pragma: no cover


def _finisher_mapper(stage: _FinisherParams, out_names: list[str], new_types: dict[str, Any]) -> Any:
    """The function shipped to Python workers: decode the input annotation columns, add the finished ones."""
    inputs = stage.getInputCols()
    finish = stage.finish_row

    def run(batches: Iterator[Any]) -> Iterator[Any]:
        import pyarrow as pa

        from sparktag.spark.stage import _decode

        for batch in batches:
            decoded = {c: _decode(batch.column(batch.schema.get_field_index(c))) for c in inputs}
            rows = [finish({c: decoded[c][i] for c in inputs}) for i in range(batch.num_rows)]
            arrays = [
                pa.array([r[name] for r in rows], type=new_types[name])
                if name in new_types
                else batch.column(batch.schema.get_field_index(name))
                for name in out_names
            ]
            yield pa.RecordBatch.from_arrays(arrays, names=out_names)

    return run


class Finisher(_FinisherParams, Transformer, ParamsReadWrite):
    """Spark NLP's Finisher: annotation columns -> their results as ``array<string>`` (or one string).

    Args (keyword constructor, or the setters):
        inputCols: annotation columns to finish.
        outputCols: output names; default ``finished_<input column>``.
        outputAsArray: ``array<string>`` of results (default); ``False`` gives one string per row, results
            joined with ``annotationSplitSymbol`` (``"@"``).
        includeMetadata: with outputAsArray, add ``<output>_metadata`` (``map<string,string>``: the metadata of
            the row's annotations merged, later ones winning, as Spark NLP 6 on Spark 4 does); with a string
            output, each annotation is written ``key->value`` pairs joined with ``valueSplitSymbol`` (``"#"``),
            metadata first and ``result`` last.
        parseEmbeddingsVectors: write an embedding annotation's vector instead of its result (values joined
            with a space in arrays, ``valueSplitSymbol`` in strings).
        cleanAnnotations: drop every annotation column (default ``True``).

    Example:
        >>> finisher = Finisher().setInputCols(["ner"]).setOutputCols(["tags"])  # doctest: +SKIP
        >>> finisher.transform(df).select("tags")  # doctest: +SKIP
    """

    param_table: tuple[ParamSpec, ...] = (
        ParamSpec(
            "valueSplitSymbol",
            "separates the values of one annotation (metadata pairs, vector values) in string output",
            TypeConverters.toString,
            "#",
        ),
        ParamSpec(
            "annotationSplitSymbol", "separates annotations in string output", TypeConverters.toString, "@"
        ),
        ParamSpec(
            "includeMetadata", "whether to include annotation metadata", TypeConverters.toBoolean, False
        ),
        ParamSpec(
            "outputAsArray", "an array of results instead of one string", TypeConverters.toBoolean, True
        ),
        ParamSpec(
            "parseEmbeddingsVectors",
            "whether to write embedding annotations' vectors instead of their results",
            TypeConverters.toBoolean,
            False,
        ),
    )
    param_defaults = {"cleanAnnotations": True}

    @keyword_only
    def __init__(
        self,
        *,
        inputCols: list[str] | None = None,
        outputCols: list[str] | None = None,
        valueSplitSymbol: str | None = None,
        annotationSplitSymbol: str | None = None,
        cleanAnnotations: bool | None = None,
        includeMetadata: bool | None = None,
        outputAsArray: bool | None = None,
        parseEmbeddingsVectors: bool | None = None,
    ) -> None:
        super().__init__()
        self._init_params(self._input_kwargs)

    def _output_fields(self) -> list[Any]:
        from pyspark.sql.types import ArrayType, MapType, StringType, StructField

        as_array = self.getOutputAsArray()
        fields = [
            StructField(out, ArrayType(StringType(), True), False)
            if as_array
            else StructField(out, StringType(), True)
            for out in self.getOutputCols()
        ]
        if as_array and self.getIncludeMetadata():
            fields += [
                StructField(out + "_metadata", MapType(StringType(), StringType(), True), False)
                for out in self.getOutputCols()
            ]
        return fields

    def finish_row(self, columns: dict[str, list[Annotation]]) -> dict[str, Any]:
        """The finished values of one row: output column -> value (and ``<output>_metadata`` when asked).

        Example:
            >>> ner = [Annotation("named_entity", 0, 4, "B-PER", {"word": "Maria"})]
            >>> Finisher().setInputCols(["ner"]).finish_row({"ner": ner})
            {'finished_ner': ['B-PER']}
        """
        return finish_annotations(
            columns,
            FinisherConfig(
                input_cols=self.getInputCols(),
                output_cols=self.getOutputCols(),
                output_as_array=self.getOutputAsArray(),
                include_metadata=self.getIncludeMetadata(),
                parse_embeddings=self.getParseEmbeddingsVectors(),
                value_split=self.getValueSplitSymbol(),
                annotation_split=self.getAnnotationSplitSymbol(),
            ),
        )


class EmbeddingsFinisher(_FinisherParams, Transformer, ParamsReadWrite):
    """Spark NLP's EmbeddingsFinisher: embedding annotation columns -> their vectors, one per annotation.

    Args (keyword constructor, or the setters):
        inputCols: ``word_embeddings`` / ``sentence_embeddings`` columns.
        outputCols: output names; default ``finished_<input column>``.
        outputAsVector: ``array<vector>`` (Spark ML dense vectors of doubles) instead of ``array<array<float>>``.
        cleanAnnotations: drop every annotation column (default ``False``, Spark NLP's Python default).

    Example:
        >>> EmbeddingsFinisher().setInputCols("embeddings").setOutputAsVector(True)  # doctest: +ELLIPSIS
        EmbeddingsFinisher_...
    """

    param_table: tuple[ParamSpec, ...] = (
        ParamSpec(
            "outputAsVector",
            "write Spark ML vectors instead of float arrays",
            TypeConverters.toBoolean,
            False,
        ),
    )
    param_defaults = {"cleanAnnotations": False}

    @keyword_only
    def __init__(
        self,
        *,
        inputCols: list[str] | None = None,
        outputCols: list[str] | None = None,
        cleanAnnotations: bool | None = None,
        outputAsVector: bool | None = None,
    ) -> None:
        super().__init__()
        self._init_params(self._input_kwargs)

    def _check(self, df: DataFrame) -> None:
        super()._check(df)
        for col in self.getInputCols():
            kind = df.schema[col].metadata.get("annotatorType")
            if kind is not None and kind not in EMBEDDING_TYPES:
                raise ValueError(
                    f"EmbeddingsFinisher ({self.uid}): column {col!r} holds {kind!r} annotations; it finishes "
                    f"embeddings columns ({', '.join(EMBEDDING_TYPES)}), e.g. WordEmbeddings' or BertEmbeddings'"
                )

    def _output_fields(self) -> list[Any]:
        from pyspark.ml.linalg import VectorUDT
        from pyspark.sql.types import ArrayType, FloatType, StructField

        element = VectorUDT() if self.getOutputAsVector() else ArrayType(FloatType(), False)
        return [StructField(out, ArrayType(element, True), False) for out in self.getOutputCols()]

    def finish_row(self, columns: dict[str, list[Annotation]]) -> dict[str, Any]:
        """The vectors of one row by output column: float lists (``DenseVector`` with outputAsVector, in
        :meth:`~sparktag.light.LightPipeline.finish`; the Spark stage converts them after Arrow).

        Example:
            >>> emb = [Annotation("word_embeddings", 0, 4, "Maria", {}, [0.5, 1.0])]
            >>> EmbeddingsFinisher().setInputCols(["embeddings"]).finish_row({"embeddings": emb})
            {'finished_embeddings': [[0.5, 1.0]]}
        """
        return finish_embeddings(columns, self.getInputCols(), self.getOutputCols())

    def _arrow_schema(self, schema: Any) -> Any:
        """Vectors leave the Python worker as ``array<array<float>>`` and become vectors in the JVM."""
        from pyspark.ml.linalg import VectorUDT
        from pyspark.sql.types import ArrayType, FloatType, StructField, StructType

        def plain(field: Any) -> Any:
            dt = field.dataType
            if isinstance(dt, ArrayType) and isinstance(dt.elementType, VectorUDT):
                return StructField(field.name, ArrayType(ArrayType(FloatType(), False), True), False)
            return field

        return StructType([plain(f) for f in schema.fields])

    def _after_arrow(self, df: DataFrame) -> DataFrame:
        if not self.getOutputAsVector():
            return df
        from pyspark.ml.functions import array_to_vector
        from pyspark.sql import functions as sf

        for out in self.getOutputCols():  # in place: the column keeps its position
            df = df.withColumn(out, sf.transform(sf.col(out), lambda v: array_to_vector(v)))
        return df


__all__ = ["EmbeddingsFinisher", "Finisher"]

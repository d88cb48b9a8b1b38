"""The one mechanism every annotator stage shares: a pure batch function mapped over Arrow batches.

A stage implements :meth:`AnnotatorModel._annotator`, which returns a plain function::

    annotate(columns: list[list[value]]) -> list[list[Annotation]]
    # columns[i][row] is input column i of that row: a list[Annotation] for an annotation column,
    # a plain Python value (str, dict, ...) for any other column; the result has one list per row.

``_transform`` maps that function over the DataFrame with ``mapInArrow`` (Arrow in, Arrow out, no row
objects), and :class:`sparktag.light.LightPipeline` calls the very same function in-process. The function
must only close over plain, picklable values (configs, small lookups): it is pickled into every task.

A model's weights are not such a value: pickled into the function, they would travel with every task (and be
re-sent, re-broadcast by pyspark above 1 MB, for every new DataFrame). A stage with weights closes over
:func:`ship_files` instead: under ``_transform`` that is a Spark broadcast variable, created once per weights
digest and application, which every executor fetches once and every Python worker unpickles once; under
LightPipeline it is the in-process bytes, so LightPipeline runs exactly as before.

Consecutive sparktag stages are fused into one ``mapInArrow``: a pipeline of five stages runs as one Python
worker per task, not five. Unfused, every stage is a separate Python process per task, each batch crosses the
JVM between stages, and each worker loads the models of whichever stage borrowed it, so the first passes over
data keep reloading BERT. The DataFrame a stage returns remembers its unfused source and the chain of
batch functions; the next stage extends the chain instead of stacking another operator. A cached DataFrame
(``.cache()``/``.persist()``) is never fused through, so the cache is read as the user expects.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from pyspark.ml import Transformer
from pyspark.sql import DataFrame

from sparktag.annotation import Annotation, annotation_column_type, column_metadata, from_arrow, to_arrow
from sparktag.spark.params import HasInputCols, HasOutputCol

AnnotateFn = Callable[[list[list[Any]]], list[list[Annotation]]]


class AnnotatorStage(Transformer, HasOutputCol):
    """Base of every sparktag transformer that writes an annotation column."""

    #: annotator types the input columns must carry, in inputCols order (``None`` accepts any one column)
    inputAnnotatorTypes: ClassVar[Sequence[str]] = ()
    outputAnnotatorType: ClassVar[str] = ""

    def _annotator(self) -> AnnotateFn:  # pragma: no cover - abstract
        raise NotImplementedError

    def _input_columns(self) -> list[str]:  # pragma: no cover - abstract
        """Columns the annotate function reads, in order."""
        raise NotImplementedError

    def _explode(self) -> bool:
        """Whether to emit one row per output annotation (Spark NLP's ``explodeSentences``)."""
        return False

    def _check_inputs(self, df: DataFrame) -> None:
        name = f"{type(self).__name__} ({self.uid})"
        if not self.isDefined(self.outputCol):
            raise ValueError(f"{name}: outputCol is not set; call setOutputCol(...)")
        cols = self._input_columns()
        for col in cols:
            if col not in df.columns:
                raise ValueError(
                    f"{name}: input column {col!r} is not in the DataFrame (columns: {', '.join(df.columns)}); "
                    "fix setInputCols(...)/setInputCol(...) or add the stage that makes it"
                )
        expected = list(self.inputAnnotatorTypes)
        if not expected or not self.hasParam("inputCols"):
            return
        if not self.isDefined(self.getParam("inputCols")):
            raise ValueError(f"{name}: inputCols is not set; call setInputCols(...) with {expected} columns")
        if len(self.getInputCols()) != len(expected):
            raise ValueError(
                f"{name}: inputCols has {len(self.getInputCols())} columns {self.getInputCols()}, "
                f"but this stage needs {len(expected)}: annotator types {expected}"
            )
        for col, want in zip(self.getInputCols(), expected, strict=True):
            got = df.schema[col].metadata.get("annotatorType")
            if got is not None and got != want:
                raise ValueError(
                    f"{name}: input column {col!r} holds {got!r} annotations, but this stage needs {want!r} "
                    f"there (inputCols order is {expected})"
                )

    def _transform(self, df: DataFrame) -> DataFrame:
        from pyspark.sql.types import StructField, StructType

        self._check_inputs(df)
        out = self.getOutputCol()
        fields = [f for f in df.schema.fields if f.name != out]
        out_meta = column_metadata(self.outputAnnotatorType)
        schema = StructType([*fields, StructField(out, annotation_column_type(), True, out_meta)])
        with _shipping_with(df.sparkSession.sparkContext):
            annotate = self._annotator()
        mapper = _arrow_mapper(
            annotate, self._input_columns(), [f.name for f in fields], out, self._explode()
        )
        chain = _Chain(df, (mapper,), ((out, out_meta),))
        previous = getattr(df, _CHAIN_ATTR, None)
        if isinstance(previous, _Chain) and not getattr(df, "is_cached", False):
            chain = _Chain(
                previous.source, (*previous.mappers, mapper), (*previous.metadata, (out, out_meta))
            )
        result = chain.source.mapInArrow(_compose(chain.mappers), schema)
        names = set(schema.names)
        for col, meta in chain.metadata:  # mapInArrow drops field metadata; later stages win on reused names
            if col in names:
                result = result.withMetadata(col, meta)
        # a DataFrame class that takes no attributes: the next stage simply won't fuse
        with contextlib.suppress(AttributeError):
            setattr(result, _CHAIN_ATTR, chain)
        return result


class AnnotatorModel(AnnotatorStage, HasInputCols):
    """An annotator reading annotation columns (``inputCols``) and writing one (``outputCol``)."""

    def _input_columns(self) -> list[str]:
        return self.getInputCols()


class AnnotatorApproach:
    """Marker for sparktag Estimators that fit an :class:`AnnotatorModel` (Spark NLP's naming)."""


#: attribute a stage's output DataFrame carries: the unfused source and the batch functions applied to it
_CHAIN_ATTR = "_sparktag_chain"

BatchMapper = Callable[[Iterator[Any]], Iterator[Any]]


@dataclass(frozen=True)
class _Chain:
    source: DataFrame
    mappers: tuple[BatchMapper, ...]
    metadata: tuple[tuple[str, dict[str, Any]], ...]  # (output column, its annotation metadata), in order


def _compose(mappers: tuple[BatchMapper, ...]) -> BatchMapper:
    """One ``mapInArrow`` function running several stages' mappers in sequence over the same batches."""

    def run(batches: Iterator[Any]) -> Iterator[Any]:
        for mapper in mappers:
            batches = mapper(batches)
        yield from batches

    return run


def _arrow_mapper(
    annotate: AnnotateFn, in_cols: list[str], keep_cols: list[str], out: str, explode: bool
) -> BatchMapper:
    """The function shipped to Python workers: RecordBatch in, the same batch plus ``out`` out."""

    def run(batches: Iterator[Any]) -> Iterator[Any]:
        import pyarrow as pa

        from sparktag.annotation import arrow_type

        for batch in batches:
            columns = [_decode(batch.column(batch.schema.get_field_index(c))) for c in in_cols]
            result = annotate(columns)
            kept = [batch.column(batch.schema.get_field_index(c)) for c in keep_cols]
            if explode:
                index = [row for row, anns in enumerate(result) if anns for _ in anns]
                take = pa.array(index, pa.int64())
                kept = [col.take(take) for col in kept]
                result = [[a] for anns in result for a in anns]
            out_array = to_arrow(result) if result else pa.array([], type=arrow_type())
            yield pa.RecordBatch.from_arrays([*kept, out_array], names=[*keep_cols, out])

    return run


def _decode(array: Any) -> list[Any]:
    """An Arrow column as Python values: annotation arrays as lists of Annotation (null -> [])."""
    import pyarrow as pa

    t = array.type
    if (
        pa.types.is_list(t)
        and pa.types.is_struct(t.value_type)
        and t.value_type.get_field_index("annotatorType") >= 0
    ):
        return [row or [] for row in from_arrow(array)]
    return array.to_pylist()


# -- shipping weights: once per executor, not once per task ----------------------------------------------

Files = dict[str, bytes]

_SHIPPING = threading.local()  # .context: the SparkContext of the _transform building a batch function
_BROADCASTS: dict[tuple[str, str], Any] = {}  # (application id, weights digest) -> Broadcast


@contextlib.contextmanager
def _shipping_with(context: Any) -> Iterator[None]:
    previous = getattr(_SHIPPING, "context", None)
    _SHIPPING.context = context
    try:
        yield
    finally:
        _SHIPPING.context = previous


class _InProcess:
    """The files themselves (LightPipeline, or a function built outside ``_transform``)."""

    def __init__(self, files: Files | Callable[[], Files]) -> None:
        self.files = files

    def __call__(self) -> Files:
        return self.files() if callable(self.files) else self.files


class _Broadcast:
    """The files as a Spark broadcast variable: pickled as its id; its value is read once per Python worker."""

    def __init__(self, broadcast: Any) -> None:
        self.broadcast = broadcast

    def __call__(self) -> Files:
        return self.broadcast.value


def files_digest(files: Files) -> str:
    """A digest of named files (each name and a sha256 of its bytes, in name order), for :func:`ship_files` and
    the per-process caches of loaded models."""
    import hashlib

    digest = hashlib.sha256()
    for name in sorted(files):
        digest.update(name.encode() + hashlib.sha256(files[name]).digest())
    return digest.hexdigest()


def ship_files(files: Files | Callable[[], Files], digest: str) -> Callable[[], Files]:
    """A picklable getter of a stage's weight files for its batch function to close over.

    Inside a stage's ``_transform`` (on a Spark driver) the files become a broadcast variable, one per
    ``digest`` and application, reused by every later transform of the same weights: a task carries its id
    (tens of bytes), each executor fetches the bytes once, and a Python worker unpickles them the first time it
    calls the getter (call it only when the model is not loaded in that process yet). Elsewhere
    (LightPipeline) the getter returns ``files`` as they are.

    Args:
        files: the weight files, by name (or a callable returning them, called only when needed).
        digest: a digest of ``files``: equal digests share one broadcast.

    Returns:
        A zero-argument callable returning the files.
    """
    context = getattr(_SHIPPING, "context", None)
    if context is None:
        return _InProcess(files)
    key = (context.applicationId, digest)
    broadcast = _BROADCASTS.get(key)
    if broadcast is None:
        broadcast = _BROADCASTS[key] = context.broadcast(files() if callable(files) else files)
    return _Broadcast(broadcast)


def task_function_bytes(df: DataFrame) -> int:
    """Bytes of the pickled function every task of ``df``'s fused sparktag stages carries (0 if none).

    This is the command pyspark pickles for the ``mapInArrow`` (``cloudpickle``, as ``_prepare_for_python_RDD``
    does): below ``spark.broadcast.UDFCompressionThreshold`` (1 MB) it travels inside every task and is
    written to the Python worker for every task; above, pyspark broadcasts it per DataFrame and each task
    still unpickles all of it.
    """
    from pyspark.serializers import CloudPickleSerializer

    chain = getattr(df, _CHAIN_ATTR, None)
    if not isinstance(chain, _Chain):
        return 0
    return len(CloudPickleSerializer().dumps(_compose(chain.mappers)))


__all__ = [
    "AnnotateFn",
    "AnnotatorApproach",
    "AnnotatorModel",
    "AnnotatorStage",
    "files_digest",
    "ship_files",
    "task_function_bytes",
]


def limit_torch_threads_in_task() -> None:
    """Inside a Spark task, give torch as many threads as the task has cores (``spark.task.cpus``, 1 by
    default): Spark already runs one task per core, and torch's default of one thread per machine core in
    every worker oversubscribes the CPU several times over. Outside Spark (LightPipeline) nothing changes.
    """
    from pyspark import TaskContext

    context = TaskContext.get()
    if context is None:
        return
    import torch

    cpus = max(1, int(context.cpus()))
    if torch.get_num_threads() != cpus:
        torch.set_num_threads(cpus)

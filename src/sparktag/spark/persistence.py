"""Saving and loading stages: params as Spark MLlib metadata JSON, weights as named files in parquet.

Layout of a saved stage (what ``write().save(path)`` makes and what ``Stage.load(path)`` reads)::

    path/metadata/part-00000      # one JSON line: class, uid, paramMap, defaultParamMap (pyspark's format)
    path/data/part-00000.parquet  # only for stages with weights: rows (name string, part int, bytes binary)

Both are readable with ``json`` and ``pyarrow`` alone, so :func:`load_stage_local` rebuilds a stage (and a whole
saved ``PipelineModel``) without starting Spark, for serving; :func:`save_pipeline` is its twin, writing
that layout without Spark when every stage is a sparktag stage. Files are stored in parts of at most
``PART_BYTES`` so no single parquet cell or JVM message grows with the model.
"""

from __future__ import annotations

import importlib
import json
import os
from typing import TYPE_CHECKING, Any
from urllib.parse import urlparse

from pyspark.ml.util import (
    DefaultParamsReadable,
    DefaultParamsReader,
    DefaultParamsWritable,
    DefaultParamsWriter,
    MLReadable,
    MLReader,
    MLWritable,
    MLWriter,
)

if TYPE_CHECKING:  # pragma: no cover
    from pyspark.ml.param import Params

PART_BYTES = 8 * 1024 * 1024
DATA_DIR = "data"


def is_local_path(path: str) -> bool:
    """True for a path on this machine's file system (written with pyarrow); other paths go through Spark.

    A ``file:`` URI is local. A path without a scheme is what Hadoop's ``fs.defaultFS`` makes of it, as Spark
    reads it: local in local mode and on a standalone cluster, but HDFS on YARN and DBFS on Databricks, where
    writing it with plain file I/O would put the files on the driver's disk instead.
    """
    scheme = urlparse(path).scheme
    if scheme == "file" or (len(scheme) == 1 and os.name == "nt"):
        return True
    if scheme:
        return False
    return default_filesystem().startswith("file:")


def default_filesystem() -> str:
    """The active SparkSession's ``fs.defaultFS`` (``file:///`` without one)."""
    from pyspark.sql import SparkSession

    session = SparkSession.getActiveSession()
    try:
        conf = session.sparkContext._jsc.hadoopConfiguration()  # type: ignore[union-attr]
        return str(conf.get("fs.defaultFS") or "file:///")
    except Exception:  # no session, or Spark Connect (no JVM here): plain paths are local files
        return "file:///"


def is_local_master(spark: Any = None) -> bool:
    """True when Spark runs in this process (``local[...]``): executors see exactly the driver's files."""
    from pyspark.sql import SparkSession

    session = spark or SparkSession.getActiveSession()
    return session is None or str(session.sparkContext.master).startswith("local")


def local_path(path: str) -> str:
    return urlparse(path).path if path.startswith("file:") else path


def write_files(path: str, files: dict[str, bytes], spark: Any = None) -> None:
    """Write named files under ``path/data`` as one parquet table, split into parts of PART_BYTES."""
    rows = [
        (name, i, content[start : start + PART_BYTES])
        for name, content in sorted(files.items())
        for i, start in enumerate(range(0, max(len(content), 1), PART_BYTES))
    ]
    data_path = path.rstrip("/") + "/" + DATA_DIR
    if is_local_path(path):
        import pyarrow as pa
        import pyarrow.parquet as pq

        out = local_path(data_path)
        os.makedirs(out, exist_ok=True)
        table = pa.table(
            {
                "name": pa.array([r[0] for r in rows], pa.string()),
                "part": pa.array([r[1] for r in rows], pa.int32()),
                "bytes": pa.array([r[2] for r in rows], pa.binary()),
            }
        )
        # Weights neither compress nor repeat: plain, uncompressed pages read back with one copy, where
        # snappy + dictionary pages cost a decompression and two copies of every byte on each load.
        pq.write_table(
            table, os.path.join(out, "part-00000.parquet"), compression="none", use_dictionary=False
        )
        return
    from pyspark.sql import SparkSession

    spark = spark or SparkSession.active()
    df = spark.createDataFrame(rows, "name string, part int, bytes binary").coalesce(1)
    df.write.mode("overwrite").parquet(data_path)


def read_files(path: str) -> dict[str, bytes]:
    """Read the named files that :func:`write_files` stored under ``path/data``."""
    data_path = path.rstrip("/") + "/" + DATA_DIR
    if is_local_path(path):
        local = local_path(data_path)
        if not os.path.isdir(local):
            raise FileNotFoundError(
                f"{local} is missing: {path} is not a saved sparktag stage with weights "
                "(save one with stage.write().overwrite().save(path))"
            )
        return _read_local_parquet(local)
    from pyspark.sql import SparkSession

    collected = SparkSession.active().read.parquet(data_path).collect()
    parts: dict[str, list[tuple[int, bytes]]] = {}
    for r in collected:
        parts.setdefault(r["name"], []).append((r["part"], r["bytes"]))
    return {name: b"".join(c for _, c in sorted(chunks)) for name, chunks in parts.items()}


def _read_local_parquet(folder: str) -> dict[str, bytes]:
    """The files in the parquet table of a local ``data`` folder (one file from pyarrow, several from Spark).

    Each file's parts are joined straight from the memory-mapped column buffers: one copy of the weights, not
    the three that ``to_pylist()`` and a join of its ``bytes`` make (a serving process starts sooner).
    """
    import pyarrow.parquet as pq

    from sparktag.arrow_binary import binary_values

    parts: dict[str, list[tuple[int, memoryview]]] = {}
    tables = []  # the views below point into these tables' buffers: keep them alive until joined
    # the files pyarrow's dataset discovery would read: not Spark's _SUCCESS, not hidden .crc files
    for name in sorted(os.listdir(folder)):
        if name.startswith((".", "_")):
            continue
        with pq.ParquetFile(os.path.join(folder, name), memory_map=True) as parquet:
            table = parquet.read(use_threads=False)
        tables.append(table)
        names = table.column("name").to_pylist()
        numbers = table.column("part").to_pylist()
        contents = [memoryview(view) for view in binary_values(table.column("bytes"))]
        for file_name, number, content in zip(names, numbers, contents, strict=True):
            parts.setdefault(file_name, []).append((number, content))
    return {
        name: b"".join(c for _, c in sorted(chunks, key=lambda p: p[0])) for name, chunks in parts.items()
    }


class ParamsReadWrite(DefaultParamsReadable, DefaultParamsWritable):
    """Persistence for stages whose state is all in their params."""


class WeightsWriter(MLWriter):
    """Writes params metadata, then the stage's ``_to_files()`` under ``path/data``."""

    def __init__(self, instance: Any) -> None:
        super().__init__()
        self.instance = instance

    def saveImpl(self, path: str) -> None:
        # the SparkContext, not the session: pyspark 3.5 takes only a context, 4.x takes either
        DefaultParamsWriter.saveMetadata(self.instance, path, self.sc)
        write_files(path, self.instance._to_files(), self.sparkSession)


class WeightsReader(MLReader):
    """Reads what :class:`WeightsWriter` wrote and hands the files to ``cls._from_files``."""

    def __init__(self, cls: type) -> None:
        super().__init__()
        self.cls = cls

    def load(self, path: str) -> Any:
        metadata = DefaultParamsReader.loadMetadata(path, self.sc)  # a context: pyspark 3.5 and 4.x
        instance: Any = _instantiate(metadata)  # a WeightsReadWrite stage
        instance._from_files(read_files(path))
        return instance


class WeightsReadWrite(MLWritable, MLReadable[Any]):
    """Persistence for stages that carry weights: implement ``_to_files`` and ``_from_files``.

    It subclasses pyspark's ``MLWritable``/``MLReadable`` because ``PipelineModel.write()`` and
    ``mlflow.spark`` check for them before saving.
    """

    def write(self) -> MLWriter:
        return WeightsWriter(self)

    @classmethod
    def read(cls) -> MLReader:
        return WeightsReader(cls)

    @classmethod
    def load(cls, path: str) -> Any:
        return cls.read().load(path)

    def _to_files(self) -> dict[str, bytes]:  # pragma: no cover - abstract
        raise NotImplementedError

    def _from_files(self, files: dict[str, bytes]) -> None:  # pragma: no cover - abstract
        raise NotImplementedError


def _import_class(name: str) -> type:
    module, _, cls = name.rpartition(".")
    try:
        return getattr(importlib.import_module(module), cls)
    except (ImportError, AttributeError) as err:
        raise ImportError(
            f"saved stage class {name} cannot be imported; is the package that defines it installed?"
        ) from err


def _instantiate(metadata: dict[str, Any]) -> Params:
    """Build a stage from parsed metadata: right class, same uid, same params and defaults."""
    cls = _import_class(metadata["class"])
    instance = cls()
    instance._resetUid(metadata["uid"])
    DefaultParamsReader.getAndSetParams(instance, metadata)
    return instance


def read_metadata_local(path: str) -> dict[str, Any]:
    """Parse ``path/metadata`` with plain file reads (no Spark)."""
    folder = os.path.join(local_path(path), "metadata")
    try:
        names = sorted(n for n in os.listdir(folder) if n.startswith("part-"))
    except FileNotFoundError:
        raise FileNotFoundError(
            f"{folder} is missing: {path} is not a saved Spark ML stage or pipeline"
        ) from None
    for name in names:
        with open(os.path.join(folder, name), encoding="utf-8") as f:
            for line in f:
                if line.strip():
                    return json.loads(line)
    raise ValueError(f"{folder} holds no metadata line: the save of {path} did not finish")


def load_stage_local(path: str) -> Any:
    """Load a saved sparktag stage, or a whole saved ``PipelineModel``, without Spark.

    A ``PipelineModel`` comes back as a list of stages, in order.
    """
    metadata = read_metadata_local(path)
    if metadata["class"] in ("pyspark.ml.pipeline.PipelineModel", "pyspark.ml.PipelineModel"):
        stages_dir = os.path.join(local_path(path), "stages")
        uids = metadata["paramMap"]["stageUids"]
        folders = {name.split("_", 1)[1]: name for name in os.listdir(stages_dir)}
        return [load_stage_local(os.path.join(stages_dir, folders[uid])) for uid in uids]
    if metadata.get("language", "Python") != "Python":
        raise ValueError(
            f"{path} holds a JVM stage ({metadata['class']}); only sparktag's Python stages load without Spark"
        )
    instance = _instantiate(metadata)
    if hasattr(instance, "_from_files"):
        instance._from_files(read_files(path))
    return instance


def save_pipeline(stages: list[Any], path: str, uid: str | None = None) -> None:
    """Write ``stages`` as a PipelineModel in Spark MLlib's layout at the local folder ``path``.

    Every stage a sparktag stage: written with json + pyarrow, no SparkSession needed. Any other stage
    (a JVM or third-party transformer): written by Spark's own writer, which needs an active SparkSession.
    Either way ``PipelineModel.load(path)`` reads it back, and ``LightPipeline.load(path)`` too when every
    stage is a sparktag stage.
    """
    import time
    import uuid

    import pyspark
    from pyspark.ml import PipelineModel
    from pyspark.ml.util import DefaultParamsWriter

    from sparktag.spark.stage import AnnotatorStage

    if not all(isinstance(s, AnnotatorStage) for s in stages):
        from pyspark.sql import SparkSession

        if SparkSession.getActiveSession() is None:
            others = sorted({type(s).__name__ for s in stages if not isinstance(s, AnnotatorStage)})
            raise RuntimeError(
                f"the pipeline has non-sparktag stages ({', '.join(others)}), which only Spark can write: "
                "start a SparkSession (sparktag.start()) before saving"
            )
        model = PipelineModel(stages=stages)
        if uid:
            model._resetUid(uid)
        model.write().save(path)
        return
    # The very JSON lines pyspark's DefaultParamsWriter writes (PipelineSharedReadWrite for the pipeline).
    pipeline_line = json.dumps(
        {
            "class": "pyspark.ml.pipeline.PipelineModel",
            "timestamp": int(time.time() * 1000),
            "sparkVersion": pyspark.__version__,
            "uid": uid or "PipelineModel_" + uuid.uuid4().hex[-12:],
            "paramMap": {"stageUids": [s.uid for s in stages], "language": "Python"},
            "defaultParamMap": {},
        },
        separators=(",", ":"),
    )
    _write_metadata(path, pipeline_line)
    width = len(str(len(stages)))
    for i, stage in enumerate(stages):
        folder = os.path.join(path, "stages", f"{str(i).zfill(width)}_{stage.uid}")
        _write_metadata(folder, DefaultParamsWriter._get_metadata_to_save(stage, _SparkVersion()))  # type: ignore[arg-type]
        if hasattr(stage, "_to_files"):
            write_files(folder, stage._to_files())


class _SparkVersion:
    """Stands in for the SparkContext that pyspark's metadata writer asks for ``.version`` only."""

    def __init__(self) -> None:
        import pyspark

        self.version = pyspark.__version__


def _write_metadata(path: str, line: str) -> None:
    folder = os.path.join(path, "metadata")
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, "part-00000"), "w", encoding="utf-8") as f:
        f.write(line + "\n")
    open(os.path.join(folder, "_SUCCESS"), "w").close()


def load_pretrained_stage(cls: type, name: str, lang: str) -> Any:
    """The saved ``cls`` stage called ``name`` in the local model folder (``pretrained()`` of a saved stage).

    Looks where ``BertEmbeddings.pretrained`` looks (:func:`sparktag.embeddings.model_folders.resolve_pretrained`):
    ``<models>/<name>_<lang>/``, then ``<models>/<name>/``. Loads without Spark.

    Raises:
        FileNotFoundError: no such folder; the message says where to put one and how to make it.
        TypeError: the folder holds another kind of stage.
    """
    from sparktag.embeddings.model_folders import models_dir, resolve_pretrained

    root = models_dir()
    target = root / f"{name}_{lang}"
    try:
        folder = resolve_pretrained(name, lang)
    except FileNotFoundError:
        raise FileNotFoundError(
            f"{cls.__name__}.pretrained: no local model named {name!r} for language {lang!r}; looked at: "
            f"{target}; {root / name}. sparktag never downloads models: save a fitted {cls.__name__} there with "
            f"model.write().overwrite().save('{target}') (set SPARKTAG_MODELS to use another models folder)."
        ) from None
    try:
        kind = read_metadata_local(folder)["class"].rsplit(".", 1)[-1]
    except FileNotFoundError:
        kind = "model that is not a saved stage"
    if kind != cls.__name__:
        raise TypeError(
            f"{cls.__name__}.pretrained({name!r}, {lang!r}): {folder} holds a {kind}, not a saved "
            f"{cls.__name__}; save one there with model.write().overwrite().save('{target}') or pick another name"
        )
    return load_stage_local(folder)

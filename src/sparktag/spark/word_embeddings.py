"""WordEmbeddings (Estimator) -> WordEmbeddingsModel: static vectors (GloVe / word2vec) per token.

``fit`` turns the vectors file into a memory-mapped index (``sparktag.embeddings.word_vectors``); the
index's files travel inside the saved model. Each process opens the index once, from a local cache folder
keyed by the index's digest, so the operating system's page cache shares one copy between workers. On a
cluster the driver's cache folder is out of the executors' reach: the index's files ship to each executor
once (a broadcast, see ``stage.ship_files``), and the first Python worker there that misses the folder writes
it into its own cache.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
from pathlib import Path
from typing import Any

from pyspark import keyword_only
from pyspark.ml import Estimator
from pyspark.ml.param import TypeConverters

from sparktag.annotation import Annotation, AnnotatorType
from sparktag.spark.params import (
    HasCaseSensitive,
    HasDimension,
    HasInputCols,
    HasOutputCol,
    HasStorageRef,
    ParamSpec,
    one_of,
)
from sparktag.spark.persistence import ParamsReadWrite, WeightsReadWrite
from sparktag.spark.stage import AnnotateFn, AnnotatorModel, ship_files

_INPUT_TYPES = (AnnotatorType.DOCUMENT, AnnotatorType.TOKEN)


def _cache_root() -> Path:
    return Path(os.environ.get("SPARKTAG_CACHE", Path.home() / ".cache" / "sparktag")) / "word_vectors"


def _files_digest(files: dict[str, bytes]) -> str:
    digest = hashlib.sha256()
    for name in sorted(files):
        digest.update(name.encode() + hashlib.sha256(files[name]).digest())
    return digest.hexdigest()


def _index_folder(digest: str, files: Any) -> Path:
    """This process's cache folder of the index with ``digest``, written from ``files()`` if missing.

    ``files`` is called only when the folder is missing (on an executor that has not seen the index yet).
    A folder the cache root cannot hold (a read-only or missing home on a cluster node) goes under the
    temporary folder instead.
    """
    for root in (_cache_root(), Path(tempfile.gettempdir()) / f"sparktag-{os.getuid()}" / "word_vectors"):
        folder = root / digest[:32]
        with contextlib.suppress(OSError):
            if (folder / "meta.json").is_file():
                return folder
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError:
            continue
        content = files()
        # meta.json last: a process that finds it finds every other file complete (each written, then renamed)
        for name in sorted(content, key=lambda n: n == "meta.json"):
            part = folder / f"{name}.{os.getpid()}.part"
            part.write_bytes(content[name])
            part.replace(folder / name)
        return folder
    raise OSError(
        f"WordEmbeddingsModel: no writable cache folder for the vectors index (tried {_cache_root()})"
    )


class WordEmbeddings(Estimator, HasInputCols, HasOutputCol, HasCaseSensitive, HasStorageRef, ParamsReadWrite):
    """Spark NLP's WordEmbeddings: ``setStoragePath(path, "TEXT" | "BINARY")``, then ``fit``.

    Example:
        >>> glove = WordEmbeddings().setStoragePath("glove.6B.100d.txt", "TEXT") \\
        ...     .setInputCols("sentence", "token").setOutputCol("embeddings")  # doctest: +SKIP
    """

    param_table: tuple[ParamSpec, ...] = (
        ParamSpec("storagePath", "the vectors file", TypeConverters.toString),
        ParamSpec("storageFormat", "TEXT (GloVe / word2vec text) or BINARY (word2vec)", TypeConverters.toString,
                  "TEXT", check=one_of("storageFormat", ("TEXT", "BINARY"))),
    )  # fmt: skip
    param_defaults = {"caseSensitive": False, "outputCol": "embeddings"}

    @keyword_only
    def __init__(
        self, *, inputCols: list[str] | None = None, outputCol: str | None = None, **kwargs: Any
    ) -> None:
        super().__init__()
        self._init_params(self._input_kwargs)

    def setStoragePath(self, path: str, importOptions: str = "TEXT") -> WordEmbeddings:
        fmt = str(getattr(importOptions, "value", importOptions)).upper()
        if fmt not in ("TEXT", "BINARY"):
            raise ValueError(f"setStoragePath: format must be 'TEXT' or 'BINARY'; got {importOptions!r}")
        return self._set(storagePath=path, storageFormat=fmt)

    def setDimension(self, value: int) -> WordEmbeddings:
        """Accepted for Spark NLP compatibility; the dimension is read from the file and checked against it."""
        self._expected_dimension = int(value)
        return self

    def _fit(self, dataset: Any) -> WordEmbeddingsModel:
        from sparktag.embeddings.word_vectors import WordVectors, build_index

        if not self.isDefined(self.storagePath):
            raise ValueError("WordEmbeddings: call setStoragePath(path, 'TEXT' or 'BINARY') before fit")
        source = self.getOrDefault(self.storagePath)
        if not os.path.isfile(source):
            raise FileNotFoundError(f"WordEmbeddings: storagePath {source} is not a file")
        with tempfile.TemporaryDirectory(prefix="sparktag-wv-") as tmp:
            build_index(source, self.getOrDefault(self.storageFormat), tmp)
            files = {p.name: p.read_bytes() for p in Path(tmp).iterdir() if p.is_file()}
        model = WordEmbeddingsModel()
        model._from_files(files)
        dim = WordVectors.open(model.index_dir).dimension
        expected = getattr(self, "_expected_dimension", None)
        if expected is not None and expected != dim:
            raise ValueError(
                f"WordEmbeddings: setDimension({expected}) but {source} holds {dim}-dimensional vectors"
            )
        for param in (self.inputCols, self.outputCol, self.caseSensitive):
            if self.isDefined(param):
                model._set(**{param.name: self.getOrDefault(param)})
        model._set(
            dimension=dim,
            storageRef=self.getOrDefault(self.storageRef)
            if self.isDefined(self.storageRef)
            else Path(source).stem,
        )
        return model


class WordEmbeddingsModel(AnnotatorModel, HasCaseSensitive, HasDimension, HasStorageRef, WeightsReadWrite):
    """Looks each token up in the index; unknown tokens get a zero vector and metadata ``isOOV=true``."""

    inputAnnotatorTypes = _INPUT_TYPES
    outputAnnotatorType = AnnotatorType.WORD_EMBEDDINGS
    param_defaults = {"caseSensitive": False, "outputCol": "embeddings", "storageRef": "", "dimension": 0}

    def __init__(self) -> None:
        super().__init__()
        self._init_params({})
        self.index_dir = ""
        self._digest = ""

    @classmethod
    def pretrained(
        cls, name: str = "glove_100d", lang: str = "en", remote_loc: str | None = None
    ) -> WordEmbeddingsModel:
        """Load a saved WordEmbeddingsModel by name from the local model folder (``$SPARKTAG_MODELS``); never
        downloads.

        The folder ``<models>/<name>_<lang>/`` (or ``<models>/<name>/``) holds what
        ``model.write().overwrite().save(folder)`` wrote (fit ``WordEmbeddings`` on the vectors file once to make
        it). ``remote_loc`` is accepted for Spark NLP compatibility.
        """
        return load_pretrained_stage(cls, name, lang)

    def _to_files(self) -> dict[str, bytes]:
        if not self.index_dir:
            raise ValueError(f"{self.uid} has no vectors: fit WordEmbeddings or load a saved model")
        folder = Path(self.index_dir).iterdir()
        return {p.name: p.read_bytes() for p in folder if p.is_file() and not p.name.endswith(".part")}

    def _from_files(self, files: dict[str, bytes]) -> None:
        self._digest = _files_digest(files)
        self.index_dir = str(_index_folder(self._digest, lambda: files))

    def _annotator(self) -> AnnotateFn:
        if not self.index_dir:
            self._to_files()  # raises the clear error
        digest = self._digest or _files_digest(self._to_files())
        # the driver's index folder is not the executors': they get the files (once each) and write their own
        get_files = ship_files(self._to_files, digest)
        case_sensitive = self.getCaseSensitive()

        def annotate(columns: list[list[Any]]) -> list[list[Annotation]]:
            vectors = _open(digest, get_files)
            out = []
            for tokens in columns[1]:
                matrix, oov = vectors.lookup([t.result for t in tokens], case_sensitive)
                out.append(
                    [
                        Annotation(
                            AnnotatorType.WORD_EMBEDDINGS,
                            t.begin,
                            t.end,
                            t.result,
                            {
                                "sentence": t.metadata.get("sentence", "0"),
                                "token": t.result,
                                "isOOV": "true" if is_oov else "false",
                                "isWordStart": "true",
                            },
                            row,
                        )
                        for t, row, is_oov in zip(tokens, matrix, oov, strict=True)
                    ]
                )
            return out

        return annotate


_OPEN: dict[str, Any] = {}


def _open(digest: str, files: Any) -> Any:
    from sparktag.embeddings.word_vectors import WordVectors

    if digest not in _OPEN:
        _OPEN[digest] = WordVectors.open(str(_index_folder(digest, files)))
    return _OPEN[digest]


def load_pretrained_stage(cls: type, name: str, lang: str) -> Any:
    """The saved ``cls`` stage called ``name`` in the local model folder (``pretrained()`` of a saved stage).

    Looks where ``BertEmbeddings.pretrained`` looks (:func:`sparktag.embeddings.transformer.resolve_pretrained`):
    ``<models>/<name>_<lang>/``, then ``<models>/<name>/``. Loads without Spark.

    Raises:
        FileNotFoundError: no such folder; the message says where to put one and how to make it.
        TypeError: the folder holds another kind of stage.
    """
    from sparktag.embeddings.transformer import models_dir, resolve_pretrained
    from sparktag.spark.persistence import load_stage_local, read_metadata_local

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

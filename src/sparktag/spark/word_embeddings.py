"""WordEmbeddings (Estimator) -> WordEmbeddingsModel: static vectors (GloVe / word2vec) per token.

``fit`` turns the vectors file into a memory-mapped index (``sparktag.embeddings.word_vectors``); the
index's files travel inside the saved model. Each process opens the index once, from a local cache folder
keyed by the index's digest (``sparktag.embeddings.index_folders``), so the operating system's page cache
shares one copy between workers; ``sparktag.embeddings.annotate.lookup_rows`` makes the annotations. On a
cluster the driver's cache folder is out of the executors' reach: the index's files ship to each executor
once (a broadcast, see ``stage.ship_files``), and the first Python worker there that misses the folder writes
it into its own cache.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

from pyspark import keyword_only
from pyspark.ml import Estimator
from pyspark.ml.param import TypeConverters

from sparktag.annotation import Annotation, AnnotatorType
from sparktag.embeddings.annotate import lookup_rows
from sparktag.embeddings.index_folders import index_folder, open_index
from sparktag.spark.params import (
    HasCaseSensitive,
    HasDimension,
    HasInputCols,
    HasOutputCol,
    HasStorageRef,
    ParamSpec,
    one_of,
)
from sparktag.spark.persistence import ParamsReadWrite, WeightsReadWrite, load_pretrained_stage
from sparktag.spark.stage import AnnotateFn, AnnotatorModel, files_digest, ship_files

_INPUT_TYPES = (AnnotatorType.DOCUMENT, AnnotatorType.TOKEN)


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
        self._digest = files_digest(files)
        self.index_dir = str(index_folder(self._digest, lambda: files))

    def _annotator(self) -> AnnotateFn:
        if not self.index_dir:
            self._to_files()  # raises the clear error
        digest = self._digest or files_digest(self._to_files())
        # the driver's index folder is not the executors': they get the files (once each) and write their own
        get_files = ship_files(self._to_files, digest)
        case_sensitive = self.getCaseSensitive()

        def annotate(columns: list[list[Any]]) -> list[list[Annotation]]:
            return lookup_rows(columns[1], open_index(digest, get_files), case_sensitive)

        return annotate

"""WordEmbeddings (Estimator) -> WordEmbeddingsModel: static vectors (GloVe / word2vec) per token.

``fit`` turns the vectors file into a memory-mapped index (``sparktag.embeddings.word_vectors``); the
index's files travel inside the saved model. Each process opens the index once, from a local cache folder
keyed by the index's digest, so the operating system's page cache shares one copy between workers.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path
from typing import Any

from pyspark import keyword_only
from pyspark.ml import Estimator
from pyspark.ml.param import Param, Params, TypeConverters

from sparktag.annotation import Annotation, AnnotatorType
from sparktag.spark.params import (
    HasCaseSensitive,
    HasDimension,
    HasInputCols,
    HasOutputCol,
    HasStorageRef,
    set_from_kwargs,
)
from sparktag.spark.persistence import ParamsReadWrite, WeightsReadWrite
from sparktag.spark.stage import AnnotateFn, AnnotatorModel

_INPUT_TYPES = (AnnotatorType.DOCUMENT, AnnotatorType.TOKEN)


def _cache_root() -> Path:
    return Path(os.environ.get("SPARKTAG_CACHE", Path.home() / ".cache" / "sparktag")) / "word_vectors"


class WordEmbeddings(Estimator, HasInputCols, HasOutputCol, HasCaseSensitive, HasStorageRef, ParamsReadWrite):
    """Spark NLP's WordEmbeddings: ``setStoragePath(path, "TEXT" | "BINARY")``, then ``fit``.

    Example:
        >>> glove = WordEmbeddings().setStoragePath("glove.6B.100d.txt", "TEXT") \\
        ...     .setInputCols("sentence", "token").setOutputCol("embeddings")  # doctest: +SKIP
    """

    storagePath: Param[str] = Param(
        Params._dummy(), "storagePath", "the vectors file", typeConverter=TypeConverters.toString
    )
    storageFormat: Param[str] = Param(
        Params._dummy(),
        "storageFormat",
        "TEXT (GloVe / word2vec text) or BINARY (word2vec)",
        TypeConverters.toString,
    )

    @keyword_only
    def __init__(
        self, *, inputCols: list[str] | None = None, outputCol: str | None = None, **kwargs: Any
    ) -> None:
        super().__init__()
        self._setDefault(caseSensitive=False, storageFormat="TEXT", outputCol="embeddings")
        set_from_kwargs(self, self._input_kwargs)

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

    def __init__(self) -> None:
        super().__init__()
        self._setDefault(caseSensitive=False, outputCol="embeddings", storageRef="", dimension=0)
        self.index_dir = ""

    def _to_files(self) -> dict[str, bytes]:
        if not self.index_dir:
            raise ValueError(f"{self.uid} has no vectors: fit WordEmbeddings or load a saved model")
        return {p.name: p.read_bytes() for p in Path(self.index_dir).iterdir() if p.is_file()}

    def _from_files(self, files: dict[str, bytes]) -> None:
        digest = hashlib.sha256()
        for name in sorted(files):
            digest.update(name.encode() + hashlib.sha256(files[name]).digest())
        folder = _cache_root() / digest.hexdigest()[:32]
        if not (folder / "meta.json").is_file():
            folder.mkdir(parents=True, exist_ok=True)
            for name, content in files.items():
                part = folder / (name + ".part")
                part.write_bytes(content)
                part.replace(folder / name)  # meta.json last-writer wins; every file complete before use
        self.index_dir = str(folder)

    def _annotator(self) -> AnnotateFn:
        index_dir = self.index_dir
        case_sensitive = self.getCaseSensitive()
        if not index_dir:
            self._to_files()  # raises the clear error

        def annotate(columns: list[list[Any]]) -> list[list[Annotation]]:
            vectors = _open(index_dir)
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


def _open(index_dir: str) -> Any:
    from sparktag.embeddings.word_vectors import WordVectors

    if index_dir not in _OPEN:
        _OPEN[index_dir] = WordVectors.open(index_dir)
    return _OPEN[index_dir]

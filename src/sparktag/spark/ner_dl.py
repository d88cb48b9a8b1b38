"""NerDLApproach (Estimator) -> NerDLModel: Spark NLP's char CNN + BiLSTM + CRF tagger, trained in PyTorch.

Featurising runs distributed (``sparktag.spark.ner_features``): each partition turns its rows into compact
per-sentence records (token texts, tags, one float32 buffer of vectors) with ``mapInArrow``; the driver trains on
those (as Spark NLP does). NerDLModel maps :func:`sparktag.ner.annotate.tag_rows` over the rows.
"""

from __future__ import annotations

import contextlib
import logging
import os
import tempfile
from collections.abc import Callable, Iterator
from typing import Any

from pyspark import keyword_only
from pyspark.ml import Estimator
from pyspark.ml.param import TypeConverters

from sparktag.annotation import Annotation, AnnotatorType
from sparktag.ner.annotate import tag_rows
from sparktag.ner.config import TrainConfig
from sparktag.spark.ner_features import examples, featurize, has_examples, parquet_source, read_test
from sparktag.spark.ner_params import NerDLApproachParams, NerParams, TensorFlowOnlySetters
from sparktag.spark.params import HasInputCols, HasOutputCol, ParamSpec
from sparktag.spark.persistence import ParamsReadWrite, WeightsReadWrite, load_pretrained_stage
from sparktag.spark.stage import (
    AnnotateFn,
    AnnotatorApproach,
    AnnotatorModel,
    limit_torch_threads_in_task,
    ship_files,
)

logger = logging.getLogger("sparktag.ner")

_INPUT_TYPES = (AnnotatorType.DOCUMENT, AnnotatorType.TOKEN, AnnotatorType.WORD_EMBEDDINGS)

#: factories called at the start of every fit with the approach; each returns a listener (or None).
#: MLflow autologging registers itself here; the trainer and this stage know nothing of MLflow.
LISTENER_FACTORIES: list[Callable[[Any], Any]] = []


@contextlib.contextmanager
def listening(listener: Any) -> Iterator[None]:
    """``listener`` (anything with ``on_event``) added to every NerDLApproach fit inside the block."""

    def factory(approach: Any) -> Any:
        return listener

    LISTENER_FACTORIES.append(factory)
    try:
        yield
    finally:
        LISTENER_FACTORIES.remove(factory)


class NerDLApproach(
    Estimator,
    HasInputCols,
    HasOutputCol,
    NerDLApproachParams,
    NerParams,
    TensorFlowOnlySetters,
    AnnotatorApproach,
    ParamsReadWrite,
):
    """Trains a :class:`NerDLModel` from sentence, token and word-embedding columns plus a label column.

    Spark NLP's params and Python defaults: lr 0.001, po 0.005, batchSize 8, dropout 0.5 (a keep
    probability), maxEpochs 50, minEpochs 0, validationSplit 0.0, verbose 2, ...

    Checkpoints: with ``setCheckpointPath(folder)`` every epoch ends with a checkpoint; if the job is killed,
    running the same fit again continues from the last one and ends with the same model and scores as an
    uninterrupted fit (and, with autologging, in the same MLflow run). See ``sparktag.ner.checkpoint``.

    Example:
        >>> ner = NerDLApproach().setInputCols(["sentence", "token", "embeddings"]) \\
        ...     .setLabelColumn("label").setOutputCol("ner").setMaxEpochs(10)  # doctest: +SKIP
    """

    inputAnnotatorTypes = _INPUT_TYPES

    param_defaults = {"outputCol": "ner"}

    @keyword_only
    def __init__(self, **kwargs: Any) -> None:
        super().__init__()
        self._init_params(self._input_kwargs)

    def setTestDataset(
        self, path: str, read_as: str = "SPARK", options: dict[str, str] | None = None
    ) -> NerDLApproach:
        """A parquet folder of an already-embedded DataFrame (as Spark NLP: ``df.write.parquet(path)``)."""
        fmt = (options or {}).get("format", "parquet")
        if fmt != "parquet":
            raise ValueError(f"testDataset must be parquet; got format {fmt!r}")
        return self._set(testDataset=path)

    def train_config(self) -> TrainConfig:
        """The params as the trainer's :class:`~sparktag.ner.config.TrainConfig`: every row with a field."""
        return TrainConfig(**self.field_values())

    def log_path(self) -> str | None:
        """Where the training log goes (``<outputLogsPath>/NerDLApproach_<uid>.log``), or None when off."""
        if not self.getOrDefault(self.enableOutputLogs):
            return None
        from sparktag.ner.log import log_file_name

        folder = self.getOrDefault(self.outputLogsPath) or os.path.expanduser("~/annotator_logs")
        return os.path.join(folder, log_file_name(self.uid))

    def _fit(self, dataset: Any) -> NerDLModel:
        from sparktag.ner.metrics import evaluate
        from sparktag.ner.train import train

        name = f"NerDLApproach ({self.uid})"
        cols = self._feature_columns(dataset, name)
        entities = list(self.getOrDefault(self.entities))
        config = self.train_config()
        workers = self.getOrDefault(self.numWorkers)
        with tempfile.TemporaryDirectory(prefix="sparktag-ner-") as scratch:
            train_data = featurize(dataset, *cols, entities=entities, name=name)
            if workers > 1:  # several executors: sparktag.spark.distributed
                result = self._fit_distributed(dataset, train_data, cols, entities, config, workers, name)
                storage = dataset.schema[cols[2]].metadata.get("storageRef")
                return self.model_from_result(result, storage_ref=storage)
            if self.getOrDefault(self.enableMemoryOptimizer):
                source: Any = parquet_source(train_data, os.path.join(scratch, "train"))
            else:
                source = examples(train_data)
            if not has_examples(source):
                raise ValueError(
                    f"{name}: the training data has no labelled sentences (column {cols[3]!r} is empty "
                    "or the DataFrame has no rows); nothing to train on"
                )
            test = None
            if self.isDefined(self.testDataset):
                test = examples(
                    featurize(
                        read_test(dataset, self.getOrDefault(self.testDataset)),
                        *cols,
                        entities=entities,
                        name=name + " testDataset",
                    )
                )
            listeners = self._listeners()
            result = train(source, config, test=test, evaluate=evaluate, listeners=listeners)
        storage = dataset.schema[cols[2]].metadata.get("storageRef") if cols[2] in dataset.columns else None
        return self.model_from_result(result, storage_ref=storage)

    def _fit_distributed(
        self,
        dataset: Any,
        train_data: Any,
        cols: Any,
        entities: list[str],
        config: Any,
        workers: int,
        name: str,
    ) -> Any:
        from sparktag.spark.distributed import train_distributed

        test_data = None
        if self.isDefined(self.testDataset):
            test_df = read_test(dataset, self.getOrDefault(self.testDataset))
            test_data = featurize(test_df, *cols, entities=entities, name=name + " testDataset")
        fitted = train_distributed(
            train_data,
            test_data,
            config,
            self._listeners(),
            workers=workers,
            streaming=self.getOrDefault(self.enableMemoryOptimizer),
            name=name,
        )
        self.last_distributed_fit = fitted  # the all-reduce cost, for benchmarks
        return fitted.result

    def _listeners(self) -> list[Any]:
        """The driver's listeners of one fit: the Spark NLP log file, the epoch line, LISTENER_FACTORIES'."""
        from sparktag.ner.log import NerDLLog

        listeners: list[Any] = []
        log_path = self.log_path()
        if log_path:
            os.makedirs(os.path.dirname(log_path), exist_ok=True)
            listeners.append(
                NerDLLog(
                    os.path.dirname(log_path),
                    self.uid,
                    extended=self.getOrDefault(self.evaluationLogExtended),
                )
            )
        if self.getOrDefault(self.verbose) <= 3:  # Spark NLP prints epochs at verbose 0-3 (default 2)
            from sparktag.ner.progress import EpochProgress

            listeners.append(EpochProgress())
        for factory in LISTENER_FACTORIES:
            try:
                listener = factory(self)
            except Exception as err:  # a tracker must never break training
                logger.warning("listener factory %r failed: %s", factory, err)
                continue
            if listener is not None:
                listeners.append(listener)
        return listeners

    def model_from_result(self, result: Any, storage_ref: str | None = None) -> NerDLModel:
        """The :class:`NerDLModel` that ``fit`` returns, made from a trainer result: the trained weights plus
        this approach's inputCols, outputCol, batchSize and confidence params.

        ``fit`` calls it after training on a DataFrame. Call it yourself to make a pipeline stage from
        :func:`sparktag.ner.train.train` run on examples featurized without Spark (no SparkSession needed).

        Args:
            result: the :class:`~sparktag.ner.train.TrainResult` (or a ``Tagger``) to wrap.
            storage_ref: the word embeddings' ``storageRef`` (``fit`` reads it from the embeddings column's
                metadata); empty or None leaves the model's default.

        Returns:
            a fitted NerDLModel; ``training_result`` holds ``result``.

        Example:
            >>> result = train(examples, approach.train_config(), listeners=[...])  # doctest: +SKIP
            >>> ner = approach.model_from_result(result, storage_ref=bert.getStorageRef())  # doctest: +SKIP
        """
        from sparktag.ner.model_files import to_files
        from sparktag.ner.tagger import Tagger

        model = NerDLModel()
        for param in (
            self.inputCols,
            self.outputCol,
            self.batchSize,
            self.includeConfidence,
            self.includeAllConfidenceScores,
        ):
            if self.isDefined(param):
                model._set(**{param.name: self.getOrDefault(param)})
        if storage_ref:
            model._set(storageRef=storage_ref)
        model._from_files(to_files(result if isinstance(result, Tagger) else result.tagger))
        model.training_result = result
        return model

    def _feature_columns(self, df: Any, name: str) -> tuple[str, str, str, str]:
        if not self.isDefined(self.inputCols):
            raise ValueError(
                f"{name}: inputCols is not set; call setInputCols(['sentence', 'token', 'embeddings'])"
            )
        cols = self.getInputCols()
        if len(cols) != 3:
            raise ValueError(
                f"{name}: inputCols needs 3 columns (sentence, token, word_embeddings); got {cols}"
            )
        label = self.getOrDefault(self.labelColumn)
        for col in [*cols, label]:
            if col not in df.columns:
                what = "labelColumn" if col == label else "inputCols"
                raise ValueError(
                    f"{name}: {what} names column {col!r}, which the DataFrame does not have "
                    f"(columns: {', '.join(df.columns)})"
                )
        token_types = [df.schema[c].metadata.get("annotatorType") for c in cols]
        for col, got, want in zip(cols, token_types, _INPUT_TYPES, strict=True):
            if got is not None and got != want:
                raise ValueError(
                    f"{name}: column {col!r} holds {got!r} annotations; this position needs {want!r}"
                )
        return cols[0], cols[1], cols[2], label


class NerDLModel(AnnotatorModel, NerParams, TensorFlowOnlySetters, WeightsReadWrite):
    """Tags every token with the trained network: one ``named_entity`` annotation per token.

    Metadata: ``word`` and ``sentence``; ``confidence`` with includeConfidence; one probability per tag
    (keyed by the tag) with includeAllConfidenceScores.
    """

    inputAnnotatorTypes = _INPUT_TYPES
    outputAnnotatorType = AnnotatorType.NAMED_ENTITY

    param_table: tuple[ParamSpec, ...] = (
        ParamSpec("classes", "the tags the model predicts", TypeConverters.toListString),
    )
    param_defaults = {"outputCol": "ner", "storageRef": ""}

    def __init__(self) -> None:
        super().__init__()
        self._init_params({})
        self._files: dict[str, bytes] | None = None
        self._digest = ""
        self.training_result: Any = None

    def getClasses(self) -> list[str]:
        return list(self.getOrDefault(self.classes)) if self.isDefined(self.classes) else []

    @classmethod
    def pretrained(cls, name: str = "ner_dl", lang: str = "en", remote_loc: str | None = None) -> NerDLModel:
        """Load a saved NerDLModel by name from the local model folder (``$SPARKTAG_MODELS``); never downloads.

        The folder ``<models>/<name>_<lang>/`` (or ``<models>/<name>/``) holds what
        ``model.write().overwrite().save(folder)`` wrote. ``remote_loc`` is accepted for Spark NLP compatibility.
        """
        return load_pretrained_stage(cls, name, lang)

    def _to_files(self) -> dict[str, bytes]:
        if self._files is None:
            raise ValueError(
                f"{self.uid} has no weights: train one with NerDLApproach or load one with NerDLModel.load"
            )
        return self._files

    def _from_files(self, files: dict[str, bytes]) -> None:
        import hashlib

        from sparktag.ner.model_files import from_files

        tagger = from_files(files)  # validates the format version now, not in a worker
        self._files = files
        self._digest = hashlib.sha256(b"".join(files[k] for k in sorted(files))).hexdigest()
        self._set(classes=list(tagger.tags))
        _TAGGERS[self._digest] = tagger

    def _annotator(self) -> AnnotateFn:
        digest = self._digest
        get_files = ship_files(self._to_files(), digest)  # once per executor, not inside every task
        batch_size = self.getBatchSize()
        with_conf = self.getIncludeConfidence()
        with_all = self.getIncludeAllConfidenceScores()

        def annotate(columns: list[list[Any]]) -> list[list[Annotation]]:
            limit_torch_threads_in_task()
            tagger = _tagger(digest, get_files)
            return tag_rows(columns[1], columns[2], tagger, batch_size, with_conf, with_all)

        return annotate


def _tagger(digest: str, get_files: Callable[[], dict[str, bytes]]) -> Any:
    """This process's tagger of ``digest``, loaded once from ``get_files()``.

    A module-level function, so the batch function refers to it by name: a closure naming ``_TAGGERS`` itself
    would be pickled with that dict, and with every tagger the driver has loaded in it.
    """
    from sparktag.ner.model_files import from_files

    tagger = _TAGGERS.get(digest)
    if tagger is None:
        tagger = _TAGGERS[digest] = from_files(get_files())
    return tagger


_TAGGERS: dict[str, Any] = {}  # digest -> loaded tagger, one per process

"""NerDLApproach (Estimator) -> NerDLModel: Spark NLP's char CNN + BiLSTM + CRF tagger, trained in PyTorch.

Featurising runs distributed (``sparktag.spark.ner_features``): each partition turns its rows into compact
per-sentence records (token texts, tags, one float32 buffer of vectors) with ``mapInArrow``; the driver trains on
those (as Spark NLP does). NerDLModel maps :func:`sparktag.ner.annotate.tag_rows` over the rows.
"""

from __future__ import annotations

import logging
import os
import tempfile
from collections.abc import Callable
from typing import Any

from pyspark import keyword_only
from pyspark.ml import Estimator
from pyspark.ml.param import TypeConverters

from sparktag.annotation import Annotation, AnnotatorType
from sparktag.ner.annotate import tag_rows
from sparktag.ner.config import TrainConfig
from sparktag.spark.ner_features import examples, featurize, has_examples, parquet_source, read_test
from sparktag.spark.params import HasInputCols, HasOutputCol, HasStorageRef, ParamSpec, field_param, one_of
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


def _trained(name: str, field: str, converter: Any, doc: str, **options: Any) -> ParamSpec:
    """A row of a param the trainer reads: its default is ``TrainConfig.<field>``'s."""
    return field_param(TrainConfig, name, field, converter, doc, **options)


def _dropout_check(value: float) -> str | None:
    if 0.0 < value <= 1.0:
        return None
    return f"dropout is the probability to KEEP a unit (Spark NLP): in (0, 1]; got {value}"


def _validation_split_check(value: float) -> str | None:
    return None if 0.0 <= value < 1.0 else f"validationSplit must be in [0, 1); got {value}"


def _num_workers_check(value: int) -> str | None:
    return None if value >= 0 else f"numWorkers must be >= 0 (0 or 1: train on the driver); got {value}"


def _spark_verbose(level: int) -> int:
    """Spark NLP's verbose (0-1 every batch, 2-3 every epoch, 4 silent) as the trainer's (2, 1, 0)."""
    return 2 if level <= 1 else (1 if level <= 3 else 0)


class _NerParams(HasStorageRef):
    param_table: tuple[ParamSpec, ...] = (
        _trained("batchSize", "batch_size", TypeConverters.toInt, "number of sentences per batch"),
        ParamSpec(
            "includeConfidence",
            "add the chosen tag's probability to each annotation's metadata (confidence)",
            TypeConverters.toBoolean,
            False,
        ),
        ParamSpec(
            "includeAllConfidenceScores",
            "add every tag's probability to each annotation's metadata",
            TypeConverters.toBoolean,
            False,
        ),
    )


_TF_WARNED: set[str] = set()  # "Class.setter" names already warned about in this process


def _tensorflow_only(owner: Any, setter: str) -> Any:
    """Accept a setter that only configures TensorFlow in Spark NLP: it does nothing here; warn once per process."""
    key = f"{type(owner).__name__}.{setter}"
    if key not in _TF_WARNED:
        import warnings

        _TF_WARNED.add(key)
        warnings.warn(
            f"{key} configures TensorFlow in Spark NLP; sparktag trains and tags with PyTorch, so it has no "
            "effect here (remove the call to silence this warning)",
            UserWarning,
            stacklevel=3,
        )
    return owner


class _TensorFlowOnlySetters:
    """Spark NLP setters that only tune TensorFlow (graphs, contrib LSTM cells, session config): no-ops here."""

    def setGraphFolder(self, p: str) -> Any:
        return _tensorflow_only(self, "setGraphFolder")

    def setGraphFile(self, p: str) -> Any:
        return _tensorflow_only(self, "setGraphFile")

    def setUseContrib(self, v: bool) -> Any:
        return _tensorflow_only(self, "setUseContrib")

    def setConfigProtoBytes(self, b: Any) -> Any:
        return _tensorflow_only(self, "setConfigProtoBytes")


class NerDLApproach(
    Estimator,
    HasInputCols,
    HasOutputCol,
    _NerParams,
    _TensorFlowOnlySetters,
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

    # One row a param. A trainer param (``_trained``) takes its default from TrainConfig and sets its field.
    # fmt: off
    param_table: tuple[ParamSpec, ...] = (
        ParamSpec("labelColumn", "column with the gold named_entity annotations", TypeConverters.toString,
                  "label"),
        ParamSpec("entities", "entity types to learn (others become O); all when empty",
                  TypeConverters.toListString, []),
        _trained("lr", "lr", TypeConverters.toFloat, "learning rate"),
        _trained("po", "po", TypeConverters.toFloat, "learning-rate decay: lr / (1 + po * epoch)"),
        _trained("dropout", "dropout", TypeConverters.toFloat,
                 "probability to keep a unit (Spark NLP's convention)", check=_dropout_check),
        _trained("maxEpochs", "max_epochs", TypeConverters.toInt, "epochs to train"),
        _trained("minEpochs", "min_epochs", TypeConverters.toInt, "epochs before early stopping may stop"),
        _trained("validationSplit", "validation_split", TypeConverters.toFloat,
                 "fraction of the training data held out", check=_validation_split_check),
        ParamSpec("testDataset", "parquet path of an embedded DataFrame scored after every epoch",
                  TypeConverters.toString),
        ParamSpec("evaluationLogExtended", "print per-label scores in the training log",
                  TypeConverters.toBoolean, False),
        ParamSpec("enableOutputLogs", "write the training log file", TypeConverters.toBoolean, False),
        ParamSpec("outputLogsPath", "folder of the training log file", TypeConverters.toString, ""),
        ParamSpec("enableMemoryOptimizer", "stream training data from disk instead of memory",
                  TypeConverters.toBoolean, False),
        _trained("useBestModel", "use_best_model", TypeConverters.toBoolean, "keep the best epoch's weights"),
        _trained("bestModelMetric", "best_model_metric", TypeConverters.toString, "f1_micro or f1_macro",
                 check=one_of("bestModelMetric", ("f1_micro", "f1_macro"))),
        _trained("earlyStoppingPatience", "early_stopping_patience", TypeConverters.toInt,
                 "stop after this many epochs without improvement (0: never)", none_is=0),
        _trained("earlyStoppingCriterion", "early_stopping_criterion", TypeConverters.toFloat,
                 "smallest improvement of bestModelMetric that counts"),
        _trained("gradClip", "grad_clip", TypeConverters.toFloat,
                 "clip each gradient value to [-gradClip, gradClip], as Spark NLP's graphs do (0: off)"),
        _trained("randomSeed", "random_seed", TypeConverters.toInt,
                 "seed of everything random; same seed, same model (unset: a seed is drawn and logged)"),
        # Spark NLP's scale and default (2: a line per epoch), not the trainer's (its 0 is silent).
        ParamSpec("verbose", "Spark NLP verbosity: 0-1 every batch, 2-3 every epoch, 4 silent",
                  TypeConverters.toInt, 2, field="verbose", to_field=_spark_verbose),
        _trained("lstmHidden", "lstm_hidden", TypeConverters.toInt, "BiLSTM units per direction"),
        _trained("lstmLayers", "lstm_layers", TypeConverters.toInt, "stacked BiLSTM layers"),
        _trained("charCnnFilters", "char_cnn_filters", TypeConverters.toInt,
                 "char CNN filters (0 disables the char CNN)"),
        _trained("charLstmHidden", "char_lstm_hidden", TypeConverters.toInt,
                 "char BiLSTM units per direction (0 disables it)"),
        _trained("numThreads", "num_threads", TypeConverters.toInt,
                 "torch threads while training (0: leave as is); 1 is fastest for small batches on a busy "
                 "machine", none_is=0),
        _trained("checkpointPath", "checkpoint_dir", TypeConverters.toString,
                 "local folder (on the driver) for a training checkpoint after every epoch: weights, optimizer "
                 "and RNG states, best score, history; the latest is kept. Empty: no checkpoints", none_is=""),
        _trained("resumeFromCheckpoint", "resume_from_checkpoint", TypeConverters.toBoolean,
                 "when checkpointPath holds a checkpoint, continue from it (it must come from the same params "
                 "and data, else fit refuses; maxEpochs may grow); false starts over and deletes it"),
        ParamSpec("numWorkers",
                  "train on this many executor processes at once (pyspark's TorchDistributor, gloo, CPU); each "
                  "holds a contiguous shard of the featurised data and trains its sentences of every batch of "
                  "batchSize (best a multiple of numWorkers); the steps are those of training on the driver. 0 "
                  "or 1: on the driver only", TypeConverters.toInt, 0, check=_num_workers_check),
    )
    # fmt: on
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

    def setNumWorkers(self, v: int) -> NerDLApproach:
        """Train on ``v`` executor processes (see ``docs/distributed.md``); 0 or 1 trains on the driver.

        A step trains one batch of ``batchSize`` sentences, as on the driver, split over the workers (each
        holds ``batchSize / v`` of them when ``v`` divides ``batchSize``): the same seed trains the same model
        as on the driver, up to float rounding. On a cluster, the
        SparkContext's checkpoint dir (``sc.setCheckpointDir``) must be shared storage: the featurised data
        goes there; ``checkpointPath``, when set, must be a folder every executor and the driver can read.
        """
        problem = _num_workers_check(v)
        if problem:
            raise ValueError(problem)
        return self._set(numWorkers=v)

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


class NerDLModel(AnnotatorModel, _NerParams, _TensorFlowOnlySetters, WeightsReadWrite):
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

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
from pyspark.ml.param import Param, Params, TypeConverters

from sparktag.annotation import Annotation, AnnotatorType
from sparktag.ner.annotate import tag_rows
from sparktag.spark.ner_features import examples, featurize, has_examples, parquet_source, read_test
from sparktag.spark.params import HasBatchSize, HasInputCols, HasOutputCol, HasStorageRef, set_from_kwargs
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


class _NerParams(HasBatchSize, HasStorageRef):
    includeConfidence: Param[bool] = Param(
        Params._dummy(),
        "includeConfidence",
        "add the chosen tag's probability to each annotation's metadata (confidence)",
        typeConverter=TypeConverters.toBoolean,
    )
    includeAllConfidenceScores: Param[bool] = Param(
        Params._dummy(),
        "includeAllConfidenceScores",
        "add every tag's probability to each annotation's metadata",
        typeConverter=TypeConverters.toBoolean,
    )

    def setIncludeConfidence(self, value: bool) -> Any:
        return self._set(includeConfidence=value)

    def getIncludeConfidence(self) -> bool:
        return self.getOrDefault(self.includeConfidence)

    def setIncludeAllConfidenceScores(self, value: bool) -> Any:
        return self._set(includeAllConfidenceScores=value)

    def getIncludeAllConfidenceScores(self) -> bool:
        return self.getOrDefault(self.includeAllConfidenceScores)


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


def _p(name: str, doc: str, conv: Any) -> Param[Any]:
    return Param(Params._dummy(), name, doc, typeConverter=conv)


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
    uninterrupted fit (and, with autologging, in the same MLflow run). See ``sparktag.ner.training_checkpoint``.

    Example:
        >>> ner = NerDLApproach().setInputCols(["sentence", "token", "embeddings"]) \\
        ...     .setLabelColumn("label").setOutputCol("ner").setMaxEpochs(10)  # doctest: +SKIP
    """

    inputAnnotatorTypes = _INPUT_TYPES

    labelColumn = _p("labelColumn", "column with the gold named_entity annotations", TypeConverters.toString)
    entities = _p(
        "entities", "entity types to learn (others become O); all when empty", TypeConverters.toListString
    )
    lr = _p("lr", "learning rate", TypeConverters.toFloat)
    po = _p("po", "learning-rate decay: lr / (1 + po * epoch)", TypeConverters.toFloat)
    dropout = _p("dropout", "probability to keep a unit (Spark NLP's convention)", TypeConverters.toFloat)
    maxEpochs = _p("maxEpochs", "epochs to train", TypeConverters.toInt)
    minEpochs = _p("minEpochs", "epochs before early stopping may stop", TypeConverters.toInt)
    validationSplit = _p("validationSplit", "fraction of the training data held out", TypeConverters.toFloat)
    testDataset = _p(
        "testDataset",
        "parquet path of an embedded DataFrame scored after every epoch",
        TypeConverters.toString,
    )
    evaluationLogExtended = _p(
        "evaluationLogExtended", "print per-label scores in the training log", TypeConverters.toBoolean
    )
    enableOutputLogs = _p("enableOutputLogs", "write the training log file", TypeConverters.toBoolean)
    outputLogsPath = _p("outputLogsPath", "folder of the training log file", TypeConverters.toString)
    enableMemoryOptimizer = _p(
        "enableMemoryOptimizer", "stream training data from disk instead of memory", TypeConverters.toBoolean
    )
    useBestModel = _p("useBestModel", "keep the best epoch's weights", TypeConverters.toBoolean)
    bestModelMetric = _p("bestModelMetric", "f1_micro or f1_macro", TypeConverters.toString)
    earlyStoppingPatience = _p(
        "earlyStoppingPatience",
        "stop after this many epochs without improvement (0: never)",
        TypeConverters.toInt,
    )
    earlyStoppingCriterion = _p(
        "earlyStoppingCriterion",
        "smallest improvement of bestModelMetric that counts",
        TypeConverters.toFloat,
    )
    randomSeed = _p("randomSeed", "seed of everything random; same seed, same model", TypeConverters.toInt)
    verbose = _p(
        "verbose", "Spark NLP verbosity: 0-1 every batch, 2-3 every epoch, 4 silent", TypeConverters.toInt
    )
    lstmHidden = _p("lstmHidden", "BiLSTM units per direction", TypeConverters.toInt)
    lstmLayers = _p("lstmLayers", "stacked BiLSTM layers", TypeConverters.toInt)
    charCnnFilters = _p("charCnnFilters", "char CNN filters (0 disables the char CNN)", TypeConverters.toInt)
    charLstmHidden = _p(
        "charLstmHidden", "char BiLSTM units per direction (0 disables it)", TypeConverters.toInt
    )
    numThreads = _p(
        "numThreads",
        "torch threads while training (0: leave as is); 1 is fastest for small batches on a busy machine",
        TypeConverters.toInt,
    )
    checkpointPath = _p(
        "checkpointPath",
        "local folder (on the driver) for a training checkpoint after every epoch: weights, optimizer and RNG "
        "states, best score, history; the latest is kept. Empty: no checkpoints",
        TypeConverters.toString,
    )
    numWorkers = _p(
        "numWorkers",
        "train on this many executor processes at once (pyspark's TorchDistributor, gloo, CPU); each holds a "
        "contiguous shard of the featurised data and trains its sentences of every batch of batchSize (best a "
        "multiple of numWorkers); the steps are those of training on the driver. 0 or 1: on the driver only",
        TypeConverters.toInt,
    )
    resumeFromCheckpoint = _p(
        "resumeFromCheckpoint",
        "when checkpointPath holds a checkpoint, continue from it (it must come from the same params and "
        "data, else fit refuses; maxEpochs may grow); false starts over and deletes it",
        TypeConverters.toBoolean,
    )

    @keyword_only
    def __init__(self, **kwargs: Any) -> None:
        super().__init__()
        self._setDefault(
            outputCol="ner",
            batchSize=8,
            includeConfidence=False,
            includeAllConfidenceScores=False,
            labelColumn="label",
            entities=[],
            lr=0.001,
            po=0.005,
            dropout=0.5,
            maxEpochs=50,
            minEpochs=0,
            validationSplit=0.0,
            evaluationLogExtended=False,
            enableOutputLogs=False,
            outputLogsPath="",
            enableMemoryOptimizer=False,
            useBestModel=False,
            bestModelMetric="f1_micro",
            earlyStoppingPatience=0,
            earlyStoppingCriterion=0.0,
            verbose=2,
            lstmHidden=128,
            lstmLayers=1,
            charCnnFilters=30,
            charLstmHidden=0,
            numThreads=1,
            checkpointPath="",
            resumeFromCheckpoint=True,
            numWorkers=0,
        )
        set_from_kwargs(self, self._input_kwargs)

    # Spark NLP's setters, one line each.
    def setLabelColumn(self, v: str) -> NerDLApproach:
        return self._set(labelColumn=v)

    def setEntities(self, v: list[str]) -> NerDLApproach:
        return self._set(entities=v)

    def setLr(self, v: float) -> NerDLApproach:
        return self._set(lr=v)

    def setPo(self, v: float) -> NerDLApproach:
        return self._set(po=v)

    def setDropout(self, v: float) -> NerDLApproach:
        if not 0.0 < v <= 1.0:
            raise ValueError(f"dropout is the probability to KEEP a unit (Spark NLP): in (0, 1]; got {v}")
        return self._set(dropout=v)

    def setMaxEpochs(self, v: int) -> NerDLApproach:
        return self._set(maxEpochs=v)

    def setMinEpochs(self, v: int) -> NerDLApproach:
        return self._set(minEpochs=v)

    def setValidationSplit(self, v: float) -> NerDLApproach:
        if not 0.0 <= v < 1.0:
            raise ValueError(f"validationSplit must be in [0, 1); got {v}")
        return self._set(validationSplit=v)

    def setTestDataset(
        self, path: str, read_as: str = "SPARK", options: dict[str, str] | None = None
    ) -> NerDLApproach:
        """A parquet folder of an already-embedded DataFrame (as Spark NLP: ``df.write.parquet(path)``)."""
        fmt = (options or {}).get("format", "parquet")
        if fmt != "parquet":
            raise ValueError(f"testDataset must be parquet; got format {fmt!r}")
        return self._set(testDataset=path)

    def setEvaluationLogExtended(self, v: bool) -> NerDLApproach:
        return self._set(evaluationLogExtended=v)

    def setEnableOutputLogs(self, v: bool) -> NerDLApproach:
        return self._set(enableOutputLogs=v)

    def setOutputLogsPath(self, v: str) -> NerDLApproach:
        return self._set(outputLogsPath=v)

    def setEnableMemoryOptimizer(self, v: bool) -> NerDLApproach:
        return self._set(enableMemoryOptimizer=v)

    def setUseBestModel(self, v: bool) -> NerDLApproach:
        return self._set(useBestModel=v)

    def setBestModelMetric(self, v: str) -> NerDLApproach:
        if v not in ("f1_micro", "f1_macro"):
            raise ValueError(f"bestModelMetric must be 'f1_micro' or 'f1_macro'; got {v!r}")
        return self._set(bestModelMetric=v)

    def setEarlyStoppingPatience(self, v: int) -> NerDLApproach:
        return self._set(earlyStoppingPatience=v)

    def setEarlyStoppingCriterion(self, v: float) -> NerDLApproach:
        return self._set(earlyStoppingCriterion=v)

    def setRandomSeed(self, v: int) -> NerDLApproach:
        return self._set(randomSeed=v)

    def setVerbose(self, v: int) -> NerDLApproach:
        return self._set(verbose=v)

    def setLstmHidden(self, v: int) -> NerDLApproach:
        return self._set(lstmHidden=v)

    def setLstmLayers(self, v: int) -> NerDLApproach:
        return self._set(lstmLayers=v)

    def setCharCnnFilters(self, v: int) -> NerDLApproach:
        return self._set(charCnnFilters=v)

    def setCharLstmHidden(self, v: int) -> NerDLApproach:
        return self._set(charLstmHidden=v)

    def setNumThreads(self, v: int) -> NerDLApproach:
        return self._set(numThreads=v)

    def setCheckpointPath(self, v: str) -> NerDLApproach:
        return self._set(checkpointPath=v)

    def setResumeFromCheckpoint(self, v: bool) -> NerDLApproach:
        return self._set(resumeFromCheckpoint=v)

    def setNumWorkers(self, v: int) -> NerDLApproach:
        """Train on ``v`` executor processes (see ``docs/distributed.md``); 0 or 1 trains on the driver.

        A step trains one batch of ``batchSize`` sentences, as on the driver, split over the workers (each
        holds ``batchSize / v`` of them when ``v`` divides ``batchSize``): the same seed trains the same model
        as on the driver, up to float rounding. On a cluster, the
        SparkContext's checkpoint dir (``sc.setCheckpointDir``) must be shared storage: the featurised data
        goes there; ``checkpointPath``, when set, must be a folder every executor and the driver can read.
        """
        if v < 0:
            raise ValueError(f"numWorkers must be >= 0 (0 or 1: train on the driver); got {v}")
        return self._set(numWorkers=v)

    def getNumWorkers(self) -> int:
        return self.getOrDefault(self.numWorkers)

    def train_config(self) -> Any:
        """The params as the trainer's :class:`~sparktag.ner.train.TrainConfig`."""
        from sparktag.ner.train import TrainConfig

        g = self.getOrDefault
        verbose = g(self.verbose)
        return TrainConfig(
            lr=g(self.lr),
            po=g(self.po),
            batch_size=g(self.batchSize),
            dropout=g(self.dropout),
            max_epochs=g(self.maxEpochs),
            min_epochs=g(self.minEpochs),
            validation_split=g(self.validationSplit),
            random_seed=g(self.randomSeed) if self.isDefined(self.randomSeed) else None,
            use_best_model=g(self.useBestModel),
            best_model_metric=g(self.bestModelMetric),
            early_stopping_patience=g(self.earlyStoppingPatience) or None,
            early_stopping_criterion=g(self.earlyStoppingCriterion),
            verbose=2 if verbose <= 1 else (1 if verbose <= 3 else 0),
            num_threads=g(self.numThreads) or None,
            char_cnn_filters=g(self.charCnnFilters),
            char_lstm_hidden=g(self.charLstmHidden),
            lstm_hidden=g(self.lstmHidden),
            lstm_layers=g(self.lstmLayers),
            checkpoint_dir=g(self.checkpointPath) or None,
            resume_from_checkpoint=g(self.resumeFromCheckpoint),
        )

    def params_dict(self) -> dict[str, Any]:
        """Every param with its value (set or default), JSON-able: what a tracker logs."""
        return {p.name: self.getOrDefault(p) for p in self.params if self.isDefined(p)}

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
            result: the :class:`~sparktag.ner.train.TrainResult` (or a checkpoint ``Tagger``) to wrap.
            storage_ref: the word embeddings' ``storageRef`` (``fit`` reads it from the embeddings column's
                metadata); empty or None leaves the model's default.

        Returns:
            a fitted NerDLModel; ``training_result`` holds ``result``.

        Example:
            >>> result = train(examples, approach.train_config(), listeners=[...])  # doctest: +SKIP
            >>> ner = approach.model_from_result(result, storage_ref=bert.getStorageRef())  # doctest: +SKIP
        """
        from sparktag.ner.checkpoint import to_files

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
        model._from_files(to_files(result))
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

    classes = _p("classes", "the tags the model predicts", TypeConverters.toListString)

    def __init__(self) -> None:
        super().__init__()
        self._setDefault(
            outputCol="ner",
            batchSize=8,  # Spark NLP's default
            includeConfidence=False,
            includeAllConfidenceScores=False,
            storageRef="",
        )
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

        from sparktag.ner.checkpoint import from_files

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
    from sparktag.ner.checkpoint import from_files

    tagger = _TAGGERS.get(digest)
    if tagger is None:
        tagger = _TAGGERS[digest] = from_files(get_files())
    return tagger


_TAGGERS: dict[str, Any] = {}  # digest -> loaded tagger, one per process

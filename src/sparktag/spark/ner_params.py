"""The params of the NerDL stages, one table each: NerDLApproach's (most of them set a field of the trainer's
:class:`~sparktag.ner.config.TrainConfig` and take their default from it), those NerDLModel shares with it, and
Spark NLP's TensorFlow-only setters (accepted, no effect here)."""

from __future__ import annotations

from typing import Any

from pyspark.ml.param import TypeConverters

from sparktag.ner.config import TrainConfig
from sparktag.spark.params import DeclaredParams, HasStorageRef, ParamSpec, field_param, one_of


def _trained(name: str, field: str, converter: Any, doc: str, **options: Any) -> ParamSpec:
    """A row of a param the trainer reads: its default is ``TrainConfig.<field>``'s."""
    return field_param(TrainConfig, name, field, converter, doc, **options)


def _dropout_check(value: float) -> str | None:
    if 0.0 < value <= 1.0:
        return None
    return f"dropout is the probability to KEEP a unit (Spark NLP): in (0, 1]; got {value}"


def _validation_split_check(value: float) -> str | None:
    return None if 0.0 <= value < 1.0 else f"validationSplit must be in [0, 1); got {value}"


def _casing_dim_check(value: int) -> str | None:
    return None if value >= 0 else f"casingDim must be >= 0 (0 turns the casing embedding off); got {value}"


def _num_workers_check(value: int) -> str | None:
    return None if value >= 0 else f"numWorkers must be >= 0 (0 or 1: train on the driver); got {value}"


def _spark_verbose(level: int) -> int:
    """Spark NLP's verbose (0-1 every batch, 2-3 every epoch, 4 silent) as the trainer's (2, 1, 0)."""
    return 2 if level <= 1 else (1 if level <= 3 else 0)


class NerParams(HasStorageRef):
    """The params NerDLApproach and NerDLModel share."""

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


class TensorFlowOnlySetters:
    """Spark NLP setters that only tune TensorFlow (graphs, contrib LSTM cells, session config): no-ops here."""

    def setGraphFolder(self, p: str) -> Any:
        return _tensorflow_only(self, "setGraphFolder")

    def setGraphFile(self, p: str) -> Any:
        return _tensorflow_only(self, "setGraphFile")

    def setUseContrib(self, v: bool) -> Any:
        return _tensorflow_only(self, "setUseContrib")

    def setConfigProtoBytes(self, b: Any) -> Any:
        return _tensorflow_only(self, "setConfigProtoBytes")


class NerDLApproachParams(DeclaredParams):
    """NerDLApproach's own params: adding one is a row here (and, for the trainer, its TrainConfig field)."""

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
        _trained("casingDim", "casing_dim", TypeConverters.toInt,
                 "size of the learned word-shape (casing) embedding added beside the word vectors: numeric, "
                 "all_upper, initial_upper, ... (sparktag.core.casing); 0 turns it off (Spark NLP's network)",
                 check=_casing_dim_check),
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

    def setNumWorkers(self, v: int) -> Any:
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

"""What the training loop tells its listeners: plain dataclasses, no torch, no MLflow.

The loop (``ner/train.py``) emits these through :class:`Listeners`; the Spark NLP log file, the progress bar and
MLflow autologging are each one listener. Scores are counts plus derived values, so a listener can print them in
any format.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar, Protocol

logger = logging.getLogger(__name__)


@dataclass
class LabelCounts:
    """True positives, false positives and false negatives of one label (a tag or an entity type)."""

    tp: int = 0
    fp: int = 0
    fn: int = 0

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 0.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 0.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0


@dataclass
class Scores:
    """Per-label counts with micro and macro averages.

    ``macro_*`` follows Spark NLP's NerDL log: macro precision and recall are the means over labels, and
    macro F1 is the harmonic mean of those two means (not the mean of per-label F1s).
    """

    per_label: dict[str, LabelCounts] = field(default_factory=dict)

    @property
    def total(self) -> LabelCounts:
        return LabelCounts(
            tp=sum(c.tp for c in self.per_label.values()),
            fp=sum(c.fp for c in self.per_label.values()),
            fn=sum(c.fn for c in self.per_label.values()),
        )

    @property
    def micro_precision(self) -> float:
        return self.total.precision

    @property
    def micro_recall(self) -> float:
        return self.total.recall

    @property
    def micro_f1(self) -> float:
        return self.total.f1

    @property
    def macro_precision(self) -> float:
        n = len(self.per_label)
        return sum(c.precision for c in self.per_label.values()) / n if n else 0.0

    @property
    def macro_recall(self) -> float:
        n = len(self.per_label)
        return sum(c.recall for c in self.per_label.values()) / n if n else 0.0

    @property
    def macro_f1(self) -> float:
        p, r = self.macro_precision, self.macro_recall
        return 2 * p * r / (p + r) if p + r else 0.0


@dataclass
class Evaluation:
    """Scores of the model on one dataset after an epoch.

    Args:
        name: ``"validation"`` or ``"test"``.
        examples: number of sentences scored.
        fraction: for validation, the share of the training data held out (``validationSplit``), else ``None``.
        elapsed_s: time spent evaluating.
        token: Spark NLP's token-level scores, one label per non-O tag (``B-PER``, ``I-PER``, ...).
        entity: strict CoNLL (conlleval) chunk-level scores, one label per entity type (``PER``, ...).
    """

    name: str
    examples: int
    elapsed_s: float
    token: Scores
    entity: Scores
    fraction: float | None = None


@dataclass
class TrainingStarted:
    graph: str  # a description of the network, for the log's "Name of the selected graph" line
    total_epochs: int
    lr: float
    batch_size: int
    labels: list[str]  # every tag, O included
    chars: int  # size of the character vocabulary
    training_examples: int
    params: dict[str, object] = field(default_factory=dict)  # every hyperparameter, JSON-able
    # Resuming (``ner/checkpoint.py``): the first epoch this training runs (> 1 when resumed), the
    # checkpoint folder it continues from, and the epochs done before the interruption, restored from the
    # checkpoint (EpochEnded is emitted only for the epochs run, from ``start_epoch`` on; a listener that wants
    # the whole training, such as the log file or MLflow, takes the earlier ones from here).
    start_epoch: int = 1
    resumed_from: str | None = None
    history: list[EpochEnded] = field(default_factory=list)
    checkpoint_dir: str | None = None  # where checkpoints go; a listener may keep its own files beside them


@dataclass
class EpochStarted:
    epoch: int  # 1-based
    total_epochs: int
    lr: float
    dataset_size: int


@dataclass
class BatchEnded:
    epoch: int
    batch: int  # 1-based within the epoch
    total_batches: int
    loss: float  # summed loss of this batch


@dataclass
class EpochEnded:
    epoch: int  # 1-based
    total_epochs: int
    lr: float
    elapsed_s: float  # training time of the epoch, evaluation excluded
    loss: float  # summed loss over the epoch's batches
    batches: int
    validation: Evaluation | None = None
    test: Evaluation | None = None


@dataclass
class CheckpointSaved:
    """A training checkpoint was written (atomically), after the epoch's evaluation, before its EpochEnded."""

    epoch: int  # the epoch the checkpoint ends with
    path: str  # the checkpoint folder, e.g. ``<checkpoint_dir>/epoch-0003``
    size_bytes: int
    elapsed_s: float  # time to serialise and write it


@dataclass
class TestTagged:
    """The test data tagged once more after the last epoch, with the weights training kept (``useBestModel``),
    for an error analysis of the final model. Emitted only when there is test data, before TrainingEnded.

    One entry per test sentence in each list (data-parallel training: every rank's shard, one after the other).
    """

    __test__: ClassVar[bool] = (
        False  # not a test class, though pytest sees its name in the tests importing it
    )

    words: list[list[str]]
    gold: list[list[str]]  # the test data's tags
    pred: list[list[str]]  # the model's
    confidence: list[list[float | None]]  # per token, the CRF marginal probability of its predicted tag
    elapsed_s: float = 0.0  # time to tag them


@dataclass
class TrainingEnded:
    epochs: int  # epochs trained, those before a resume included (the length of the history)
    elapsed_s: float  # training time, that of the interrupted process(es) included when resumed
    best_epoch: int | None = None  # the epoch whose weights were kept (useBestModel), else None


Event = (
    TrainingStarted | EpochStarted | BatchEnded | EpochEnded | CheckpointSaved | TestTagged | TrainingEnded
)


def _scores_from_dict(values: dict[str, Any]) -> Scores:
    return Scores({label: LabelCounts(**counts) for label, counts in values["per_label"].items()})


def _evaluation_from_dict(values: dict[str, Any] | None) -> Evaluation | None:
    if values is None:
        return None
    return Evaluation(
        name=values["name"],
        examples=values["examples"],
        elapsed_s=values["elapsed_s"],
        token=_scores_from_dict(values["token"]),
        entity=_scores_from_dict(values["entity"]),
        fraction=values["fraction"],
    )


def epoch_ended_from_dict(values: dict[str, Any]) -> EpochEnded:
    """The :class:`EpochEnded` that ``dataclasses.asdict`` turned into ``values`` (JSON round trip)."""
    return EpochEnded(
        epoch=values["epoch"],
        total_epochs=values["total_epochs"],
        lr=values["lr"],
        elapsed_s=values["elapsed_s"],
        loss=values["loss"],
        batches=values["batches"],
        validation=_evaluation_from_dict(values["validation"]),
        test=_evaluation_from_dict(values["test"]),
    )


class StopTraining(Exception):  # noqa: N818 (a request, not an error)
    """Raised by a listener on :class:`EpochEnded` to end training after that epoch, as early stopping does.

    Not a failure: the listener keeps its place, the other listeners still get the event, the loop keeps the
    weights its policies chose (``use_best_model``) and emits :class:`TrainingEnded`. A pruner of a
    hyperparameter sweep raises it for a trial whose validation score is hopeless. Data-parallel training
    (``setNumWorkers``) ignores it: its ranks must run the same epochs.

    Example:
        >>> class StopAtTwo:
        ...     def on_event(self, event):
        ...         if isinstance(event, EpochEnded) and event.epoch == 2:
        ...             raise StopTraining("enough after epoch 2")
    """


class Listener(Protocol):
    """Anything with ``on_event``; a listener that raises is warned about and dropped, never fatal (except
    :class:`StopTraining`, which asks the loop to end after the epoch)."""

    def on_event(self, event: Event) -> None: ...


class Listeners:
    """Delivers events; a listener that raises is warned about once and dropped."""

    def __init__(self, listeners: Sequence[Listener]) -> None:
        self._active = list(listeners)
        self.stop_reason: str | None = None  # set when a listener raised StopTraining

    def emit(self, event: Event) -> None:
        for listener in list(self._active):
            try:
                listener.on_event(event)
            except StopTraining as request:
                self.stop_reason = self.stop_reason or str(request) or type(listener).__name__
            except Exception as err:  # a listener must never break training
                self._active.remove(listener)
                name = type(listener).__name__
                warnings.warn(
                    f"training listener {name} raised {err!r} on {type(event).__name__}; it gets no more events "
                    "and training goes on",
                    RuntimeWarning,
                    stacklevel=3,
                )
                logger.debug("listener %s failed", name, exc_info=True)

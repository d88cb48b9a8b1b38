"""The trainer's settings (:class:`TrainConfig`), in a module of their own: no torch, so a Spark stage can read
their defaults (each NerDLApproach param's default is its field's here) without importing the trainer."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

#: TrainConfig fields added after training checkpoints were first written, each with the value every training
#: had before the field existed: ``ner/checkpoint.py`` reads a checkpoint without the field as trained with it.
ADDED_FIELDS: dict[str, Any] = {"casing_dim": 0}


@dataclass
class TrainConfig:
    """Hyperparameters of a training run, named after Spark NLP's NerDLApproach params.

    Args:
        lr: Adam learning rate (``lr``).
        po: learning-rate decay (``po``): epoch ``e`` (0-based) trains with ``lr / (1 + po * e)``.
        batch_size: sentences per batch (``batchSize``).
        dropout: probability to KEEP a unit (``dropout``, Spark NLP's convention).
        max_epochs: epochs to train (``maxEpochs``).
        min_epochs: early stopping never stops before this many epochs (``minEpochs``).
        validation_split: fraction of the training data held out for validation (``validationSplit``), chosen
            with the seed; in [0, 1).
        random_seed: seed of everything random (``randomSeed``); the same seed and data give identical weights
            and metrics on CPU. ``None`` draws a seed, reported in ``TrainResult.seed`` and the params.
        use_best_model: restore the weights of the best epoch at the end (``useBestModel``).
        best_model_metric: ``"f1_micro"`` or ``"f1_macro"`` of the token-level scores (``bestModelMetric``),
            as Spark NLP's log computes them.
        early_stopping_patience: stop when the monitored score did not improve for this many epochs (once
            ``min_epochs`` are done); ``None`` never stops early (``earlyStoppingPatience``).
        early_stopping_criterion: the improvement that counts as one (``earlyStoppingCriterion``).
        grad_clip: clip every gradient value to ``[-grad_clip, grad_clip]`` as Spark NLP's graph does;
            ``0`` disables clipping.
        verbose: 0 silent; 1 logs one line per epoch, 2 also every batch (``logging``, logger ``sparktag.ner``).
        num_threads: torch intra-op threads during training, restored afterwards; ``None`` leaves the
            process setting alone (torch's default or what the user set). Default 1: a batch of 8 sentences is
            too small for intra-op parallelism to pay, and when anything else runs on the cores (Spark's JVM,
            an embedding job) torch's spinning OpenMP threads collapse: on 2 busy cores an epoch took >10x
            longer with 2 threads than with 1. Raise it for large batches on an otherwise idle machine.
        eval_batch_size: sentences per batch when scoring validation/test data (no gradients, so larger).
        char_emb_dim, char_cnn_filters, char_lstm_hidden, lstm_hidden, lstm_layers, max_word_len: the network
            shape, see :class:`~sparktag.ner.model.NerConfig`.
        casing_dim: size of the learned embedding of each token's casing class (``casingDim``; the classes of
            :mod:`sparktag.core.casing`), concatenated beside the word embedding before the projection; 0 (the
            default) turns it off and trains Spark NLP's network. It gives the network capitalisation beside
            uncased word embeddings, which otherwise reaches it through the char features only.
        checkpoint_dir: a folder to write a training checkpoint to after every epoch (``checkpointPath``):
            weights, Adam state, RNG states, best score and weights, history; only the latest is kept.
            ``None`` writes none.
        resume_from_checkpoint: when ``checkpoint_dir`` holds a checkpoint, continue from it
            (``resumeFromCheckpoint``, default on: re-running the same command after a kill resumes). It must
            come from the same settings and data (only ``max_epochs``, ``verbose`` and ``num_threads`` may
            differ, and ``random_seed`` may be ``None``), else training refuses to start. Off: start over,
            deleting the folder's checkpoints.

    The monitored score (for ``use_best_model`` and early stopping) is the validation score if there is
    validation data, else the test score (Spark NLP's fallback), else the training loss. Spark NLP prefers the
    test set over validation; selecting on the test set leaks it into the model, so validation comes first.
    """

    lr: float = 0.001
    po: float = 0.005
    batch_size: int = 8
    dropout: float = 0.5
    max_epochs: int = 50
    min_epochs: int = 0
    validation_split: float = 0.0
    random_seed: int | None = None
    use_best_model: bool = False
    best_model_metric: Literal["f1_micro", "f1_macro"] = "f1_micro"
    early_stopping_patience: int | None = None
    early_stopping_criterion: float = 0.0
    grad_clip: float = 5.0
    verbose: int = 0
    num_threads: int | None = 1
    eval_batch_size: int = 64
    # Network shape. One residual BiLSTM layer of 128 per direction: Spark NLP's graphs stack 3, but on two
    # CPU cores each layer adds ~40% to the epoch time, and over frozen contextual embeddings (MiniLM) the
    # extra layers add little. The char BiLSTM is off for the same reason (the char CNN stays on).
    char_emb_dim: int = 25
    char_cnn_filters: int = 30
    char_lstm_hidden: int = 0
    lstm_hidden: int = 128
    lstm_layers: int = 1
    max_word_len: int = 24
    casing_dim: int = 0
    checkpoint_dir: str | None = None
    resume_from_checkpoint: bool = True

    def __post_init__(self) -> None:
        if self.best_model_metric not in ("f1_micro", "f1_macro"):
            raise ValueError(
                f"best_model_metric must be 'f1_micro' or 'f1_macro', got {self.best_model_metric!r}"
            )
        if self.batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, got {self.batch_size}")
        if self.max_epochs < 0 or self.min_epochs < 0:
            raise ValueError(
                f"max_epochs and min_epochs must be >= 0, got {self.max_epochs}, {self.min_epochs}"
            )
        if not 0.0 <= self.validation_split < 1.0:
            raise ValueError(f"validation_split must be in [0, 1), got {self.validation_split}")
        if self.casing_dim < 0:
            raise ValueError(f"casing_dim must be >= 0 (0: no casing embedding), got {self.casing_dim}")
        if self.early_stopping_patience is not None and self.early_stopping_patience < 1:
            raise ValueError(
                f"early_stopping_patience must be >= 1 or None, got {self.early_stopping_patience}"
            )

    def lr_at(self, epoch: int) -> float:
        """Learning rate of the 0-based ``epoch``: Spark NLP's ``lr / (1 + po * epoch)``."""
        return self.lr / (1.0 + self.po * epoch)

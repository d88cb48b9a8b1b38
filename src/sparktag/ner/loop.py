"""The pieces ``train`` (``ner/train.py``) is made of: setting up a run, one epoch, and the policies applied after
each epoch (best model, early stopping, checkpoint).

In the manner of spaCy's ``train_while_improving``: :func:`train_while_improving` runs the epochs and yields
each one's :class:`~sparktag.ner.events.EpochEnded` once the loop state (a
:class:`~sparktag.ner.checkpoint.TrainerState`, the dataclass a checkpoint saves) is updated; the caller writes
the checkpoint and tells the listeners. :class:`Run` holds what is built once: the data, the network, its
optimizer and the batch-order generator.
"""

from __future__ import annotations

import logging
import math
import secrets
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, replace
from typing import TYPE_CHECKING

import numpy as np
import torch

from sparktag.ner.checkpoint import (
    ResumePoint,
    TrainerState,
    check_config,
    check_data,
    checkpoint_files,
    latest_checkpoint,
    read_checkpoint,
    remove_checkpoints,
    restore,
    resumable_config,
    write_checkpoint,
)
from sparktag.ner.data import ChunkFactory, ExampleSource, NerExample
from sparktag.ner.events import (
    BatchEnded,
    CheckpointSaved,
    EpochEnded,
    EpochStarted,
    Evaluation,
    Listeners,
    Scores,
    TrainingStarted,
)
from sparktag.ner.model import NerConfig, NerTagger, RowNoise
from sparktag.ner.tagger import Tagger
from sparktag.ner.training_data import DataFingerprint, Step, TrainingData, epoch_steps

if TYPE_CHECKING:
    from sparktag.ner.config import TrainConfig
    from sparktag.ner.distributed import RankGroup

logger = logging.getLogger(__name__)

# evaluate(gold_tags, pred_tags) -> (token-level scores, entity-level scores), one tag list per sentence.
Evaluator = Callable[[list[list[str]], list[list[str]]], tuple[Scores, Scores]]


@dataclass
class Run:
    """What one training works with, built before its first epoch; the loop's state is a TrainerState."""

    config: TrainConfig
    seed: int
    training: TrainingData
    validation: ExampleSource | None
    validation_fraction: float | None  # validation_split when the validation data is held out, else None
    test: ExampleSource | None
    evaluate: Evaluator | None
    model: NerTagger
    optimizer: torch.optim.Optimizer
    order_rng: np.random.Generator  # the batch order; its state goes into each checkpoint
    data_info: dict[str, object]  # the data's fingerprint and summary (checkpointing only)
    bus: Listeners
    group: RankGroup | None
    # use_best_model: the best epoch's weights, beside the loop state as they are tensors, not JSON
    best_weights: dict[str, torch.Tensor] | None = None


def resume_point(config: TrainConfig) -> ResumePoint | None:
    """The latest checkpoint of ``checkpoint_dir`` when resuming, checked against the config; else None."""
    if not config.checkpoint_dir or not config.resume_from_checkpoint:
        return None
    latest = latest_checkpoint(config.checkpoint_dir)
    if latest is None:
        return None
    point = read_checkpoint(latest)
    check_config(point, asdict(config))  # before the data scan: a changed setting fails at once
    return point


def training_seed(config: TrainConfig, point: ResumePoint | None, group: RankGroup | None) -> int:
    """The checkpoint's seed, else the config's, else a drawn one (the same on every rank)."""
    if point is not None:
        return point.state.seed
    seed = config.random_seed if config.random_seed is not None else secrets.randbits(31)
    if group is not None:
        seed = group.broadcast(seed)  # every rank must initialise the same weights
    return seed


def prepare(
    data: Sequence[NerExample] | ChunkFactory,
    validation: Sequence[NerExample] | ChunkFactory | None,
    test: Sequence[NerExample] | ChunkFactory | None,
    evaluate: Evaluator | None,
    config: TrainConfig,
    seed: int,
    group: RankGroup | None,
    bus: Listeners,
) -> Run:
    """Scan the training data, build the network and its optimizer (torch's generator is seeded already)."""
    order_rng = np.random.default_rng(seed)
    fingerprint = DataFingerprint() if config.checkpoint_dir else None
    training = TrainingData(
        ExampleSource(data), config.validation_split, seed, config.max_word_len, fingerprint, group
    )
    held_out = training.held_out()
    if group is not None and held_out is None and config.validation_split > 0:
        held_out = ExampleSource([])  # this shard held nothing out; the rank still joins the scoring
    validation_source = held_out or (ExampleSource(validation) if validation is not None else None)
    test_source = ExampleSource(test) if test is not None else None
    if (validation_source or test_source) and evaluate is None:
        raise ValueError(
            "validation/test data (or validation_split > 0) needs an evaluate(gold, pred) function; "
            "pass evaluate=..., e.g. the scorer of sparktag.ner.metrics"
        )
    assert training.dim is not None
    model = NerTagger(
        NerConfig(
            embedding_dim=training.dim,
            char_vocab_size=training.char_vocab.size,
            n_tags=len(training.tags),
            char_emb_dim=config.char_emb_dim,
            char_cnn_filters=config.char_cnn_filters,
            char_lstm_hidden=config.char_lstm_hidden,
            lstm_hidden=config.lstm_hidden,
            lstm_layers=config.lstm_layers,
            dropout=config.dropout,
            max_word_len=config.max_word_len,
            casing_dim=config.casing_dim,
        )
    )
    # Fused Adam: one kernel for all parameters, ~1 ms less per step than the per-tensor loop on CPU.
    optimizer = torch.optim.Adam(model.parameters(), lr=config.lr, fused=True)
    data_info: dict[str, object] = {}
    if fingerprint is not None:
        if held_out is None and validation_source is not None:
            fingerprint.add_source("validation", validation_source)
        if test_source is not None:
            fingerprint.add_source("test", test_source)
        digest = fingerprint.hexdigest() if group is None else group.digest(fingerprint.hexdigest())
        data_info = training.summary(digest)
    validation_fraction = config.validation_split if held_out is not None else None
    return Run(
        config=config,
        seed=seed,
        training=training,
        validation=validation_source,
        validation_fraction=validation_fraction,
        test=test_source,
        evaluate=evaluate,
        model=model,
        optimizer=optimizer,
        order_rng=order_rng,
        data_info=data_info,
        bus=bus,
        group=group,
    )


def start_state(run: Run, point: ResumePoint | None) -> TrainerState:
    """The loop state to start from: a fresh one, or the checkpoint's, restored into the model and optimizer.

    Starting fresh deletes the checkpoints of ``checkpoint_dir`` (rank 0 only).
    """
    config = run.config
    fresh = TrainerState(
        epoch=0,
        seed=run.seed,
        stopped=False,
        best_score=-math.inf,
        best_epoch=None,
        stale_epochs=0,
        elapsed_s=0.0,
        order_rng={},  # taken from run.order_rng when a checkpoint is written
        config=resumable_config(asdict(config)),
        data=run.data_info,
    )
    if point is None:
        if config.checkpoint_dir and (run.group is None or run.group.is_main):
            removed = remove_checkpoints(config.checkpoint_dir)
            if removed and not config.resume_from_checkpoint:
                logger.warning(
                    "resume_from_checkpoint is off: deleted %s in %s and starting over",
                    ", ".join(removed),
                    config.checkpoint_dir,
                )
        return fresh
    check_data(point, run.data_info)
    restore(point, run.model, run.optimizer)  # weights, Adam moments, torch's RNG (dropout)
    run.order_rng.bit_generator.state = point.state.order_rng  # batch order
    run.best_weights = point.best_weights if config.use_best_model else None
    if config.verbose >= 1:
        logger.info("resuming from %s at epoch %d", point.path, point.state.epoch + 1)
    # max_epochs may have grown: restored epochs report the total of this training, as if uninterrupted
    history = [replace(e, total_epochs=config.max_epochs) for e in point.state.history]
    return replace(point.state, config=fresh.config, data=fresh.data, history=history)


def training_started(
    run: Run, state: TrainerState, point: ResumePoint | None, graph: str | None
) -> TrainingStarted:
    """The first event: the network, the data's sizes, every param, and what a resumed training did before."""
    config, training = run.config, run.training
    return TrainingStarted(
        graph=graph or default_graph_name(run.model.config),
        total_epochs=config.max_epochs,
        lr=config.lr,
        batch_size=config.batch_size,
        labels=list(training.tags),
        chars=training.char_vocab.size,
        training_examples=training.train_size,
        params={**asdict(config), "random_seed": run.seed, "embedding_dim": training.dim},
        start_epoch=state.epoch + 1,
        resumed_from=str(point.path) if point is not None else None,
        history=list(state.history),
        checkpoint_dir=config.checkpoint_dir or None,
    )


def default_graph_name(config: NerConfig) -> str:
    """Spark NLP's graph naming, ``blstm_{tags}_{embedding dim}_{lstm size}_{chars}``, for the log line."""
    return f"blstm_{config.n_tags}_{config.embedding_dim}_{config.lstm_hidden}_{config.char_vocab_size}"


# ---------------------------------------------------------------------------------------------------------
# The loop: epochs, and the policies applied after each (best model, early stopping, checkpoint)


def train_while_improving(run: Run, state: TrainerState) -> Iterator[EpochEnded]:
    """Run the epochs after ``state.epoch``; after each, update the loop state and yield its EpochEnded.

    Ends after ``max_epochs``, or after the epoch at which early stopping set ``state.stopped`` (a training
    resumed from such an epoch runs none).
    """
    config = run.config
    last = state.epoch if state.stopped else config.max_epochs
    for epoch in range(state.epoch + 1, last + 1):
        ended = _run_epoch(run, epoch)
        state.epoch = epoch
        state.history.append(ended)
        if _improved(state, ended, config) and config.use_best_model:
            run.best_weights = {k: v.detach().clone() for k, v in run.model.state_dict().items()}
        state.stopped = _stops_early(state, config)
        yield ended
        if state.stopped:
            return


def _run_epoch(run: Run, epoch: int) -> EpochEnded:
    """One epoch (1-based): its steps at the epoch's learning rate, then the scores of the validation/test data."""
    config, model = run.config, run.model
    lr = config.lr_at(epoch - 1)
    for param_group in run.optimizer.param_groups:
        param_group["lr"] = lr
    run.bus.emit(EpochStarted(epoch, config.max_epochs, lr, run.training.train_size))
    model.train()
    start = time.perf_counter()
    total_batches = run.training.count_batches(config.batch_size)
    loss, batches = 0.0, 0
    for step in epoch_steps(run.training, config.batch_size, run.order_rng, run.seed, epoch):
        batch_loss = _step(run, step)
        batches += 1
        loss += batch_loss
        run.bus.emit(BatchEnded(epoch, batches, total_batches, batch_loss))
        if config.verbose >= 2:
            logger.info("epoch %d batch %d/%d loss %.4f", epoch, batches, total_batches, batch_loss)
    elapsed = time.perf_counter() - start
    model.eval()
    validation = _score(run, "validation", run.validation, run.validation_fraction)
    test = _score(run, "test", run.test, None)
    return EpochEnded(epoch, config.max_epochs, lr, elapsed, loss, batches, validation, test)


def _step(run: Run, step: Step) -> float:
    """One optimisation step; returns its mean loss (a rank holding no sentence of the step adds nothing)."""
    run.optimizer.zero_grad(set_to_none=True)
    loss = 0.0
    if step.batch is not None:
        # this rank's mean, weighted by its share: the ranks' sum is the mean over the whole batch
        mean = run.model.loss(step.batch, RowNoise(step.seeds, step.batch.lengths.tolist())) * step.share
        mean.backward()
        loss = float(mean.detach())
    if run.group is not None:
        loss = run.group.reduce_gradients(run.model, loss)
    if run.config.grad_clip > 0:
        torch.nn.utils.clip_grad_value_(run.model.parameters(), run.config.grad_clip)
    run.optimizer.step()
    return loss


def _score(run: Run, name: str, source: ExampleSource | None, fraction: float | None) -> Evaluation | None:
    """Tag every example of ``source`` and score the predictions against its gold tags (None: no source)."""
    if source is None or run.evaluate is None:
        return None
    start = time.perf_counter()
    tagger = Tagger(run.model, run.training.tags, run.training.char_vocab)
    gold: list[list[str]] = []
    pred: list[list[str]] = []
    for chunk in source.chunks():
        for i, example in enumerate(chunk):
            if example.tags is None:
                raise ValueError(f"{name} example {i} has no tags; evaluation data needs gold tags")
            gold.append(list(example.tags))
        pred.extend(tagger.predict_tags(chunk, batch_size=run.config.eval_batch_size))
    if run.group is not None:  # data parallel: each rank tagged its shard; score the whole data
        gold, pred = run.group.gather_tags(gold, pred)
    token, entity = run.evaluate(gold, pred)
    elapsed = time.perf_counter() - start
    return Evaluation(name, len(gold), elapsed, token, entity, fraction)


def _monitored(event: EpochEnded, metric: str) -> float:
    """The score to maximise: validation, else test, token-level F1; else minus the training loss."""
    evaluation = event.validation or event.test
    if evaluation is None:
        return -event.loss
    return evaluation.token.micro_f1 if metric == "f1_micro" else evaluation.token.macro_f1


def _improved(state: TrainerState, ended: EpochEnded, config: TrainConfig) -> bool:
    """The best-model policy: does the epoch beat the best score by more than ``early_stopping_criterion``?
    Records it as the best, or counts one more epoch without improvement."""
    score = _monitored(ended, config.best_model_metric)
    if score > state.best_score + config.early_stopping_criterion or state.best_epoch is None:
        state.best_score, state.best_epoch, state.stale_epochs = score, ended.epoch, 0
        return True
    state.stale_epochs += 1
    return False


def _stops_early(state: TrainerState, config: TrainConfig) -> bool:
    """The early-stopping policy: ``early_stopping_patience`` epochs without improvement, ``min_epochs`` done."""
    patience = config.early_stopping_patience
    return patience is not None and state.stale_epochs >= patience and state.epoch >= config.min_epochs


def save_checkpoint(run: Run, state: TrainerState, folder: str, elapsed_s: float) -> None:
    """The checkpoint policy: after every epoch, before its EpochEnded (a listener seeing epoch N end can rely on
    its checkpoint being on disk, and a kill from then on resumes with N + 1)."""
    start = time.perf_counter()
    state.elapsed_s = elapsed_s
    state.order_rng = dict(run.order_rng.bit_generator.state)
    training = run.training
    files = checkpoint_files(
        state, run.model, training.tags, training.char_vocab, run.optimizer, run.best_weights
    )
    path = write_checkpoint(folder, state.epoch, files)
    size = sum(len(content) for content in files.values())
    run.bus.emit(CheckpointSaved(state.epoch, str(path), size, time.perf_counter() - start))
    if run.config.verbose >= 1:
        logger.info("checkpoint of epoch %d written to %s", state.epoch, path)


def log_epoch(config: TrainConfig, ended: EpochEnded, state: TrainerState) -> None:
    """With ``verbose >= 1``, the epoch's line (and early stopping's) on the ``sparktag.ner`` loggers."""
    if config.verbose < 1:
        return
    logger.info(
        "epoch %d/%d - %.2fs - loss: %.4f - batches: %d",
        ended.epoch,
        config.max_epochs,
        ended.elapsed_s,
        ended.loss,
        ended.batches,
    )
    if state.stopped:
        logger.info(
            "early stopping after epoch %d: no improvement for %d epochs", ended.epoch, state.stale_epochs
        )


def keep_best(run: Run, state: TrainerState) -> int | None:
    """With use_best_model, load the best epoch's weights back and return that epoch; else None."""
    kept: int | None = None
    if run.config.use_best_model and run.best_weights is not None:
        run.model.load_state_dict(run.best_weights)
        kept = state.best_epoch
    run.model.eval()
    return kept

"""The training loop of NerDLApproach: Adam with Spark NLP's learning-rate decay, events for listeners.

The loop knows nothing of MLflow, log files or progress bars: it emits the events of ``ner/events.py`` and each
of those is one listener. A listener that raises is warned about once and dropped; training goes on.

    >>> result = train(examples, TrainConfig(max_epochs=10, random_seed=1), evaluate=my_scores,
    ...                validation=dev_examples, listeners=[my_logger])
    >>> result.model, result.tags, result.history[-1].validation.token.micro_f1

Losses are Spark NLP's: a batch's loss is the mean CRF negative log-likelihood of its sentences (what Adam
minimises), an epoch's loss is the sum of its batch losses (what the NerDL log prints).

Scoring is pluggable: ``evaluate(gold_tags, pred_tags) -> (token_scores, entity_scores)``
(``ner/metrics.py`` provides Spark NLP's token-level and conlleval's entity-level scores).

``train`` reads on one screen: set up a run, then ``train_while_improving`` runs the epochs and updates the loop
state (best epoch, early stopping) while ``train`` writes each epoch's checkpoint and tells the listeners. The
pieces are in ``ner/loop.py``; the training data (held-out split, each epoch's batches) in
``ner/training_data.py``.

Checkpoints (``ner/checkpoint.py``): with ``checkpoint_dir`` set, the loop writes a checkpoint after
every epoch and, when the folder already holds one of the same config and data, continues from it; the
result equals an uninterrupted training's (same weights and scores on CPU):

    >>> config = TrainConfig(max_epochs=10, random_seed=1, checkpoint_dir="/tmp/ner-ckpt")
    >>> result = train(examples, config)  # killed in epoch 6? the same call goes on with epoch 6
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import torch

from sparktag.ner.config import TrainConfig
from sparktag.ner.data import CharVocab, ChunkFactory, NerExample
from sparktag.ner.events import EpochEnded, Listener, Listeners, TestTagged, TrainingEnded
from sparktag.ner.loop import (
    Evaluator,
    Run,
    keep_best,
    log_epoch,
    prepare,
    resume_point,
    save_checkpoint,
    start_state,
    train_while_improving,
    training_seed,
    training_started,
)
from sparktag.ner.model import NerConfig, NerTagger
from sparktag.ner.tagger import Tagger
from sparktag.ner.threads import torch_threads

if TYPE_CHECKING:
    from sparktag.ner.distributed import RankGroup


@dataclass
class TrainResult:
    """A trained tagger with what is needed to use and save it.

    Args:
        model: the network, in eval mode.
        tags: tag of each id (``tags[0] == "O"``).
        char_vocab: the character vocabulary.
        best_epoch: the 1-based epoch whose weights were kept with ``use_best_model``, else ``None``.
        history: the ``EpochEnded`` event of every epoch, those restored from a checkpoint included.
        seed: the random seed used (drawn when ``random_seed`` was ``None``).
        resumed_from: the checkpoint folder training continued from, else ``None``.
    """

    model: NerTagger
    tags: list[str]
    char_vocab: CharVocab
    best_epoch: int | None
    history: list[EpochEnded] = field(default_factory=list)
    seed: int = 0
    resumed_from: str | None = None

    @property
    def config(self) -> NerConfig:
        return self.model.config

    @property
    def tagger(self) -> Tagger:
        """The trained model as a :class:`~sparktag.ner.tagger.Tagger`: to predict, or to save with
        ``model_files.to_files(result.tagger)``."""
        return Tagger(self.model, self.tags, self.char_vocab)


def train(
    data: Sequence[NerExample] | ChunkFactory,
    config: TrainConfig | None = None,
    *,
    validation: Sequence[NerExample] | ChunkFactory | None = None,
    test: Sequence[NerExample] | ChunkFactory | None = None,
    evaluate: Evaluator | None = None,
    listeners: Sequence[Listener] = (),
    graph: str | None = None,
    group: RankGroup | None = None,
) -> TrainResult:
    """Train a char CNN + BiLSTM + CRF tagger over frozen word embeddings.

    Args:
        data: training examples, or a chunk factory to stream them every epoch (``enableMemoryOptimizer``).
        config: hyperparameters; ``TrainConfig()`` when omitted.
        validation: examples scored after every epoch as "validation"; an alternative to
            ``config.validation_split`` (give one or the other).
        test: examples scored after every epoch (``testDataset``).
        evaluate: ``evaluate(gold, pred) -> (token_scores, entity_scores)``; required when anything is scored.
        listeners: objects with ``on_event(event)``.
        graph: the network description for ``TrainingStarted.graph``; Spark NLP's graph name by default.
        group: data-parallel training (``sparktag.ner.distributed``): this process trains on its shard of
            the data, in step with the other ranks of the group; only rank 0 writes checkpoints.

    Returns:
        a :class:`TrainResult` whose model is in eval mode.

    Raises:
        ValueError: no training data, examples with mismatched shapes or missing tags, data to score
            without an ``evaluate`` function, or a checkpoint to resume that is unreadable or was written with
            other settings or data.
    """
    config = config or TrainConfig()
    if validation is not None and config.validation_split > 0:
        raise ValueError(
            f"got both validation data and validation_split={config.validation_split}; give one: "
            "validation_split holds out part of the training data, validation= scores separate data"
        )
    checkpoints = config.checkpoint_dir or None
    point = resume_point(config)
    seed = training_seed(config, point, group)
    started = time.perf_counter()
    with torch_threads(config.num_threads), torch.random.fork_rng(devices=[]):
        # fork_rng: seed torch's global CPU generator (used by init and dropout) without changing the caller's.
        # Data order uses a local numpy Generator; Python's `random` is not used.
        torch.manual_seed(seed)
        run = prepare(data, validation, test, evaluate, config, seed, group, Listeners(listeners))
        state = start_state(run, point)
        elapsed_before = state.elapsed_s  # training time of the process(es) this one resumes
        run.bus.emit(training_started(run, state, point, graph))
        for ended in train_while_improving(run, state):
            if checkpoints is not None and (group is None or group.is_main):
                save_checkpoint(run, state, checkpoints, elapsed_before + time.perf_counter() - started)
            run.bus.emit(ended)
            log_epoch(config, ended, state)
            if run.bus.stop_reason is not None and group is None:  # StopTraining: end as early stopping does
                break
        best_epoch = keep_best(run, state)
        tagged = tag_test_set(run)
        if tagged is not None:
            run.bus.emit(tagged)
        elapsed = elapsed_before + time.perf_counter() - started
        run.bus.emit(TrainingEnded(epochs=len(state.history), elapsed_s=elapsed, best_epoch=best_epoch))
    return TrainResult(
        model=run.model,
        tags=list(run.training.tags),
        char_vocab=run.training.char_vocab,
        best_epoch=best_epoch,
        history=state.history,
        seed=seed,
        resumed_from=str(point.path) if point is not None else None,
    )


def tag_test_set(run: Run) -> TestTagged | None:
    """The test data tagged with the weights training kept, each tag with its confidence (the CRF marginal), as
    the :class:`~sparktag.ner.events.TestTagged` event; None without test data.

    One more pass over the test data, after the last epoch's scoring: forward-backward on top of Viterbi, so
    about as long as one epoch's test scoring. Data parallel, every rank tags its shard and gets them all.
    """
    if run.test is None:
        return None
    start = time.perf_counter()
    tagger = Tagger(run.model, run.training.tags, run.training.char_vocab)
    words: list[list[str]] = []
    gold: list[list[str]] = []
    pred: list[list[str]] = []
    confidence: list[list[float | None]] = []
    for chunk in run.test.chunks():
        tagged = tagger.predict(
            [e.tokens for e in chunk],
            [e.embeddings for e in chunk],
            batch_size=run.config.eval_batch_size,
            include_confidence=True,
        )
        for i, (example, tokens) in enumerate(zip(chunk, tagged, strict=True)):
            if example.tags is None:
                raise ValueError(f"test example {i} has no tags; evaluation data needs gold tags")
            words.append(list(example.tokens))
            gold.append(list(example.tags))
            pred.append([t.tag for t in tokens])
            confidence.append([t.confidence for t in tokens])
    if run.group is not None:  # data parallel: each rank tagged its shard
        shards = run.group.gather((words, gold, pred, confidence))
        words, gold, pred, confidence = ([row for shard in shards for row in shard[k]] for k in range(4))
    return TestTagged(words, gold, pred, confidence, time.perf_counter() - start)

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

Checkpoints (``ner/checkpoint.py``): with ``checkpoint_dir`` set, the loop writes a checkpoint after
every epoch and, when the folder already holds one of the same config and data, continues from it; the
result equals an uninterrupted training's (same weights and scores on CPU):

    >>> config = TrainConfig(max_epochs=10, random_seed=1, checkpoint_dir="/tmp/ner-ckpt")
    >>> result = train(examples, config)  # killed in epoch 6? the same call goes on with epoch 6
"""

from __future__ import annotations

import logging
import math
import secrets
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, field, replace
from typing import TYPE_CHECKING, Literal

import numpy as np
import torch

from sparktag.ner.checkpoint import (
    DataFingerprint,
    ResumePoint,
    TrainerState,
    check_config,
    check_data,
    checkpoint_files,
    data_summary,
    latest_checkpoint,
    read_checkpoint,
    remove_checkpoints,
    restore,
    resumable_config,
    write_checkpoint,
)
from sparktag.ner.data import (
    Batch,
    CharVocab,
    ChunkFactory,
    EncodedExample,
    ExampleSource,
    NerExample,
    build_tag_list,
    collate,
    encode_example,
    holdout_positions,
    length_batches,
)
from sparktag.ner.events import (
    BatchEnded,
    CheckpointSaved,
    EpochEnded,
    EpochStarted,
    Evaluation,
    Listener,
    Listeners,
    Scores,
    TrainingEnded,
    TrainingStarted,
)
from sparktag.ner.model import NerConfig, NerTagger, RowNoise
from sparktag.ner.tagger import Tagger
from sparktag.ner.threads import torch_threads

if TYPE_CHECKING:
    from sparktag.ner.distributed import RankGroup

logger = logging.getLogger(__name__)

# evaluate(gold_tags, pred_tags) -> (token-level scores, entity-level scores), one tag list per sentence.
Evaluator = Callable[[list[list[str]], list[list[str]]], tuple[Scores, Scores]]


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
        if self.early_stopping_patience is not None and self.early_stopping_patience < 1:
            raise ValueError(
                f"early_stopping_patience must be >= 1 or None, got {self.early_stopping_patience}"
            )

    def lr_at(self, epoch: int) -> float:
        """Learning rate of the 0-based ``epoch``: Spark NLP's ``lr / (1 + po * epoch)``."""
        return self.lr / (1.0 + self.po * epoch)


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


@dataclass
class _Chunk:
    """The training part of one chunk of the source, and which positions were held out."""

    train_positions: np.ndarray  # (n_train,) positions in the chunk
    held_positions: np.ndarray  # (n_held,)
    size: int  # examples in the chunk
    trainable: int = 0  # training examples with at least one token (empty sentences are skipped)


class _TrainingData:
    """Training data split into train/held-out parts, scanned once for vocabularies and sizes.

    In memory, examples are encoded once; streamed (``enableMemoryOptimizer``), every pass re-reads the chunks
    from the factory and encodes them on the fly. The held-out positions of chunk ``c`` are drawn from
    ``default_rng([seed, c])``, so they are the same on every pass and do not depend on other randomness.
    """

    def __init__(
        self,
        source: ExampleSource,
        validation_split: float,
        seed: int,
        max_word_len: int,
        fingerprint: DataFingerprint | None = None,
        group: RankGroup | None = None,
    ) -> None:
        self.source = source
        self.validation_split = validation_split
        self.seed = seed
        self.max_word_len = max_word_len
        self.group = group
        self.chunks: list[_Chunk] = []
        # per chunk: the training examples of every rank together, which the batches are cut from
        self.step_sizes: list[int] = []
        chars: set[str] = set()
        tags: set[str] = set()
        self.dim: int | None = None
        for c, chunk in enumerate(_lockstep(source.chunks(), group)):
            if fingerprint is not None:
                fingerprint.add("train", chunk)
            # Held-out positions are drawn over the chunk of every rank together (rank after rank), so
            # data-parallel training holds out the sentences one process holds out of the same data.
            offset, total = _place(len(chunk), group)
            held = holdout_positions(total, validation_split, np.random.default_rng([seed, c]))
            held = held[(held >= offset) & (held < offset + len(chunk))] - offset
            train_positions = np.setdiff1d(np.arange(len(chunk)), held)
            info = _Chunk(train_positions, held, len(chunk))
            self.chunks.append(info)
            for p in train_positions.tolist():
                example = chunk[p]
                where = f"training example {p}" + (f" of chunk {c}" if source.streaming else "")
                if example.tags is None:
                    raise ValueError(f"{where} has no tags; every training sentence needs one tag per token")
                dim = int(np.shape(example.embeddings)[1]) if np.ndim(example.embeddings) == 2 else -1
                if self.dim is None and len(example.tokens):
                    self.dim = dim
                if len(example.tokens) and dim != self.dim:
                    raise ValueError(
                        f"{where} has word embeddings of dimension {dim} (shape {np.shape(example.embeddings)}) "
                        f"but the first training example has dim {self.dim}; all examples need the same embeddings"
                    )
                info.trainable += bool(example.tokens)
                for token in example.tokens:
                    chars.update(token)
                tags.update(example.tags)
            self.step_sizes.append(_place(info.trainable, group)[1])
        if group is not None:  # data parallel: one vocabulary over every rank's shard
            chars, tags, self.dim = group.agree_vocab(chars, tags, self.dim)
        if self.dim is None:
            raise ValueError("no training data: the source yielded no sentence with tokens")
        self.char_vocab = CharVocab(tuple(sorted(chars)))
        self.tags = build_tag_list(tags)
        self._char_ids = self.char_vocab.ids()
        self._tag_ids = {t: i for i, t in enumerate(self.tags)}
        self.train_size = sum(len(c.train_positions) for c in self.chunks)
        self.held_size = sum(len(c.held_positions) for c in self.chunks)
        if group is not None:
            self.train_size = group.total(self.train_size)  # what events report: the whole data's size
        self._cached: list[list[EncodedExample]] | None = None
        if not source.streaming:
            self._cached = list(self._encode_chunks())

    def count_batches(self, batch_size: int) -> int:
        """Batches per epoch: each chunk (of every rank together) is batched on its own."""
        return sum(math.ceil(n / batch_size) for n in self.step_sizes)

    def _passes(self) -> Iterator[tuple[Sequence[NerExample], _Chunk]]:
        """Another pass over the source, checked against the first (a stream must replay the same chunks)."""
        count = 0
        for count, chunk in enumerate(_lockstep(self.source.chunks(), self.group), start=1):
            expected = self.chunks[count - 1].size if count <= len(self.chunks) else None
            if expected != len(chunk):
                raise ValueError(
                    f"the training data changed between passes: chunk {count - 1} has {len(chunk)} examples, "
                    f"the first pass had {expected if expected is not None else 'no such chunk'}; a chunk factory "
                    "must yield the same chunks every time it is called"
                )
            yield chunk, self.chunks[count - 1]
        if count != len(self.chunks):
            raise ValueError(
                f"the training data changed between passes: {count} chunks, the first pass had {len(self.chunks)}"
            )

    def _encode_chunks(self) -> Iterator[list[EncodedExample]]:
        for chunk, info in self._passes():
            encoded = [
                encode_example(chunk[p], self._char_ids, self._tag_ids, self.max_word_len, p)
                for p in info.train_positions.tolist()
                if len(chunk[p].tokens)  # an empty sentence has nothing to learn
            ]
            yield encoded

    def training_chunks(self) -> Iterator[list[EncodedExample]]:
        """The encoded training examples, chunk by chunk (re-read from the factory when streaming)."""
        if self._cached is not None:
            yield from self._cached
        else:
            yield from self._encode_chunks()

    def held_out(self) -> ExampleSource | None:
        """The held-out validation examples as a source (streamed when the training data is)."""
        if not self.held_size:
            return None
        if self.source.streaming:

            def factory() -> Iterator[list[NerExample]]:
                for chunk, info in self._passes():
                    yield [chunk[p] for p in info.held_positions.tolist()]

            return ExampleSource(factory)
        examples = next(iter(self.source.chunks()), ())
        return ExampleSource([examples[p] for p in self.chunks[0].held_positions.tolist()])


def _lockstep(
    chunks: Iterable[Sequence[NerExample]], group: RankGroup | None
) -> Iterator[Sequence[NerExample]]:
    """The chunks of a source; data parallel, in step with the other ranks: as many chunks as the rank with the
    most, an empty chunk where this rank's shard has no more (every rank takes part in every chunk's
    collectives)."""
    if group is None:
        yield from chunks
        return
    iterator = iter(chunks)
    while True:
        chunk = next(iterator, None)
        if not any(group.gather(chunk is not None)):
            return
        yield chunk if chunk is not None else []


def _place(n: int, group: RankGroup | None) -> tuple[int, int]:
    """Where this rank's ``n`` items start among every rank's, rank after rank, and the total."""
    if group is None:
        return 0, n
    counts = group.gather(int(n))
    return sum(counts[: group.rank]), sum(counts)


@dataclass
class _Step:
    """One optimisation step: this rank's part of the batch (None: no sentence of it here) and its share."""

    batch: Batch | None
    seeds: list[int]  # the dropout seed of each sentence of ``batch``
    share: float  # this rank's sentences / the step's sentences (1.0 in one process)


def _row_seed(seed: int, epoch: int, chunk: int, index: int) -> int:
    """The dropout seed of a training sentence in an epoch: the same wherever the sentence is trained."""
    return int(np.random.SeedSequence([seed, epoch, chunk, index]).generate_state(1, np.uint64)[0]) >> 1


def _epoch_batches(
    training: _TrainingData, batch_size: int, order_rng: np.random.Generator, seed: int, epoch: int
) -> Iterator[_Step]:
    """One epoch's steps, chunk by chunk.

    Data parallel, every rank cuts the same batches from the chunk of every rank together (the ranks' sentences
    one after the other, as one process holding the whole data sees them) with the same generator, and trains
    the members it holds: the steps, their sentences and their dropout masks are one process's.
    """
    group = training.group
    for c, chunk in enumerate(training.training_chunks()):
        lengths = [e.length for e in chunk]
        offset = 0
        if group is not None:
            every = group.gather(lengths)
            offset = sum(len(part) for part in every[: group.rank])
            lengths = [n for part in every for n in part]
        for members in length_batches(lengths, batch_size, order_rng):
            mine = [i for i in members if offset <= i < offset + len(chunk)]
            yield _Step(
                batch=collate([chunk[i - offset] for i in mine]) if mine else None,
                seeds=[_row_seed(seed, epoch, c, i) for i in mine],
                share=len(mine) / len(members),
            )


def _score(
    model: NerTagger,
    tags: list[str],
    char_vocab: CharVocab,
    source: ExampleSource,
    name: str,
    evaluate: Evaluator,
    batch_size: int,
    fraction: float | None,
    group: RankGroup | None = None,
) -> Evaluation:
    """Tag every example of ``source`` and score the predictions against its gold tags."""
    start = time.perf_counter()
    tagger = Tagger(model, tags, char_vocab)
    gold: list[list[str]] = []
    pred: list[list[str]] = []
    for chunk in source.chunks():
        for i, example in enumerate(chunk):
            if example.tags is None:
                raise ValueError(f"{name} example {i} has no tags; evaluation data needs gold tags")
            gold.append(list(example.tags))
        pred.extend(tagger.predict_tags(chunk, batch_size=batch_size))
    if group is not None:  # data parallel: each rank tagged its shard; score the whole data
        gold, pred = group.gather_tags(gold, pred)
    token, entity = evaluate(gold, pred)
    return Evaluation(
        name=name,
        examples=len(gold),
        elapsed_s=time.perf_counter() - start,
        token=token,
        entity=entity,
        fraction=fraction,
    )


def _monitored(event: EpochEnded, metric: str) -> float:
    """The score to maximise: validation, else test, token-level F1; else minus the training loss."""
    evaluation = event.validation or event.test
    if evaluation is None:
        return -event.loss
    return evaluation.token.micro_f1 if metric == "f1_micro" else evaluation.token.macro_f1


def default_graph_name(config: NerConfig) -> str:
    """Spark NLP's graph naming, ``blstm_{tags}_{embedding dim}_{lstm size}_{chars}``, for the log line."""
    return f"blstm_{config.n_tags}_{config.embedding_dim}_{config.lstm_hidden}_{config.char_vocab_size}"


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
    point: ResumePoint | None = None
    if checkpoints is not None and config.resume_from_checkpoint:
        latest = latest_checkpoint(checkpoints)
        if latest is not None:
            point = read_checkpoint(latest)
            check_config(point, asdict(config))  # before the data scan: a changed setting fails at once
    if point is not None:
        seed = point.state.seed
    else:
        seed = config.random_seed if config.random_seed is not None else secrets.randbits(31)
        if group is not None:
            seed = group.broadcast(seed)  # every rank must initialise the same weights
    bus = Listeners(listeners)
    started = time.perf_counter()
    with torch_threads(config.num_threads), torch.random.fork_rng(devices=[]):
        # fork_rng: seed torch's global CPU generator (used by init and dropout) without changing the caller's.
        # Data order uses a local numpy Generator; Python's `random` is not used.
        torch.manual_seed(seed)
        order_rng = np.random.default_rng(seed)

        fingerprint = DataFingerprint() if checkpoints is not None else None
        training = _TrainingData(
            ExampleSource(data), config.validation_split, seed, config.max_word_len, fingerprint, group
        )
        held_out = training.held_out()
        if group is not None and held_out is None and config.validation_split > 0:
            held_out = ExampleSource([])  # this shard held nothing out; the rank still joins the scoring
        validation_source = held_out or (ExampleSource(validation) if validation is not None else None)
        validation_fraction = config.validation_split if held_out is not None else None
        test_source = ExampleSource(test) if test is not None else None
        if (validation_source or test_source) and evaluate is None:
            raise ValueError(
                "validation/test data (or validation_split > 0) needs an evaluate(gold, pred) function; "
                "pass evaluate=..., e.g. the scorer of sparktag.ner.metrics"
            )
        assert training.dim is not None
        model_config = NerConfig(
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
        )
        model = NerTagger(model_config)
        # Fused Adam: one kernel for all parameters, ~1 ms less per step than the per-tensor loop on CPU.
        optimizer = torch.optim.Adam(model.parameters(), lr=config.lr, fused=True)
        total_batches = training.count_batches(config.batch_size)

        history: list[EpochEnded] = []
        best_score = -math.inf
        best_epoch: int | None = None
        best_state: dict[str, torch.Tensor] | None = None
        stale_epochs = 0
        stopped = False
        first_epoch = 1
        elapsed_before = 0.0  # training time of the process(es) this one resumes
        data_info: dict[str, object] = {}
        if fingerprint is not None:
            if held_out is None and validation_source is not None:
                fingerprint.add_source("validation", validation_source)
            if test_source is not None:
                fingerprint.add_source("test", test_source)
            digest = fingerprint.hexdigest() if group is None else group.digest(fingerprint.hexdigest())
            data_info = data_summary(digest, training.train_size, training.tags, training.char_vocab)
        if point is not None:
            check_data(point, data_info)
            restore(point, model, optimizer)  # weights, Adam moments, torch's RNG (dropout)
            order_rng.bit_generator.state = point.state.order_rng  # batch order
            # max_epochs may have grown: restored epochs report the total of this training, as if uninterrupted
            history = [replace(e, total_epochs=config.max_epochs) for e in point.state.history]
            best_score, best_epoch = point.state.best_score, point.state.best_epoch
            best_state = point.best_weights if config.use_best_model else None
            stale_epochs, stopped = point.state.stale_epochs, point.state.stopped
            first_epoch = point.state.epoch + 1
            elapsed_before = point.state.elapsed_s
            if config.verbose >= 1:
                logger.info("resuming from %s at epoch %d", point.path, first_epoch)
        elif checkpoints is not None and (group is None or group.is_main):
            removed = remove_checkpoints(checkpoints)
            if removed and not config.resume_from_checkpoint:
                logger.warning(
                    "resume_from_checkpoint is off: deleted %s in %s and starting over",
                    ", ".join(removed),
                    checkpoints,
                )

        params: dict[str, object] = {**asdict(config), "random_seed": seed, "embedding_dim": training.dim}
        bus.emit(
            TrainingStarted(
                graph=graph or default_graph_name(model_config),
                total_epochs=config.max_epochs,
                lr=config.lr,
                batch_size=config.batch_size,
                labels=list(training.tags),
                chars=training.char_vocab.size,
                training_examples=training.train_size,
                params=params,
                start_epoch=first_epoch,
                resumed_from=str(point.path) if point is not None else None,
                history=list(history),
                checkpoint_dir=checkpoints,
            )
        )

        last_epoch = first_epoch - 1 if stopped else config.max_epochs  # stopped early: nothing left to run
        for epoch in range(first_epoch, last_epoch + 1):
            lr = config.lr_at(epoch - 1)
            for param_group in optimizer.param_groups:
                param_group["lr"] = lr
            bus.emit(EpochStarted(epoch, config.max_epochs, lr, training.train_size))
            model.train()
            epoch_start = time.perf_counter()
            epoch_loss = 0.0
            batch_no = 0
            for step in _epoch_batches(training, config.batch_size, order_rng, seed, epoch):
                optimizer.zero_grad(set_to_none=True)
                batch_loss = 0.0  # the step's mean loss; a rank holding no sentence of the step adds nothing
                if step.batch is not None:
                    # this rank's mean, weighted by its share: the ranks' sum is the mean over the whole batch
                    loss = (
                        model.loss(step.batch, RowNoise(step.seeds, step.batch.lengths.tolist())) * step.share
                    )
                    loss.backward()
                    batch_loss = float(loss.detach())
                if group is not None:
                    batch_loss = group.reduce_gradients(model, batch_loss)
                if config.grad_clip > 0:
                    torch.nn.utils.clip_grad_value_(model.parameters(), config.grad_clip)
                optimizer.step()
                batch_no += 1
                epoch_loss += batch_loss
                bus.emit(BatchEnded(epoch, batch_no, total_batches, batch_loss))
                if config.verbose >= 2:
                    logger.info("epoch %d batch %d/%d loss %.4f", epoch, batch_no, total_batches, batch_loss)
            elapsed = time.perf_counter() - epoch_start

            model.eval()
            evaluations: dict[str, Evaluation | None] = {"validation": None, "test": None}
            for name, source, fraction in (
                ("validation", validation_source, validation_fraction),
                ("test", test_source, None),
            ):
                if source is not None and evaluate is not None:
                    evaluations[name] = _score(
                        model,
                        training.tags,
                        training.char_vocab,
                        source,
                        name,
                        evaluate,
                        config.eval_batch_size,
                        fraction,
                        group,
                    )
            ended = EpochEnded(
                epoch=epoch,
                total_epochs=config.max_epochs,
                lr=lr,
                elapsed_s=elapsed,
                loss=epoch_loss,
                batches=batch_no,
                validation=evaluations["validation"],
                test=evaluations["test"],
            )
            history.append(ended)

            score = _monitored(ended, config.best_model_metric)
            if score > best_score + config.early_stopping_criterion or best_epoch is None:
                best_score, best_epoch, stale_epochs = score, epoch, 0
                if config.use_best_model:
                    best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
            else:
                stale_epochs += 1
            patience = config.early_stopping_patience
            stopped = patience is not None and stale_epochs >= patience and epoch >= config.min_epochs

            if checkpoints is not None and (group is None or group.is_main):
                # Before EpochEnded: a listener seeing epoch N end can rely on its checkpoint being on disk, and
                # a kill from here on resumes with N + 1 (TrainingStarted.history then hands N to listeners).
                write_start = time.perf_counter()
                state = TrainerState(
                    epoch=epoch,
                    seed=seed,
                    stopped=stopped,
                    best_score=best_score,
                    best_epoch=best_epoch,
                    stale_epochs=stale_epochs,
                    elapsed_s=elapsed_before + time.perf_counter() - started,
                    order_rng=dict(order_rng.bit_generator.state),
                    config=resumable_config(asdict(config)),
                    data=data_info,
                    history=history,
                )
                files = checkpoint_files(
                    state, model, training.tags, training.char_vocab, optimizer, best_state
                )
                path = write_checkpoint(checkpoints, epoch, files)
                bus.emit(
                    CheckpointSaved(
                        epoch=epoch,
                        path=str(path),
                        size_bytes=sum(len(content) for content in files.values()),
                        elapsed_s=time.perf_counter() - write_start,
                    )
                )
                if config.verbose >= 1:
                    logger.info("checkpoint of epoch %d written to %s", epoch, path)

            bus.emit(ended)
            if config.verbose >= 1:
                logger.info(
                    "epoch %d/%d - %.2fs - loss: %.4f - batches: %d",
                    epoch,
                    config.max_epochs,
                    elapsed,
                    epoch_loss,
                    batch_no,
                )
            if stopped:
                if config.verbose >= 1:
                    logger.info(
                        "early stopping after epoch %d: no improvement for %d epochs", epoch, stale_epochs
                    )
                break

        kept_epoch: int | None = None
        if config.use_best_model and best_state is not None:
            model.load_state_dict(best_state)
            kept_epoch = best_epoch
        model.eval()
        bus.emit(
            TrainingEnded(
                epochs=len(history),
                elapsed_s=elapsed_before + time.perf_counter() - started,
                best_epoch=kept_epoch,
            )
        )
    return TrainResult(
        model=model,
        tags=list(training.tags),
        char_vocab=training.char_vocab,
        best_epoch=kept_epoch,
        history=history,
        seed=seed,
        resumed_from=str(point.path) if point is not None else None,
    )

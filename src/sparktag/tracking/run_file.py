"""Which MLflow run a checkpointed training logs to: ``mlflow_run.json`` beside the trainer's checkpoints.

The trainer's checkpoints know nothing of MLflow; the listener keeps the run id in
``<checkpointPath>/mlflow_run.json``, so the process that resumes the training reopens the same run.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

RUN_FILE = "mlflow_run.json"  # in the trainer's checkpoint folder: the run a resumed training continues


def read_run_id(checkpoint_dir: str | None) -> str | None:
    """The run id a previous process of this training logged to, or None (no folder, no file, no id).

    Raises:
        ValueError: the file is there but unreadable (the message names it).
    """
    if not checkpoint_dir:
        return None
    path = Path(checkpoint_dir) / RUN_FILE
    if not path.is_file():
        return None
    try:
        run_id = json.loads(path.read_text(encoding="utf-8"))["run_id"]
    except (OSError, ValueError, KeyError, TypeError) as err:
        raise ValueError(f"cannot read {path} ({err!r})") from err
    return str(run_id) if run_id else None


def write_run_file(checkpoint_dir: str, run_id: str, experiment_id: str | None, tracking_uri: str) -> None:
    """Keep the run id beside the checkpoints (atomically), for the process that resumes this training.

    Args:
        checkpoint_dir: the trainer's checkpoint folder (created if missing).
        run_id, experiment_id: the run the training logs to.
        tracking_uri: where, already redacted (the file is not a secret store).

    Raises:
        OSError: the file cannot be written.
    """
    path = Path(checkpoint_dir) / RUN_FILE
    payload = {
        "format_version": 1,
        "run_id": run_id,
        "experiment_id": experiment_id,
        "tracking_uri": tracking_uri,
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{RUN_FILE}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(payload, indent=1), encoding="utf-8")
    os.replace(tmp, path)

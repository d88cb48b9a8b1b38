"""The pending-upload file: what autologging could not send to MLflow, written locally, uploaded later.

When the tracking server cannot be reached the listener keeps logging into memory and writes
``mlflow_pending_<uid>.json`` (params, metrics with steps and timestamps, tags, artifact paths, the run id it
had opened). :func:`upload_pending` (``sparktag upload FILE``) sends it to a server: into the same run when that
run exists there (only what it lacks), else into a new one.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

logger = logging.getLogger("sparktag.tracking")

PENDING_PREFIX = "mlflow_pending_"
FORMAT_VERSION = 1


@dataclass(frozen=True)
class PendingPlace:
    """Where one offline listener keeps what it could not log: ``<folder>/mlflow_pending_<uid>.json``, and the
    files that JSON names in ``<folder>/mlflow_pending_<uid>_<name>/`` folders."""

    folder: str
    uid: str

    @property
    def path(self) -> str:
        """The pending JSON file."""
        return os.path.abspath(os.path.join(self.folder, f"{PENDING_PREFIX}{self.uid}.json"))

    def files_dir(self, name: str) -> str:
        """A folder (created) for files to log later, e.g. ``name="charts"``."""
        folder = os.path.join(self.folder, f"{PENDING_PREFIX}{self.uid}_{name}")
        os.makedirs(folder, exist_ok=True)
        return folder


def pending_place(approach: Any, pending_dir: str | None, fallback_uid: str) -> PendingPlace:
    """The pending place of a listener of ``approach`` (a NerDLApproach or None): in ``pending_dir``, else the
    approach's ``outputLogsPath``, else ``./mlflow_pending``; named after the approach's uid, else
    ``fallback_uid``."""
    logs = approach.getOrDefault("outputLogsPath") if approach is not None else ""
    folder = pending_dir or logs or os.path.join(os.getcwd(), "mlflow_pending")
    return PendingPlace(folder, str(getattr(approach, "uid", None) or fallback_uid))


def write_pending(path: str, payload: dict[str, Any]) -> str:
    """Write ``payload`` (see :meth:`MlflowListener.pending_payload`) to ``path`` atomically.

    Args:
        path: the ``mlflow_pending_*.json`` file; its folder is created.
        payload: the JSON-able content; ``format_version`` is added.

    Returns:
        ``path``.
    """
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    tmp = path + ".tmp"
    Path(tmp).write_text(
        json.dumps({"format_version": FORMAT_VERSION, **payload}, indent=1), encoding="utf-8"
    )
    os.replace(tmp, path)  # a crash mid-write leaves the previous file, never half a file
    return path


def read_pending(path: str) -> dict[str, Any]:
    """The content of a pending file, with a clear error when it is not one.

    Args:
        path: the ``mlflow_pending_*.json`` file.

    Returns:
        The payload (``params``, ``metrics``, ``tags``, ``artifacts``, ``run_id``, ...).
    """
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        raise ValueError(f"{path}: not a readable pending-upload JSON file ({err})") from err
    if not isinstance(data, dict) or data.get("format_version", FORMAT_VERSION) > FORMAT_VERSION:
        raise ValueError(
            f"{path}: not a pending-upload file of this sparktag (format_version "
            f"{data.get('format_version') if isinstance(data, dict) else '?'}); upgrade sparktag to upload it"
        )
    return data


def upload_pending(path: str, tracking_uri: str | None = None, experiment_name: str | None = None) -> str:
    """Send a pending file (written when MLflow was unreachable) to a tracking server.

    When the run the training had opened exists on that server (it went away mid-training and is back), the
    same run is completed: only the params, metric steps and tags it lacks are added, then it is marked
    FINISHED, so nothing is duplicated. Otherwise a new run holds everything.

    Args:
        path: the ``mlflow_pending_*.json`` file.
        tracking_uri: where to upload (default: MLflow's current tracking URI).
        experiment_name: the experiment of a new run (default: MLflow's default experiment).

    Returns:
        The id of the run that now holds the training's data.
    """
    from mlflow.entities import Metric, Param
    from mlflow.exceptions import MlflowException
    from mlflow.tracking import MlflowClient

    data = read_pending(path)
    client = MlflowClient(tracking_uri) if tracking_uri else MlflowClient()
    tags = {**data.get("tags", {}), "sparktag.uploaded_from": os.path.abspath(path)}
    params = dict(data.get("params", {}))
    metrics = [Metric(m["key"], m["value"], m["timestamp"], m["step"]) for m in data.get("metrics", [])]
    run = None
    if data.get("run_id"):
        with contextlib.suppress(MlflowException):
            run = client.get_run(data["run_id"])
    if run is not None:  # the interrupted run: add what it lacks
        run_id = run.info.run_id
        params = {k: v for k, v in params.items() if k not in run.data.params}
        stored = {
            (key, m.step) for key in {m.key for m in metrics} for m in client.get_metric_history(run_id, key)
        }
        metrics = [m for m in metrics if (m.key, m.step) not in stored]
        tags = {k: v for k, v in tags.items() if run.data.tags.get(k) != v}
        for key, value in tags.items():
            client.set_tag(run_id, key, value)
    else:
        experiment_id = "0"
        if experiment_name:
            found = client.get_experiment_by_name(experiment_name)
            experiment_id = found.experiment_id if found else client.create_experiment(experiment_name)
        run_id = client.create_run(experiment_id, tags=tags).info.run_id
    param_list = [Param(k, v) for k, v in params.items()]
    for i in range(0, len(param_list), 100):
        client.log_batch(run_id, params=param_list[i : i + 100])
    for i in range(0, len(metrics), 1000):
        client.log_batch(run_id, metrics=metrics[i : i + 1000])
    for artifact in data.get("artifacts", []):
        local = artifact["path"]
        if os.path.isdir(local):
            client.log_artifacts(run_id, local, artifact.get("artifact_path"))
        elif os.path.isfile(local):
            client.log_artifact(run_id, local, artifact.get("artifact_path"))
        else:
            logger.warning("pending artifact %s is gone; not uploaded", local)
    client.set_terminated(run_id)
    return run_id

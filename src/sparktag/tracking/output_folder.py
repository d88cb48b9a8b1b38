"""An experiment's output folder: the files a run logs from it, and which run holds it once tracked.

:func:`~sparktag.tracking.experiment.run_experiment` writes every file here before anything goes to MLflow;
both it and ``sparktag upload`` (:func:`~sparktag.tracking.upload.upload_experiment`) log the folder through
:func:`run_artifacts`, the one list of what a run logs. A folder whose run was fully tracked holds
``tracked_run.json`` (:func:`mark_tracked`), so ``sparktag upload`` does not send it twice.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from sparktag.tracking.error_analysis import ERROR_ANALYSIS_FILE, TAGGED_SENTENCES_FILE
from sparktag.tracking.redact import redact_uri
from sparktag.tracking.settings import TrackingSettings

SCORES_FILE = "scores.json"  # final test scores, sizes and timings (its presence: the experiment finished)
CONFIG_FILE = "experiment_config.json"  # the experiment's config, secrets redacted
CHARTS_DIR = "charts"
#: the files a run logs as artifacts of their own, beside ``charts/`` and the whole folder as ``output/``
REPORT_FILES = ("classification_report.txt", "entity_report.txt", SCORES_FILE, CONFIG_FILE, ERROR_ANALYSIS_FILE,
                TAGGED_SENTENCES_FILE)  # fmt: skip
#: in an output folder whose experiment is in MLflow: which run holds it (``sparktag upload`` checks it)
TRACKED_FILE = "tracked_run.json"


def run_artifacts(output_dir: str | os.PathLike[str]) -> list[tuple[str, str | None]]:
    """What a run logs from ``output_dir``, in order: ``(local path, artifact folder or None)``.

    The reports of :data:`REPORT_FILES` that exist, ``charts/`` when it exists, then the whole folder as
    ``output/``.
    """
    out = Path(output_dir)
    found: list[tuple[str, str | None]] = [(str(out / n), None) for n in REPORT_FILES if (out / n).is_file()]
    if (out / CHARTS_DIR).is_dir():
        found.append((str(out / CHARTS_DIR), CHARTS_DIR))
    found.append((str(out), "output"))
    return found


def log_artifact(local: str, artifact_dir: str | None) -> None:
    """Log one entry of :func:`run_artifacts` into the active MLflow run (a file, or a folder's files)."""
    import mlflow

    if os.path.isdir(local):
        mlflow.log_artifacts(local, artifact_dir)
    else:
        mlflow.log_artifact(local, artifact_dir)


def mark_tracked(
    output_dir: str | os.PathLike[str],
    run_id: str | None,
    experiment_id: str | None,
    model_uri: str,
    settings: TrackingSettings | None,
) -> None:
    """Record in ``output_dir`` which run holds it, so ``sparktag upload`` does not send it twice."""
    record = {
        "run_id": run_id,
        "experiment_id": experiment_id,
        "experiment_name": settings.experiment_name if settings else None,
        "tracking_uri": redact_uri(settings.tracking_uri) if settings else None,
        "model_uri": model_uri,
    }
    (Path(output_dir) / TRACKED_FILE).write_text(json.dumps(record, indent=1), encoding="utf-8")


def tracked_run(output_dir: str | os.PathLike[str]) -> dict[str, Any] | None:
    """What :func:`mark_tracked` recorded in ``output_dir``, or ``None`` when it was never fully tracked."""
    path = Path(output_dir) / TRACKED_FILE
    if not path.is_file():
        return None
    record: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return record

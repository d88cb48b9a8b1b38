"""Send an experiment's output folder to MLflow later (``sparktag upload``), once and only once.

Every file of a :func:`~sparktag.tracking.experiment.run_experiment` is written to its output folder first; when
the tracking server was unreachable, :func:`upload_experiment` sends the folder as a run. A folder whose run
was fully tracked holds ``tracked_run.json`` (:func:`mark_tracked`), and is refused unless ``force=True``.
"""

from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path
from typing import Any

from sparktag.tracking.experiment import ExperimentResult
from sparktag.tracking.redact import redact_uri
from sparktag.tracking.settings import open_experiment, resolve_settings, use_settings

#: in an output folder whose experiment is in MLflow: which run holds it (``sparktag upload`` checks it)
TRACKED_FILE = "tracked_run.json"


def mark_tracked(output_dir: str | os.PathLike[str], result: ExperimentResult) -> None:
    """Record in ``output_dir`` which run holds it, so ``sparktag upload`` does not send it twice."""
    settings = result.settings
    record = {
        "run_id": result.run_id,
        "experiment_id": result.experiment_id,
        "experiment_name": settings.experiment_name if settings else None,
        "tracking_uri": redact_uri(settings.tracking_uri) if settings else None,
        "model_uri": result.model_uri,
    }
    (Path(output_dir) / TRACKED_FILE).write_text(json.dumps(record, indent=1), encoding="utf-8")


def tracked_run(output_dir: str | os.PathLike[str]) -> dict[str, Any] | None:
    """What :func:`mark_tracked` recorded in ``output_dir``, or ``None`` when it was never fully tracked."""
    path = Path(output_dir) / TRACKED_FILE
    if not path.is_file():
        return None
    record: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return record


def upload_experiment(
    output_dir: str,
    tracking_uri: str | None = None,
    experiment_name: str | None = None,
    model_name: str | None = None,
    alias: str = "champion",
    spark: Any = None,
    *,
    force: bool = False,
) -> str:
    """Send an experiment's local files (written while the server was unreachable) to a tracking server.

    The training params and per-epoch metrics come from the ``mlflow_pending_*.json`` file autologging
    wrote; scores, reports, charts and the output folder from ``output_dir``; the pipeline from
    ``output_dir/model/pipeline`` (logged with sparktag's flavor, registered when ``model_name`` is given).

    Args:
        output_dir: the experiment's output folder.
        tracking_uri, experiment_name: where to; ``None``: the ``MLFLOW_*`` variables, else sparktag's defaults
            (the experiment: the one in the folder's ``experiment_config.json``, else ``sparktag``).
        model_name, alias: register the uploaded model under this name and alias.
        spark: a SparkSession to load the pipeline with (default: ``sparktag.start()``).
        force: upload a folder that is already tracked (as a second run).

    Returns:
        The new run's id.

    Raises:
        FileExistsError: the folder is in MLflow already (its run is named); pass ``force=True`` to upload anyway.
    """
    import mlflow
    from pyspark.ml import PipelineModel

    import sparktag
    from sparktag.tracking import flavor
    from sparktag.tracking.pending import PENDING_PREFIX, upload_pending

    out = Path(output_dir).resolve()
    if not (out / "scores.json").is_file():
        raise FileNotFoundError(f"{out} holds no finished experiment (no scores.json); nothing to upload")
    done = tracked_run(out)
    if done and not force:
        raise FileExistsError(
            f"{out} is tracked already: run {done['run_id']} in experiment {done['experiment_name']!r} at "
            f"{done['tracking_uri']} (model {done['model_uri']}). Pass --force to upload it again as a new run"
        )
    saved: dict[str, Any] = {}
    if (out / "experiment_config.json").is_file():
        saved = json.loads((out / "experiment_config.json").read_text(encoding="utf-8"))
    settings = resolve_settings(
        tracking_uri, experiment_name, default_experiment=saved.get("experiment_name") or "sparktag"
    )
    with use_settings(settings):
        experiment_id, name = open_experiment(settings)
        pending = sorted(out.glob(f"{PENDING_PREFIX}*.json"))
        if pending:
            run_id = upload_pending(str(pending[-1]), settings.tracking_uri, name)
        else:
            run_id = mlflow.tracking.MlflowClient().create_run(experiment_id).info.run_id
        model_uri = f"runs:/{run_id}/model"
        with mlflow.start_run(run_id=run_id):
            mlflow.log_metrics(json.loads((out / "scores.json").read_text(encoding="utf-8")))
            for file in (
                "classification_report.txt",
                "entity_report.txt",
                "scores.json",
                "experiment_config.json",
            ):
                if (out / file).is_file():
                    mlflow.log_artifact(str(out / file))
            if (out / "charts").is_dir():
                mlflow.log_artifacts(str(out / "charts"), "charts")
            mlflow.log_artifacts(str(out), "output")
            if (out / "model" / "pipeline").is_dir():
                spark = spark or sparktag.start()
                model = PipelineModel.load(str(out / "model" / "pipeline"))
                flavor.log_model(
                    model, "model", registered_model_name=model_name, alias=alias if model_name else None
                )
                if model_name:
                    model_uri = f"models:/{model_name}@{alias}" if alias else f"models:/{model_name}"
    result = ExperimentResult(run_id, experiment_id, model_uri, None, {}, str(out))
    result.settings = dataclasses.replace(settings, experiment_name=name)
    mark_tracked(out, result)
    return run_id

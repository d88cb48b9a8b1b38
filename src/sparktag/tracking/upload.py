"""Send an experiment's output folder to MLflow later (``sparktag upload``), once and only once.

Every file of a :func:`~sparktag.tracking.experiment.run_experiment` is written to its output folder first; when
the tracking server was unreachable, :func:`upload_experiment` sends the folder as a run. A folder whose run
was fully tracked holds ``tracked_run.json`` (:func:`~sparktag.tracking.output_folder.mark_tracked`), and is
refused unless ``force=True``.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

from sparktag.tracking.output_folder import (
    CONFIG_FILE,
    SCORES_FILE,
    log_artifact,
    mark_tracked,
    run_artifacts,
    tracked_run,
)
from sparktag.tracking.settings import open_experiment, resolve_settings, use_settings


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
    if not (out / SCORES_FILE).is_file():
        raise FileNotFoundError(f"{out} holds no finished experiment (no scores.json); nothing to upload")
    done = tracked_run(out)
    if done and not force:
        raise FileExistsError(
            f"{out} is tracked already: run {done['run_id']} in experiment {done['experiment_name']!r} at "
            f"{done['tracking_uri']} (model {done['model_uri']}). Pass --force to upload it again as a new run"
        )
    saved: dict[str, Any] = {}
    if (out / CONFIG_FILE).is_file():
        saved = json.loads((out / CONFIG_FILE).read_text(encoding="utf-8"))
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
            mlflow.log_metrics(json.loads((out / SCORES_FILE).read_text(encoding="utf-8")))
            for local, artifact_dir in run_artifacts(out):
                log_artifact(local, artifact_dir)
            if (out / "model" / "pipeline").is_dir():
                spark = spark or sparktag.start()
                model = PipelineModel.load(str(out / "model" / "pipeline"))
                flavor.log_model(
                    model, "model", registered_model_name=model_name, alias=alias if model_name else None
                )
                if model_name:
                    model_uri = f"models:/{model_name}@{alias}" if alias else f"models:/{model_name}"
    mark_tracked(out, run_id, experiment_id, model_uri, dataclasses.replace(settings, experiment_name=name))
    return run_id

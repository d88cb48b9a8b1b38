"""What :func:`sparktag.mlflow.autolog` was called with, as the MLflow listener of each fit gets it.

A module of its own so that the listener (:mod:`sparktag.tracking.listener`) and the integration that creates it
(:mod:`sparktag.tracking.autolog`) share it without importing each other.
"""

from __future__ import annotations

from dataclasses import dataclass

INTEGRATION = "sparktag"  # the autologging integration's name (MLflow's ``mlflow.autologging`` tag value)
# mlflow.utils.mlflow_tags.MLFLOW_AUTOLOGGING, spelled out so this module does not import MLflow
AUTOLOGGING_TAG = "mlflow.autologging"


@dataclass(frozen=True)
class AutologConfig:
    """What :func:`sparktag.mlflow.autolog` was called with (see there for each setting)."""

    log_models: bool = True
    log_datasets: bool = True
    log_input_examples: bool = False
    log_model_signatures: bool = True
    registered_model_name: str | None = None
    extra_tags: dict[str, str] | None = None  # on the run the listener opens
    silent: bool = False
    log_charts: bool = True
    pending_dir: str | None = None  # where the pending JSON goes; None: outputLogsPath, else ./mlflow_pending
    offline_reason: str | None = None  # set: do not contact MLflow at all, write the pending file

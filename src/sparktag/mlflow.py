"""sparktag's MLflow API in one import, shaped like ``mlflow.<flavor>``.

    import sparktag.mlflow
    sparktag.mlflow.log_model(pipeline_model, "model", registered_model_name="ner", alias="champion")
    light = sparktag.mlflow.load_model("models:/ner@champion", kind="light")
    sparktag.mlflow.autolog()  # every NerDLApproach fit: params, live metrics, charts, the model

The flavor lives in :mod:`sparktag.tracking.flavor`, autologging in :mod:`sparktag.tracking.autolog`;
MLflow is imported when a function runs.
"""

from __future__ import annotations

from sparktag.tracking.autolog import autolog
from sparktag.tracking.flavor import FLAVOR_NAME, load_model, log_model, save_model, set_alias

__all__ = ["FLAVOR_NAME", "autolog", "load_model", "log_model", "save_model", "set_alias"]

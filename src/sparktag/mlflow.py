"""sparktag's MLflow API in one import, shaped like ``mlflow.<flavor>``.

    import sparktag.mlflow
    sparktag.mlflow.log_model(pipeline_model, "model", registered_model_name="ner", alias="champion")
    light = sparktag.mlflow.load_model("models:/ner@champion", kind="light")

The flavor itself lives in :mod:`sparktag.tracking.flavor`; MLflow is imported when a function runs.
"""

from __future__ import annotations

from typing import Any

from sparktag.tracking.flavor import FLAVOR_NAME, load_model, log_model, save_model, set_alias


def autolog(*args: Any, **kwargs: Any) -> Any:
    """Turn on MLflow autologging of NerDL training (see :func:`sparktag.tracking.autolog.autolog`)."""
    from sparktag.tracking.autolog import autolog as _autolog

    return _autolog(*args, **kwargs)


__all__ = ["FLAVOR_NAME", "autolog", "load_model", "log_model", "save_model", "set_alias"]

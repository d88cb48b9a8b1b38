"""The ``sparktag`` MLflow flavor: save, log and load a fitted sparktag pipeline, and serve it as pyfunc.

Shaped like MLflow's own flavors (``mlflow.sklearn``, ``mlflow.spacy``)::

    model_dir/
      MLmodel                 # flavors: sparktag (pipeline folder, versions) + python_function
      pipeline/               # the PipelineModel in Spark MLlib's format (what PipelineModel.write() makes)
      requirements.txt, python_env.yaml, conda.yaml, input_example.json, serving_input_example.json

The ``pipeline/`` folder is written with json + pyarrow when every stage is a sparktag stage, so saving
needs no SparkSession, and it is read back either by Spark (``PipelineModel.load``) or without a JVM
(:class:`~sparktag.light.LightPipeline`). The ``python_function`` flavor runs the pipeline through
LightPipeline: one row per input text out, its entities in an ``entities`` array (or, with the inference
param ``output="flat"``, one row per entity; see :class:`~sparktag.tracking.pyfunc_model.SparktagModel`). So
``mlflow models serve -m models:/NAME@champion --env-manager local`` never starts Spark,
``mlflow.pyfunc.spark_udf(spark, "models:/NAME@champion")`` scores a DataFrame of texts in Spark's Python
workers without a second JVM, and ``mlflow.models.evaluate`` gets one prediction per row; a BERT encoder
(MiniLM, ...) runs on :mod:`sparktag.embeddings.bert` without importing transformers.

sparktag is not on a package index, so the model carries it as a wheel (:mod:`sparktag.tracking.model_env`):
``mlflow models serve`` with MLflow's default environment manager (virtualenv) builds the serving environment
from the model alone; ``--env-manager local`` skips that and uses the current environment.

The flavor's rooms: this module (save, log, load, ``_load_pyfunc``: the MLmodel's ``loader_module``),
:mod:`~sparktag.tracking.pyfunc_model` (the pyfunc model), :mod:`~sparktag.tracking.signature` (input,
output, example), :mod:`~sparktag.tracking.model_env` (requirements, wheel) and
:mod:`~sparktag.tracking.fitted_pipeline` (which stages, and whether they run on text).

Example:
    >>> import sparktag.mlflow
    >>> info = sparktag.mlflow.log_model(pipeline_model, "model", registered_model_name="ner",
    ...                                  alias="champion")  # doctest: +SKIP
    >>> light = sparktag.mlflow.load_model("models:/ner@champion", kind="light")  # doctest: +SKIP
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Literal

from sparktag.tracking.fitted_pipeline import entity_source, fitted_stages, is_pipeline_model, runs_on_text
from sparktag.tracking.model_env import CONDA_ENV_FILE_NAME, PYTHON_ENV_FILE_NAME, write_model_env
from sparktag.tracking.signature import add_signature_and_example

if TYPE_CHECKING:  # pragma: no cover
    from mlflow.models import Model, ModelSignature
    from mlflow.models.model import ModelInfo

    from sparktag.tracking.pyfunc_model import SparktagModel

_logger = logging.getLogger("sparktag.mlflow")

FLAVOR_NAME = "sparktag"
PIPELINE_DIR = "pipeline"


def save_model(
    pipeline_model: Any,
    path: str,
    mlflow_model: Model | None = None,
    input_example: Any = None,
    signature: ModelSignature | Literal[False] | None = None,
    pip_requirements: Sequence[str] | str | None = None,
    extra_pip_requirements: Sequence[str] | str | None = None,
    metadata: dict[str, Any] | None = None,
    conda_env: Any = None,
    code_paths: list[str] | None = None,
) -> None:
    """Save a fitted sparktag pipeline as an MLflow model in the local folder ``path``.

    Args:
        pipeline_model: a fitted ``PipelineModel``, a list of fitted stages, or one fitted stage.
        path: a local folder; it must not exist yet (or be empty).
        mlflow_model: the ``mlflow.models.Model`` this flavor is added to (``Model.log`` passes it).
        input_example: an example input; by default a one-sentence ``text`` frame. Pass ``False`` for none.
        signature: by default ``text`` (string) in, the entity table out; ``False`` for none.
        pip_requirements: replaces the default requirements (:func:`get_default_pip_requirements`); the
            model's sparktag wheel is still put first unless a line names sparktag itself.
        extra_pip_requirements: added to the default requirements.
        metadata: free-form metadata stored in MLmodel.
        conda_env: a conda environment (dict or YAML path) instead of pip requirements.
        code_paths: local code files or folders to ship with the model.

    Raises:
        TypeError: ``pipeline_model`` is not fitted (an Estimator or a ``Pipeline``).
        MlflowException: ``path`` already holds something.
    """
    import pyspark
    from mlflow import pyfunc
    from mlflow.exceptions import MlflowException
    from mlflow.models import Model
    from mlflow.models.model import MLMODEL_FILE_NAME
    from mlflow.protos.databricks_pb2 import RESOURCE_ALREADY_EXISTS

    import sparktag
    from sparktag.spark.persistence import save_pipeline
    from sparktag.tracking import mlflow_private as private

    private.validate_env_arguments(conda_env, pip_requirements, extra_pip_requirements)
    stages = fitted_stages(pipeline_model)
    path = os.path.abspath(path)
    if os.path.isdir(path) and any(os.scandir(path)):
        raise MlflowException(f"cannot save the model to {path}: the folder already exists and is not empty; "
                              "give a new path or empty it first", error_code=RESOURCE_ALREADY_EXISTS)  # fmt: skip
    os.makedirs(path, exist_ok=True)
    code_dir_subpath = private.validate_and_copy_code_paths(code_paths, path)

    uid = pipeline_model.uid if is_pipeline_model(pipeline_model) else None
    save_pipeline(stages, os.path.join(path, PIPELINE_DIR), uid=uid)
    runnable, why = runs_on_text(stages)

    if mlflow_model is None:
        mlflow_model = Model()
    if metadata is not None:
        mlflow_model.metadata = metadata
    add_signature_and_example(mlflow_model, path, input_example, signature, runnable)

    mlflow_model.add_flavor(
        FLAVOR_NAME,
        sparktag_version=sparktag.__version__,
        pyspark_version=pyspark.__version__,
        pipeline=PIPELINE_DIR,
        stages=[type(s).__name__ for s in stages],
        entities=entity_source(stages) if runnable else None,
        code=code_dir_subpath,
    )
    if runnable:
        pyfunc.add_to_model(
            mlflow_model,
            loader_module="sparktag.tracking.flavor",
            data=PIPELINE_DIR,
            conda_env=CONDA_ENV_FILE_NAME,
            python_env=PYTHON_ENV_FILE_NAME,
            code=code_dir_subpath,
        )
    else:
        _logger.warning(
            "saving only the sparktag flavor (no python_function flavor, so no `mlflow models serve`): %s",
            why,
        )

    write_model_env(path, conda_env, pip_requirements, extra_pip_requirements)
    # the size MLflow shows counts every file of the model (pipeline, wheel, environment files)
    mlflow_model.model_size_bytes = sum(
        os.path.getsize(os.path.join(root, name)) for root, _, names in os.walk(path) for name in names
    )
    mlflow_model.save(os.path.join(path, MLMODEL_FILE_NAME))


def log_model(
    pipeline_model: Any,
    artifact_path: str | None = None,
    registered_model_name: str | None = None,
    alias: str | None = None,
    input_example: Any = None,
    signature: ModelSignature | Literal[False] | None = None,
    pip_requirements: Sequence[str] | str | None = None,
    extra_pip_requirements: Sequence[str] | str | None = None,
    metadata: dict[str, Any] | None = None,
    *,
    name: str | None = None,
    await_registration_for: int = 300,
    **kwargs: Any,
) -> ModelInfo:
    """Log a fitted sparktag pipeline to the active MLflow run (one is started if none is active).

    Args:
        pipeline_model: what :func:`save_model` takes.
        artifact_path: the model's name in the run (MLflow 3 calls it ``name``; either works,
            default ``"model"``).
        registered_model_name: also register the model under this name (a new version each call).
        alias: set this alias (e.g. ``"champion"``) on the new version; needs ``registered_model_name``.
        input_example, signature, pip_requirements, extra_pip_requirements, metadata: as in :func:`save_model`.
        name: MLflow 3's spelling of ``artifact_path``.
        await_registration_for: seconds to wait for the version to become ready.
        kwargs: passed on to ``mlflow.models.Model.log`` (``params``, ``tags``, ``step``, ...).

    Returns:
        MLflow's ``ModelInfo`` (``model_uri``, ``registered_model_version``, ...).

    Example:
        >>> info = log_model(model, "ner", registered_model_name="ner", alias="champion")  # doctest: +SKIP
        >>> info.model_uri  # doctest: +SKIP
        'models:/m-...'
    """
    from mlflow.models import Model

    if artifact_path is not None and name is not None and artifact_path != name:
        raise ValueError(f"pass the model's name once: artifact_path={artifact_path!r} and name={name!r}")
    if alias is not None and registered_model_name is None:
        raise ValueError(f"alias={alias!r} needs registered_model_name: an alias names a registered version")
    info = Model.log(
        artifact_path=None,
        name=name or artifact_path or "model",
        flavor=sys.modules[__name__],
        registered_model_name=registered_model_name,
        await_registration_for=await_registration_for,
        pipeline_model=pipeline_model,
        input_example=input_example,
        signature=signature,
        pip_requirements=pip_requirements,
        extra_pip_requirements=extra_pip_requirements,
        metadata=metadata,
        **kwargs,
    )
    if alias is not None and registered_model_name is not None:
        set_alias(registered_model_name, alias, info.registered_model_version)
    return info


def set_alias(name: str, alias: str, version: int | str | None) -> None:
    """Point ``alias`` (e.g. ``"champion"``) of registered model ``name`` at ``version``.

    Afterwards ``models:/NAME@ALIAS`` loads that version (:func:`load_model`, ``mlflow models serve``).
    """
    from mlflow import MlflowClient

    if version is None:
        raise ValueError(f"no version of registered model {name!r} to set alias {alias!r} on")
    MlflowClient().set_registered_model_alias(name, alias, str(version))


# -- load ----------------------------------------------------------------------------------------------
def load_model(
    model_uri: str, kind: Literal["pipeline", "light"] = "pipeline", dst_path: str | None = None
) -> Any:
    """Load a model saved with this flavor.

    Args:
        model_uri: ``runs:/<run_id>/model``, ``models:/NAME/1``, ``models:/NAME@champion``, ``models:/<id>``,
            a local folder, or any other MLflow artifact URI.
        kind: ``"pipeline"`` for a Spark ``PipelineModel`` (needs a SparkSession), ``"light"`` for a
            :class:`~sparktag.light.LightPipeline` (no Spark, no JVM).
        dst_path: where to download the artifacts (a temporary folder by default).

    Returns:
        A ``PipelineModel`` or a ``LightPipeline``.
    """
    from mlflow.artifacts import download_artifacts

    if kind not in ("pipeline", "light"):
        raise ValueError(
            f"kind must be 'pipeline' (Spark PipelineModel) or 'light' (LightPipeline); got {kind!r}"
        )
    local = download_artifacts(artifact_uri=model_uri, dst_path=dst_path)
    pipeline_dir = _pipeline_dir(local, model_uri)
    if kind == "light":
        from sparktag.light import LightPipeline

        return LightPipeline.load(pipeline_dir)
    from pyspark.ml import PipelineModel
    from pyspark.sql import SparkSession

    if SparkSession.getActiveSession() is None:
        raise RuntimeError(
            f"load_model({model_uri!r}, kind='pipeline') returns a Spark PipelineModel and needs an active "
            "SparkSession (start one with sparktag.start()); use kind='light' to run without Spark"
        )
    from sparktag.spark.persistence import load_stage_local, read_metadata_local

    try:
        # Read by the driver alone: on a cluster the executors cannot see the folder the model was downloaded to.
        stages = load_stage_local(pipeline_dir)
    except (ValueError, ImportError):
        # A JVM stage (its class is a Scala one, or it says so): Spark's reader, which reads with the executors
        # (pass a dst_path they can reach).
        return PipelineModel.load(pipeline_dir)
    model = PipelineModel(stages if isinstance(stages, list) else [stages])
    model._resetUid(read_metadata_local(pipeline_dir)["uid"])
    return model


def _pipeline_dir(local: str, model_uri: str) -> str:
    from mlflow.models import Model
    from mlflow.models.model import MLMODEL_FILE_NAME

    mlmodel = os.path.join(local, MLMODEL_FILE_NAME)
    if not os.path.exists(mlmodel):
        raise FileNotFoundError(f"{model_uri} holds no MLmodel file: it is not an MLflow model")
    flavors = Model.load(mlmodel).flavors
    if FLAVOR_NAME not in flavors:
        raise ValueError(
            f"{model_uri} has no {FLAVOR_NAME!r} flavor (it has {sorted(flavors)}); "
            "save it with sparktag.mlflow.save_model/log_model, or load it with its own flavor"
        )
    return os.path.join(local, flavors[FLAVOR_NAME].get("pipeline", PIPELINE_DIR))


def _load_pyfunc(path: str) -> SparktagModel:
    """MLflow's pyfunc entry point: ``path`` is the model's ``pipeline`` folder (or the model folder).

    The MLmodel of every model saved with this flavor names this module as its ``loader_module``: it stays
    here, whatever else moves.
    """
    from mlflow.models import Model
    from mlflow.models.model import MLMODEL_FILE_NAME

    from sparktag.tracking.pyfunc_model import SparktagModel

    model_dir = path if os.path.exists(os.path.join(path, MLMODEL_FILE_NAME)) else os.path.dirname(path)
    pipeline_dir = os.path.join(path, PIPELINE_DIR) if model_dir == path else path
    entities = None
    mlmodel = os.path.join(model_dir, MLMODEL_FILE_NAME)
    if os.path.exists(mlmodel):
        entities = Model.load(mlmodel).flavors.get(FLAVOR_NAME, {}).get("entities")
    return SparktagModel.load(pipeline_dir, entities)


__all__ = [
    "FLAVOR_NAME",
    "load_model",
    "log_model",
    "save_model",
    "set_alias",
]

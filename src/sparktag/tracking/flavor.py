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
param ``output="flat"``, one row per entity; see :class:`SparktagModel`). So
``mlflow models serve -m models:/NAME@champion --env-manager local`` never starts Spark,
``mlflow.pyfunc.spark_udf(spark, "models:/NAME@champion")`` scores a DataFrame of texts in Spark's Python
workers without a second JVM, and ``mlflow.models.evaluate`` gets one prediction per row; a BERT encoder
(MiniLM, ...) runs on :mod:`sparktag.embeddings.bert` without importing transformers. Two environment
variables tune serving: :data:`THREADS_ENV` (torch threads per request, default 1) and :data:`PRECISION_ENV`
(``bfloat16`` matrix products, opt-in).

sparktag is not on a package index, so the model carries it: ``wheels/`` holds a wheel of the sparktag that
saved it (:mod:`sparktag.tracking.wheel`), and ``requirements.txt`` lists that wheel by its model-relative path
beside pinned torch, transformers, pyspark (imported for its ``Params`` classes only), pyarrow, pandas, numpy
and mlflow. ``mlflow models serve`` with MLflow's default environment manager (virtualenv) builds the serving
environment from the model alone; ``--env-manager local`` skips that and uses the current environment.

Example:
    >>> import sparktag.mlflow
    >>> info = sparktag.mlflow.log_model(pipeline_model, "model", registered_model_name="ner",
    ...                                  alias="champion")  # doctest: +SKIP
    >>> light = sparktag.mlflow.load_model("models:/ner@champion", kind="light")  # doctest: +SKIP
"""

from __future__ import annotations

import logging
import math
import os
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd
    from mlflow.models import Model, ModelSignature
    from mlflow.models.model import ModelInfo

    from sparktag.light import LightPipeline

_logger = logging.getLogger("sparktag.mlflow")

FLAVOR_NAME = "sparktag"
PIPELINE_DIR = "pipeline"
INPUT_COLUMN = "text"
#: the inference param that picks the pyfunc's output layout, its values, and the default
OUTPUT_PARAM = "output"
OUTPUT_LAYOUTS = ("nested", "flat")
DEFAULT_OUTPUT = "nested"
#: the pyfunc's default output ("nested"): one row per input text, its entities in one array column
OUTPUT_COLUMNS = ("entities",)
#: the fields of each entity in that array, in order
ENTITY_FIELDS = ("chunk", "entity", "begin", "end", "confidence")
#: the output with ``output="flat"``: one row per entity, ``text_index`` naming its input row
FLAT_COLUMNS = ("text_index", *ENTITY_FIELDS)
DEFAULT_INPUT_EXAMPLE = ["Maria Lopez joined Northwind Bank in Lisbon."]
#: torch intra-op threads while the pyfunc predicts; one thread gives the lowest latency for the small
#: batches a server sees (7 ms vs 200 ms p50 measured on a busy 2-core box); "0" leaves torch as it is.
THREADS_ENV = "SPARKTAG_TORCH_THREADS"
#: when set, the precision of every BertEmbeddings stage while the pyfunc serves: "float32" or "bfloat16"
#: (opt-in, BERT models: about a quarter less CPU per request on CPUs with native bfloat16). Unset keeps the
#: saved stage's own setting (float32 unless set otherwise).
PRECISION_ENV = "SPARKTAG_ENCODER_PRECISION"


# -- requirements and signature ----------------------------------------------------------------------
def get_default_pip_requirements(sparktag_wheel: str | None = None) -> list[str]:
    """What a saved sparktag model needs to load and predict, pinned to this environment's versions.

    Args:
        sparktag_wheel: the model-relative path of the sparktag wheel saved in the model (:func:`save_model`
            writes ``wheels/sparktag-<version>-<build>-py3-none-any.whl``). Without it sparktag is pinned by
            version, which only an index that has sparktag can install.

    Returns:
        Requirement lines: sparktag first, then ``name==version`` of its serving dependencies.
    """
    from importlib.metadata import version

    import sparktag

    # A local version label (torch's "+cpu") is not installable from PyPI: pin the public version.
    pinned = [
        f"{name}=={version(name).split('+', 1)[0]}"
        for name in (
            "torch",
            "transformers",
            "safetensors",
            "pyspark",
            "pyarrow",
            "pandas",
            "numpy",
            "mlflow",
        )
    ]
    return [sparktag_wheel or f"sparktag=={sparktag.__version__}", *pinned]


def default_signature() -> ModelSignature:
    """Input: one column of texts. Output: one row per text, its entities. Params: the output layout.

    The input column is left unnamed on purpose: MLflow's schema check then lets both a frame with a
    ``text`` column (``{"dataframe_records": [{"text": ...}]}``) and a bare list of strings
    (``{"inputs": [...]}``) through; a named ``text`` column would reject the list. Its type is ``Any``, not
    ``string``: with ``string`` the scoring server casts ``{"inputs": [null, 42]}`` to the texts ``"None"``
    and ``"42"`` before the model sees them, so a wrong request got entities for text nobody sent. With
    ``Any`` the values arrive as sent and :func:`_texts` rejects what is not a string (an HTTP 400).

    The output is declared as one object per row, ``{"entities": [{chunk, entity, begin, end, confidence},
    ...]}``, which is what each row of the default output is. It is an object and not a named ``entities``
    column of arrays because ``mlflow.pyfunc.spark_udf`` infers its result type from this schema: an object
    becomes ``struct<entities: array<struct<...>>>``, which MLflow 3 converts, while a lone array column
    becomes a top-level ``array<struct<...>>``, which MLflow 3's UDF cannot fill (it turns each row's
    DataFrame values into the array's elements and fails in Arrow). ``confidence`` is optional (null when
    the tagger gave none). The ``output`` param (default ``"nested"``; ``"flat"`` for one row per entity)
    is declared so the scoring server accepts ``{"inputs": [...], "params": {"output": "flat"}}``.
    """
    from mlflow.models import ModelSignature
    from mlflow.types import ColSpec, ParamSchema, ParamSpec, Schema
    from mlflow.types.schema import AnyType, Array, Object, Property

    entity = Object(
        [
            Property("chunk", "string"),
            Property("entity", "string"),
            Property("begin", "long"),
            Property("end", "long"),
            Property("confidence", "double", required=False),
        ]
    )
    return ModelSignature(
        inputs=Schema([ColSpec(AnyType())]),
        outputs=Schema([ColSpec(Object([Property(OUTPUT_COLUMNS[0], Array(entity))]))]),
        params=ParamSchema([ParamSpec(OUTPUT_PARAM, "string", DEFAULT_OUTPUT)]),
    )


# -- save / log ----------------------------------------------------------------------------------------
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
    import yaml
    from mlflow import pyfunc
    from mlflow.exceptions import MlflowException
    from mlflow.models import Model
    from mlflow.models.model import MLMODEL_FILE_NAME
    from mlflow.protos.databricks_pb2 import RESOURCE_ALREADY_EXISTS

    import sparktag
    from sparktag.tracking import mlflow_private as private
    from sparktag.tracking.wheel import WHEELS_DIR, write_sparktag_wheel

    private.validate_env_arguments(conda_env, pip_requirements, extra_pip_requirements)
    stages = _fitted_stages(pipeline_model)
    path = os.path.abspath(path)
    if os.path.isdir(path) and any(os.scandir(path)):
        raise MlflowException(f"cannot save the model to {path}: the folder already exists and is not empty; "
                              "give a new path or empty it first", error_code=RESOURCE_ALREADY_EXISTS)  # fmt: skip
    os.makedirs(path, exist_ok=True)
    code_dir_subpath = private.validate_and_copy_code_paths(code_paths, path)

    uid = pipeline_model.uid if _is_pipeline_model(pipeline_model) else None
    from sparktag.spark.persistence import save_pipeline

    save_pipeline(stages, os.path.join(path, PIPELINE_DIR), uid=uid)
    runnable, why = _runs_on_text(stages)
    entity_source = _entity_source(stages) if runnable else None

    if mlflow_model is None:
        mlflow_model = Model()
    if metadata is not None:
        mlflow_model.metadata = metadata
    if input_example is None and runnable:
        import pandas as pd

        input_example = pd.DataFrame({INPUT_COLUMN: DEFAULT_INPUT_EXAMPLE})
    if input_example is not None and input_example is not False:
        private.save_example(mlflow_model, input_example, path)
    if signature is None and runnable:
        signature = default_signature()
    if signature:
        mlflow_model.signature = signature

    mlflow_model.add_flavor(
        FLAVOR_NAME,
        sparktag_version=sparktag.__version__,
        pyspark_version=pyspark.__version__,
        pipeline=PIPELINE_DIR,
        stages=[type(s).__name__ for s in stages],
        entities=entity_source,
        code=code_dir_subpath,
    )
    if runnable:
        pyfunc.add_to_model(
            mlflow_model,
            loader_module="sparktag.tracking.flavor",
            data=PIPELINE_DIR,
            conda_env=_CONDA_ENV_FILE_NAME,
            python_env=_PYTHON_ENV_FILE_NAME,
            code=code_dir_subpath,
        )
    else:
        _logger.warning(
            "saving only the sparktag flavor (no python_function flavor, so no `mlflow models serve`): %s",
            why,
        )

    if conda_env is None:
        # sparktag is on no package index: the model carries it as a wheel, installed from the model's folder
        user_reqs = (
            list(pip_requirements) if isinstance(pip_requirements, (list, tuple)) else pip_requirements
        )
        wheel = None
        if user_reqs is None or (
            isinstance(user_reqs, list) and not any(_names_sparktag(r) for r in user_reqs)
        ):
            wheel = f"{WHEELS_DIR}/{write_sparktag_wheel(os.path.join(path, WHEELS_DIR))}"
        if isinstance(user_reqs, list) and wheel is not None:
            user_reqs = [wheel, *user_reqs]
        conda_env, pip_reqs, constraints = private.process_pip_requirements(
            get_default_pip_requirements(wheel) if user_reqs is None else None,
            user_reqs,
            list(extra_pip_requirements)
            if isinstance(extra_pip_requirements, (list, tuple))
            else extra_pip_requirements,
        )
    else:
        conda_env, pip_reqs, constraints = private.process_conda_env(conda_env)
    with open(os.path.join(path, _CONDA_ENV_FILE_NAME), "w", encoding="utf-8") as f:
        yaml.safe_dump(conda_env, stream=f, default_flow_style=False)
    if constraints:
        _write_text(os.path.join(path, _CONSTRAINTS_FILE_NAME), "\n".join(constraints))
    _write_text(os.path.join(path, _REQUIREMENTS_FILE_NAME), "\n".join(pip_reqs))
    private.PythonEnv.current().to_yaml(os.path.join(path, _PYTHON_ENV_FILE_NAME))
    # the size MLflow shows counts every file of the model (pipeline, wheel, environment files)
    mlflow_model.model_size_bytes = sum(
        os.path.getsize(os.path.join(root, name)) for root, _, names in os.walk(path) for name in names
    )
    mlflow_model.save(os.path.join(path, MLMODEL_FILE_NAME))


# The files of MLflow's model format (documented names; MLflow keeps them as private constants).
_CONDA_ENV_FILE_NAME = "conda.yaml"
_PYTHON_ENV_FILE_NAME = "python_env.yaml"
_REQUIREMENTS_FILE_NAME = "requirements.txt"
_CONSTRAINTS_FILE_NAME = "constraints.txt"


def _names_sparktag(requirement: str) -> bool:
    """Whether a requirement line installs sparktag (``sparktag==0.1.0``, ``./sparktag-0.1.0-...whl``, ...)."""
    import re

    line = requirement.strip()
    return bool(
        re.match(r"sparktag\s*([\[=<>!~;@]|$)", line, re.I)
        or re.search(r"(^|[/\\])sparktag-[^/\\]*\.whl$", line, re.I)
    )


def _write_text(path: str, text: str) -> None:
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)


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
    """MLflow's pyfunc entry point: ``path`` is the model's ``pipeline`` folder (or the model folder)."""
    from mlflow.models import Model
    from mlflow.models.model import MLMODEL_FILE_NAME

    model_dir = path if os.path.exists(os.path.join(path, MLMODEL_FILE_NAME)) else os.path.dirname(path)
    pipeline_dir = os.path.join(path, PIPELINE_DIR) if model_dir == path else path
    entities = None
    mlmodel = os.path.join(model_dir, MLMODEL_FILE_NAME)
    if os.path.exists(mlmodel):
        entities = Model.load(mlmodel).flavors.get(FLAVOR_NAME, {}).get("entities")
    from sparktag.light import LightPipeline

    threads = _threads_setting()
    # Loading copies weights and warming up runs the model: under the same thread limit as requests, since
    # torch's default pool (one thread per core) spins against a busy machine for seconds of a cold start.
    from sparktag.ner.threads import torch_threads

    with torch_threads(threads):
        light = LightPipeline.load(pipeline_dir)
        _set_precision(light.stages, os.environ.get(PRECISION_ENV))
        model = SparktagModel(light, entities)
        model.warm_up()
    return model


def _set_precision(stages: Sequence[Any], precision: str | None) -> None:
    """Give every stage with a ``precision`` param (BertEmbeddings) the :data:`PRECISION_ENV` value, if set."""
    if not precision:
        return
    from sparktag.embeddings.transformer import PRECISIONS

    if precision not in PRECISIONS:
        raise ValueError(
            f"{PRECISION_ENV}={precision!r} is not a precision; use one of {', '.join(PRECISIONS)}"
        )
    for stage in stages:
        if stage.hasParam("precision"):
            stage.set(stage.getParam("precision"), precision)


# -- pyfunc ---------------------------------------------------------------------------------------------
class SparktagModel:
    """The pyfunc model: texts in, their entities out, all in-process through LightPipeline (no JVM).

    ``predict`` accepts a pandas DataFrame with a ``text`` column, a list of strings, or one string. By
    default (inference param ``output="nested"``) it returns one row per input text, in input order, with
    one column, ``entities``: a list of ``{"chunk", "entity", "begin", "end", "confidence"}`` dicts, where
    ``chunk`` is the entity's text, ``entity`` its type, ``begin``/``end`` inclusive character offsets into
    that text and ``confidence`` None when the tagger gave none. A text without entities gets an empty list.
    This is the shape ``mlflow.pyfunc.spark_udf`` (a struct column per row), ``mlflow.models.evaluate`` and
    batch scoring assume: the n-th prediction belongs to the n-th input.

    With ``params={"output": "flat"}`` it returns the flat entity table instead, one row per entity, the
    columns of :data:`FLAT_COLUMNS`: ``text_index`` (the input row) then the same five fields
    (``confidence`` NaN when missing). It suits a REST client that wants a table
    (``{"inputs": [...], "params": {"output": "flat"}}``), not a Spark UDF, which must return one row per
    input row: inside a Spark task ``"flat"`` is refused with an error saying so.

    Example:
        >>> model = mlflow.pyfunc.load_model("models:/ner@champion")  # doctest: +SKIP
        >>> model.predict(["Maria Lopez lives in Lisbon."])["entities"][0]  # doctest: +SKIP
        [{'chunk': 'Maria Lopez', 'entity': 'PER', 'begin': 0, 'end': 10, 'confidence': 0.98}, ...]
        >>> model.predict(["Maria Lopez lives in Lisbon."], params={"output": "flat"})  # doctest: +SKIP
    """

    def __init__(self, light: LightPipeline, entities: dict[str, Any] | None = None) -> None:
        self.light = light
        self.entities = entities or _entity_source(light.stages)
        self.threads = _threads_setting()

    def get_raw_model(self) -> LightPipeline:
        return self.light

    def warm_up(self) -> None:
        """Load every stage's weights now (they load lazily), so the first request is not the slow one."""
        self.predict(DEFAULT_INPUT_EXAMPLE)

    def predict(self, model_input: Any, params: dict[str, Any] | None = None) -> pd.DataFrame:
        """Tag the texts of ``model_input``.

        Args:
            model_input: a DataFrame with a ``text`` column, a list of strings, or one string.
            params: ``{"output": "nested"}`` (default: one row per text, an ``entities`` list each) or
                ``{"output": "flat"}`` (one row per entity).

        Returns:
            A DataFrame: the :data:`OUTPUT_COLUMNS` (nested) or the :data:`FLAT_COLUMNS` (flat).

        Raises:
            MlflowException: bad input or params (a server answers 400 with the message).
        """
        from mlflow.exceptions import MlflowException

        try:
            output = self._output_layout(params)
            texts = _texts(model_input)
        except (TypeError, ValueError) as err:
            # an MlflowException reaches a server's client as a 400 with this message (others become 500s)
            raise MlflowException.invalid_parameter_value(str(err)) from err
        found = [self._chunks(row) for row in self._annotate(texts)] if texts else []
        return self._flat(found) if output == "flat" else self._nested(found)

    @staticmethod
    def _output_layout(params: dict[str, Any] | None) -> str:
        output = (params or {}).get(OUTPUT_PARAM, DEFAULT_OUTPUT)
        if output not in OUTPUT_LAYOUTS:
            raise ValueError(
                f"params {{{OUTPUT_PARAM!r}: {output!r}}} is not an output layout; use "
                f'"nested" (one row per text with its entities, the default) or "flat" (one row per entity)'
            )
        if output == "flat":
            from pyspark import TaskContext

            if TaskContext.get() is not None:
                # a Spark UDF must give one row per input row: more rows fail in Spark with an Arrow error
                raise ValueError(
                    f'params {{{OUTPUT_PARAM!r}: "flat"}} gives one row per entity, but inside Spark '
                    "(mlflow.pyfunc.spark_udf) each input row needs exactly one output row: drop the "
                    "params, and explode the entities column (F.explode('prediction.entities'))"
                )
        return output

    @staticmethod
    def _nested(found: list[list[Any]]) -> pd.DataFrame:
        import pandas as pd

        rows = []
        for chunks in found:
            entities = []
            for chunk in chunks:
                values = _entity_row(chunk)
                entity = dict(zip(ENTITY_FIELDS, values, strict=True))
                if math.isnan(values[-1]):
                    entity["confidence"] = None  # null in JSON and in Spark; NaN is not valid JSON
                entities.append(entity)
            rows.append(entities)
        # object dtype even for no rows (an empty list would make a float64 column)
        return pd.DataFrame({OUTPUT_COLUMNS[0]: pd.Series(rows, dtype=object)})

    @staticmethod
    def _flat(found: list[list[Any]]) -> pd.DataFrame:
        import numpy as np
        import pandas as pd

        rows = [(i, *_entity_row(chunk)) for i, chunks in enumerate(found) for chunk in chunks]
        # typed columns built directly: DataFrame(rows).astype({...}) took milliseconds of every request
        columns = list(zip(*rows, strict=True)) if rows else [() for _ in FLAT_COLUMNS]
        dtypes = (np.int64, object, object, np.int64, np.int64, np.float64)
        return pd.DataFrame(
            {
                name: np.asarray(values, dtype=dtype)
                for name, values, dtype in zip(FLAT_COLUMNS, columns, dtypes, strict=True)
            }
        )

    def _annotate(self, texts: list[str]) -> list[dict[str, Any]]:
        from sparktag.ner.threads import torch_threads

        with torch_threads(self.threads):
            return self.light.fullAnnotate(texts)

    def _chunks(self, row: dict[str, Any]) -> list[Any]:
        source = self.entities
        if source is None:
            raise ValueError(
                "this pipeline makes no named_entity or chunk column; add NerDLModel (and NerConverter) stages"
            )
        if source["kind"] == "chunk":
            return row[source["column"]]
        from sparktag.core.ner_converter import ner_converter

        sentences, tokens, ner = (row[c] for c in source["columns"])
        return ner_converter(sentences, tokens, ner)


def _threads_setting() -> int:
    """Torch threads per request from :data:`THREADS_ENV` (default 1; 0 leaves torch as it is)."""
    return int(os.environ.get(THREADS_ENV, "1") or 0)


def _entity_row(chunk: Any) -> tuple[str, str, int, int, float]:
    confidence = chunk.metadata.get("confidence")
    try:
        value = float(confidence) if confidence is not None else math.nan
    except ValueError:
        value = math.nan
    return chunk.result, chunk.metadata.get("entity", ""), int(chunk.begin), int(chunk.end), value


def _texts(model_input: Any) -> list[str]:
    """The pyfunc's input as a list of texts, with errors that say what to send instead."""
    import numpy as np
    import pandas as pd

    if isinstance(model_input, str):
        return [model_input]
    if isinstance(model_input, pd.Series):
        model_input = model_input.to_frame(name=model_input.name or INPUT_COLUMN)
    if isinstance(model_input, dict):
        model_input = pd.DataFrame(model_input)
    if isinstance(model_input, pd.DataFrame):
        if INPUT_COLUMN not in model_input.columns:
            if len(model_input.columns) == 1 and model_input.columns[0] == 0:
                values = list(model_input[0])  # an unnamed single column: a list of strings
            else:
                raise ValueError(
                    f"the input has no {INPUT_COLUMN!r} column (columns: {[str(c) for c in model_input.columns]}); "
                    f'send {{"dataframe_records": [{{"{INPUT_COLUMN}": "..."}}]}} or {{"inputs": ["..."]}}'
                )
        else:
            values = list(model_input[INPUT_COLUMN])
    elif isinstance(model_input, (list, tuple, np.ndarray)):
        values = list(model_input)
    else:
        raise TypeError(
            f"cannot predict on {type(model_input).__name__}: pass a DataFrame with a {INPUT_COLUMN!r} "
            "column, a list of strings or a string"
        )
    for i, value in enumerate(values):
        if isinstance(value, np.ndarray) and value.ndim == 0:
            # the scoring server hands each value of {"inputs": [{"text": "..."}]} over as a 0-d array
            values[i] = value = value.item()
        if not isinstance(value, str):
            raise TypeError(
                f"row {i} of {INPUT_COLUMN!r} is {type(value).__name__} ({value!r:.40}), not a string; "
                f'every row must be one text, e.g. {{"inputs": ["first text", "second text"]}}'
            )
    return values


# -- the pipeline folder ------------------------------------------------------------------------------
def _fitted_stages(pipeline_model: Any) -> list[Any]:
    from pyspark.ml import Estimator, Pipeline, Transformer

    if isinstance(pipeline_model, (Pipeline, Estimator)):
        raise TypeError(
            f"{type(pipeline_model).__name__} is not fitted: save the model fit() returns "
            "(pipeline.fit(df)), not the estimator"
        )
    if isinstance(pipeline_model, (list, tuple)):
        stages = list(pipeline_model)
    elif isinstance(getattr(pipeline_model, "stages", None), list):
        stages = list(pipeline_model.stages)
    else:
        stages = [pipeline_model]
    from sparktag.light import flatten_stages

    flat = flatten_stages(stages)
    if not flat:
        raise ValueError("the pipeline has no stages: nothing to save")
    for i, stage in enumerate(flat):
        if isinstance(stage, Estimator) or not isinstance(stage, Transformer):
            raise TypeError(
                f"stage {i} ({type(stage).__name__}) is not a fitted Transformer; fit the pipeline first"
            )
    return flat


def _is_pipeline_model(value: Any) -> bool:
    from pyspark.ml import PipelineModel

    return isinstance(value, PipelineModel)


def _runs_on_text(stages: list[Any]) -> tuple[bool, str]:
    """Whether LightPipeline can run ``stages`` from raw text, and if not, why."""
    from sparktag.spark.stage import AnnotatorStage

    for i, stage in enumerate(stages):
        if not isinstance(stage, AnnotatorStage):
            return False, f"stage {i} ({type(stage).__name__}) is not a sparktag stage"
    first = stages[0]
    available = {first.getOrDefault("inputCol") if first.hasParam("inputCol") else INPUT_COLUMN}
    for stage in stages:
        missing = [c for c in stage._input_columns() if c not in available]
        if missing:
            return False, (
                f"{type(stage).__name__} reads {missing}, which no earlier stage makes from text; "
                "save the whole pipeline (DocumentAssembler ... NerDLModel) to serve it"
            )
        available.add(stage.getOutputCol())
    if _entity_source(stages) is None:
        return False, "no stage makes named_entity or chunk annotations"
    return True, ""


def _entity_source(stages: Sequence[Any]) -> dict[str, Any] | None:
    """Where the entities come from: the last chunk column, else the last named_entity column's tags."""
    for stage in reversed(stages):
        if getattr(stage, "outputAnnotatorType", "") == "chunk":
            return {"kind": "chunk", "column": stage.getOutputCol()}
    for stage in reversed(stages):
        if getattr(stage, "outputAnnotatorType", "") == "named_entity" and stage.hasParam("inputCols"):
            sentence, token = stage.getInputCols()[:2]
            return {"kind": "named_entity", "columns": [sentence, token, stage.getOutputCol()]}
    return None


__all__ = [
    "FLAVOR_NAME",
    "FLAT_COLUMNS",
    "OUTPUT_COLUMNS",
    "SparktagModel",
    "default_signature",
    "get_default_pip_requirements",
    "load_model",
    "log_model",
    "save_model",
    "set_alias",
]

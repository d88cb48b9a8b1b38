"""Where tracking goes: an explicit value, else MLflow's own ``MLFLOW_*`` environment variables, else ours.

Every sparktag command and :func:`sparktag.tracking.experiment.run_experiment` follow MLflow's precedence
(``mlflow/environment_variables.py``, ``mlflow.tracking.fluent._get_experiment_id_from_env``):

============  ===================================================================================
tracking URI  flag / config value > ``MLFLOW_TRACKING_URI`` > ``sqlite:///mlflow.db``
registry URI  flag / config value > ``MLFLOW_REGISTRY_URI`` > the tracking URI (MLflow's rule)
experiment    flag / config name > ``MLFLOW_EXPERIMENT_NAME`` > ``MLFLOW_EXPERIMENT_ID`` > ``sparktag``
run           ``MLFLOW_RUN_ID``: log into that existing run, as ``mlflow.start_run()`` does
============  ===================================================================================

Credentials and transport settings (``MLFLOW_TRACKING_USERNAME``/``PASSWORD``/``TOKEN``,
``MLFLOW_TRACKING_INSECURE_TLS``, ``MLFLOW_HTTP_REQUEST_*``) are read by MLflow itself and need nothing here.

    >>> s = resolve_settings(environ={"MLFLOW_TRACKING_URI": "http://u:pw@mlflow:5000"})
    >>> s.describe()
    "http://u:***@mlflow:5000 (from MLFLOW_TRACKING_URI), experiment 'sparktag' (default)"
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field

from sparktag.tracking.redact import redact_uri

DEFAULT_TRACKING_URI = "sqlite:///mlflow.db"
DEFAULT_EXPERIMENT = "sparktag"
#: the environment variables MLflow reads that decide where a run goes
ENV_NAMES = (
    "MLFLOW_TRACKING_URI",
    "MLFLOW_REGISTRY_URI",
    "MLFLOW_EXPERIMENT_NAME",
    "MLFLOW_EXPERIMENT_ID",
    "MLFLOW_RUN_ID",
)
#: tags of experiments sparktag creates: the MLflow UI then opens them on their runs, not the GenAI overview
EXPERIMENT_TAGS = {"mlflow.experimentKind": "custom_model_development"}


@dataclass(frozen=True)
class TrackingSettings:
    """Where a command tracks to, and where each value came from.

    Args:
        tracking_uri: the MLflow tracking URI.
        registry_uri: the model registry URI; ``None``: the tracking URI's registry.
        experiment_name: the experiment by name; ``None`` when it is given by ``experiment_id`` only.
        experiment_id: ``MLFLOW_EXPERIMENT_ID`` (alone, or checked against the name as MLflow does).
        run_id: ``MLFLOW_RUN_ID``: an existing run to log into.
        sources: setting -> ``"flag"``, ``"default"`` or the environment variable it came from.
    """

    tracking_uri: str
    registry_uri: str | None = None
    experiment_name: str | None = DEFAULT_EXPERIMENT
    experiment_id: str | None = None
    run_id: str | None = None
    sources: dict[str, str] = field(default_factory=dict)

    def store(self) -> str:
        """The redacted tracking (and registry) URI, each with where it came from."""
        text = f"{redact_uri(self.tracking_uri)} ({self._source('tracking_uri')})"
        if self.registry_uri:
            text += f", registry {redact_uri(self.registry_uri)} ({self._source('registry_uri')})"
        return text

    def describe(self) -> str:
        """One line for the user: :meth:`store` and the experiment (or run), with where each came from."""
        text = self.store()
        if self.run_id:
            return text + f", run {self.run_id} ({self._source('run_id')})"
        if self.experiment_name is not None:
            return text + f", experiment {self.experiment_name!r} ({self._source('experiment_name')})"
        return text + f", experiment id {self.experiment_id} ({self._source('experiment_id')})"

    def _source(self, key: str) -> str:
        source = self.sources.get(key, "flag")
        return f"from {source}" if source.startswith("MLFLOW_") else source


def resolve_settings(
    tracking_uri: str | None = None,
    experiment_name: str | None = None,
    registry_uri: str | None = None,
    *,
    default_experiment: str = DEFAULT_EXPERIMENT,
    environ: Mapping[str, str] | None = None,
) -> TrackingSettings:
    """Apply MLflow's precedence (see the module doc) to explicit values and the environment.

    Args:
        tracking_uri, experiment_name, registry_uri: explicit values (a flag or config value); ``None``
            or ``""``: not given.
        default_experiment: the experiment when neither a name nor ``MLFLOW_EXPERIMENT_*`` is given.
        environ: the environment (default ``os.environ``).

    Returns:
        The :class:`TrackingSettings`.
    """
    env = os.environ if environ is None else environ
    sources: dict[str, str] = {}

    def pick(key: str, explicit: str | None, var: str, default: str | None) -> str | None:
        if explicit:
            sources[key] = "flag"
            return explicit
        if env.get(var):
            sources[key] = var
            return env[var]
        sources[key] = "default"
        return default

    uri = pick("tracking_uri", tracking_uri, "MLFLOW_TRACKING_URI", DEFAULT_TRACKING_URI)
    registry = pick("registry_uri", registry_uri, "MLFLOW_REGISTRY_URI", None)
    experiment_id = env.get("MLFLOW_EXPERIMENT_ID") or None
    if experiment_id:
        sources["experiment_id"] = "MLFLOW_EXPERIMENT_ID"
    # MLflow: a name (explicit, then MLFLOW_EXPERIMENT_NAME) wins over MLFLOW_EXPERIMENT_ID
    fallback = None if experiment_id else default_experiment
    name = pick("experiment_name", experiment_name, "MLFLOW_EXPERIMENT_NAME", fallback)
    if experiment_name:
        experiment_id = None  # an explicit name: the environment's id is not checked against it
    run_id = env.get("MLFLOW_RUN_ID") or None
    if run_id:
        sources["run_id"] = "MLFLOW_RUN_ID"
    return TrackingSettings(uri or DEFAULT_TRACKING_URI, registry, name, experiment_id, run_id, sources)


def open_experiment(settings: TrackingSettings, artifact_location: str | None = None) -> tuple[str, str]:
    """The experiment of ``settings`` in the current tracking store, created when named and missing.

    Call it with ``settings.tracking_uri`` set as MLflow's tracking URI.

    Args:
        settings: from :func:`resolve_settings`.
        artifact_location: where a new experiment keeps its artifacts (``None``: the store's default).

    Returns:
        ``(experiment_id, experiment_name)``.

    Raises:
        ValueError: ``MLFLOW_EXPERIMENT_ID`` names no experiment, or another one than the name does.
    """
    import mlflow

    client = mlflow.tracking.MlflowClient()
    if settings.run_id:
        experiment_id = client.get_run(settings.run_id).info.experiment_id
        return experiment_id, client.get_experiment(experiment_id).name
    if settings.experiment_name is not None:
        found = mlflow.get_experiment_by_name(settings.experiment_name)
        if found is None:
            created = mlflow.create_experiment(
                settings.experiment_name, artifact_location=artifact_location, tags=EXPERIMENT_TAGS
            )
            return created, settings.experiment_name
        if settings.experiment_id and settings.experiment_id != found.experiment_id:
            raise ValueError(
                f"MLFLOW_EXPERIMENT_ID={settings.experiment_id} does not match the id {found.experiment_id} of "
                f"experiment {settings.experiment_name!r}; unset one of MLFLOW_EXPERIMENT_ID / MLFLOW_EXPERIMENT_NAME"
            )
        return found.experiment_id, found.name
    try:
        found = client.get_experiment(str(settings.experiment_id))
    except Exception as err:
        raise ValueError(
            f"MLFLOW_EXPERIMENT_ID={settings.experiment_id} is not an experiment of "
            f"{redact_uri(settings.tracking_uri)}; set it to an existing id, or use MLFLOW_EXPERIMENT_NAME"
        ) from err
    return found.experiment_id, found.name


@contextlib.contextmanager
def use_settings(settings: TrackingSettings) -> Iterator[None]:
    """MLflow's tracking (and registry) URI set to ``settings``' inside the block, the previous ones after."""
    import mlflow

    from sparktag.tracking import mlflow_private

    # None when the user never set one: restoring None brings MLflow's default (which follows the cwd) back
    previous = mlflow.get_tracking_uri() if mlflow.is_tracking_uri_set() else None
    # set_registry_uri also exports MLFLOW_REGISTRY_URI (for subprocesses): both are put back after
    previous_registry = (mlflow_private.registry_uri_set(), os.environ.get("MLFLOW_REGISTRY_URI"))
    mlflow.set_tracking_uri(settings.tracking_uri)
    if settings.registry_uri:
        mlflow.set_registry_uri(settings.registry_uri)
    try:
        yield
    finally:
        mlflow.set_tracking_uri(previous)  # type: ignore[arg-type]
        if settings.registry_uri:
            mlflow_private.restore_registry_uri(previous_registry[0])
            os.environ.pop("MLFLOW_REGISTRY_URI", None)
            if previous_registry[1] is not None:
                os.environ["MLFLOW_REGISTRY_URI"] = previous_registry[1]

"""``sparktag.mlflow.autolog()``: MLflow autologging of NerDLApproach training, built like ``mlflow.<flavor>``.

It is an MLflow autologging integration named ``sparktag`` (``autologging_integration``), and its patches are
MLflow's ``safe_patch``es of ``NerDLApproach._fit`` and ``Pipeline._fit``, so MLflow's own rules apply as they
do to ``mlflow.sklearn`` or ``mlflow.pytorch``: ``disable``, ``exclusive`` (no logging into a run the user
started), ``silent``, an error in the tracking code never fails the fit, and
``mlflow.utils.autologging_utils.disable_autologging()`` turns it off for a block.

Inside a patched ``NerDLApproach._fit`` the listener factory registered in
:data:`sparktag.spark.ner_dl.LISTENER_FACTORIES` hands the trainer an
:class:`~sparktag.tracking.listener.MlflowListener` (params, live per-epoch metrics, charts, training log, tags,
outage handling, run resume from checkpoints: see :mod:`sparktag.tracking.listener`). After a patched
``Pipeline._fit`` that trained a NerDLApproach, the fitted ``PipelineModel`` is logged into the same run with
sparktag's MLflow flavor (``log_models``), and its training DataFrame as a dataset input (``log_datasets``, with
or without ``log_models``, as in MLflow's flavors).

``mlflow.autolog()`` knows only the integrations listed inside MLflow, so it never calls this one; sparktag
reads the settings ``mlflow.autolog`` stores instead: ``mlflow.autolog(disable=True)`` called after
``sparktag.mlflow.autolog()`` turns sparktag's autologging off as well.

    >>> import sparktag.mlflow
    >>> sparktag.mlflow.autolog()  # doctest: +SKIP
    >>> model = pipeline.fit(train_df)  # params, per-epoch metrics, charts, log file, the model  # doctest: +SKIP
"""

from __future__ import annotations

import contextlib
import contextvars
import functools
import inspect
import logging
from collections.abc import Callable, Iterator
from dataclasses import replace
from typing import Any

from sparktag.tracking.autolog_config import INTEGRATION, AutologConfig
from sparktag.tracking.listener import MlflowListener

logger = logging.getLogger("sparktag.tracking")

#: The versions of the libraries whose internals autologging patches (pyspark's ``Pipeline._fit``) or calls
#: (MLflow's autologging machinery) that it is tested with, inclusive: the lowest are what ``make test-lowest``
#: runs, the highest what CI runs (constraints.txt); "4.3" is every 4.3.x. Outside them
#: ``autolog`` warns, or with ``disable_for_unsupported_versions=True`` stays off.
SUPPORTED_VERSIONS: dict[str, tuple[str, str]] = {"pyspark": ("3.5", "4.3"), "mlflow": ("3.12", "3.17")}

_config: AutologConfig | None = None  # the settings of the latest call that turned autologging on
_mlflow_settings_seen: object = None  # mlflow.autolog's stored settings when sparktag's autolog last ran
_last_listener: MlflowListener | None = None
# The settings of the NerDLApproach._fit running now in this thread/context (None: not autologged)
_fit_config: contextvars.ContextVar[AutologConfig | None] = contextvars.ContextVar(
    "sparktag_fit", default=None
)
# The listeners of the outermost autologged Pipeline._fit running now (None: none running)
_pipeline_listeners: contextvars.ContextVar[list[MlflowListener] | None] = contextvars.ContextVar(
    "sparktag_pipeline", default=None
)

__all__ = ["SUPPORTED_VERSIONS", "autolog", "autologging", "last_listener", "unsupported_versions"]


def autolog(
    log_models: bool = True,
    log_datasets: bool = True,
    log_input_examples: bool = False,
    log_model_signatures: bool = True,
    disable: bool = False,
    exclusive: bool = False,
    disable_for_unsupported_versions: bool = False,
    silent: bool = False,
    registered_model_name: str | None = None,
    extra_tags: dict[str, str] | None = None,
    log_charts: bool = True,
    pending_dir: str | None = None,
) -> None:
    """Turn MLflow autologging of every ``NerDLApproach`` fit on (or off), as ``mlflow.<flavor>.autolog()``.

    Every fit then logs its params, per-epoch metrics (live, step = epoch), charts, training log and
    environment tags; a ``Pipeline.fit`` holding the approach also logs the fitted pipeline as a model.

    Args:
        log_models: log the fitted ``PipelineModel`` (when the approach is fit inside a ``Pipeline``) with
            sparktag's MLflow flavor, as ``model`` in the same run. A NerDLApproach fit on its own logs no
            model: a lone NerDLModel cannot run on text (log one with ``sparktag.mlflow.log_model``).
        log_datasets: log the ``Pipeline.fit`` DataFrame as the run's ``train`` input (whether or not
            ``log_models`` logs the model).
        log_input_examples: save up to 5 texts of the training DataFrame as the logged model's input example
            (otherwise the model has none).
        log_model_signatures: give the logged model its signature (``text`` in, the entity table out).
        disable: turn autologging off (and undo the patches).
        exclusive: do not log into a run the user started (``with mlflow.start_run():``); only runs
            autologging opens itself get its data.
        disable_for_unsupported_versions: stay off when pyspark or MLflow is outside
            :data:`SUPPORTED_VERSIONS` (otherwise autologging warns and runs).
        silent: no event logs or warnings from MLflow or sparktag during setup and training; what could not
            be logged still goes to the pending file.
        registered_model_name: register the logged model under this name (a new version per fit).
        extra_tags: tags for the run autologging opens (besides ``mlflow.autologging=sparktag``).
        log_charts: log the training charts as PNG artifacts (``charts/``).
        pending_dir: where to write what could not be logged (default: the approach's ``outputLogsPath``,
            else ``./mlflow_pending``).

    Calling it again replaces the settings. ``mlflow.autolog(disable=True)`` called afterwards turns it off.
    """
    if extra_tags is not None and not isinstance(extra_tags, dict):  # checked before MLflow stores it
        raise TypeError(
            f"autolog(extra_tags=...) takes a dict of tag names to values, not {type(extra_tags).__name__}"
        )
    settings = {name: value for name, value in locals().items() if name in _SETTINGS}
    _integration()(**settings)
    if disable:
        _turn_off()  # MLflow's wrapper returns before calling the integration when disabling


_SETTINGS = tuple(inspect.signature(autolog).parameters)


def _turn_off() -> None:
    """Forget the settings and unregister the listener factory (MLflow has reverted the patches)."""
    global _config
    from sparktag.spark import ner_dl

    _config = None
    # Unregistered, so the next autolog() appends it after any listener factory registered meanwhile
    with contextlib.suppress(ValueError):
        ner_dl.LISTENER_FACTORIES.remove(_factory)


@functools.cache
def _integration() -> Callable[..., None]:
    """The MLflow integration ``sparktag``: built on the first call, so ``import sparktag`` loads no MLflow."""
    from mlflow.utils.autologging_utils import autologging_integration

    return autologging_integration(INTEGRATION)(_autolog)  # type: ignore[no-any-return]


def _autolog(
    log_models: bool = True,
    log_datasets: bool = True,
    log_input_examples: bool = False,
    log_model_signatures: bool = True,
    disable: bool = False,
    exclusive: bool = False,
    disable_for_unsupported_versions: bool = False,
    silent: bool = False,
    registered_model_name: str | None = None,
    extra_tags: dict[str, str] | None = None,
    log_charts: bool = True,
    pending_dir: str | None = None,
) -> None:
    """The body of :func:`autolog` that MLflow's ``autologging_integration`` wraps and keeps the settings of
    (``disable``, ``exclusive``, ``silent`` are read by ``safe_patch`` at every patched call)."""
    global _config, _mlflow_settings_seen
    from mlflow.utils.autologging_utils import AUTOLOGGING_INTEGRATIONS, safe_patch
    from pyspark.ml import Pipeline

    from sparktag.spark import ner_dl

    outside = unsupported_versions()
    if outside:
        found = ", ".join(f"{name} {version}" for name, version in outside.items())
        tested = ", ".join(f"{name} {low}..{high}" for name, (low, high) in SUPPORTED_VERSIONS.items())
        if disable_for_unsupported_versions:
            _turn_off()
            if not silent:
                logger.warning("sparktag autologging stays off: %s is outside the tested %s", found, tested)
            return
        if not silent:
            logger.warning(
                "sparktag autologging is tested with %s, not %s: if it fails, use a tested version",
                tested,
                found,
            )
    _config = AutologConfig(
        log_models=log_models,
        log_datasets=log_datasets,
        log_input_examples=log_input_examples,
        log_model_signatures=log_model_signatures,
        registered_model_name=registered_model_name,
        extra_tags={str(k): str(v) for k, v in (extra_tags or {}).items()},
        silent=silent,
        log_charts=log_charts,
        pending_dir=pending_dir,
    )
    _mlflow_settings_seen = AUTOLOGGING_INTEGRATIONS.get("mlflow")
    if _factory not in ner_dl.LISTENER_FACTORIES:
        ner_dl.LISTENER_FACTORIES.append(_factory)
    # _fit, not fit: NerDLApproach and Pipeline define _fit themselves, while fit is Estimator's, which
    # mlflow.pyspark.ml.autolog patches; both integrations then stay on whatever order they were enabled in.
    safe_patch(INTEGRATION, ner_dl.NerDLApproach, "_fit", _patched_approach_fit)
    safe_patch(INTEGRATION, Pipeline, "_fit", _patched_pipeline_fit)


def unsupported_versions() -> dict[str, str]:
    """``{package: installed version}`` of each package of :data:`SUPPORTED_VERSIONS` outside its range."""
    from importlib.metadata import PackageNotFoundError, version

    from packaging.version import Version

    outside = {}
    for package, (low, high) in SUPPORTED_VERSIONS.items():
        try:
            installed = Version(version(package))
        except PackageNotFoundError:
            continue
        release = Version(installed.base_version).release
        top = Version(high).release
        if Version(installed.base_version) < Version(low) or release[: len(top)] > top:
            outside[package] = str(installed)
    return outside


def _disabled_by_mlflow_autolog() -> bool:
    """Whether ``mlflow.autolog(disable=True)`` was called after sparktag's autolog (and did not exclude it).

    ``mlflow.autolog`` reaches only the integrations MLflow lists (``mlflow.sklearn``, ``mlflow.pyspark.ml``,
    ...), but it is itself an autologging integration (``mlflow``) whose settings MLflow keeps: a new call
    stores a new settings dict, so "a different one than when sparktag was set up" means "called since".
    """
    from mlflow.utils.autologging_utils import AUTOLOGGING_INTEGRATIONS

    settings = AUTOLOGGING_INTEGRATIONS.get("mlflow")
    if settings is None or settings is _mlflow_settings_seen or not settings.get("disable", False):
        return False
    return INTEGRATION not in (settings.get("exclude_flavors") or ())


@contextlib.contextmanager
def autologging(*, offline_reason: str | None = None, **settings: Any) -> Iterator[None]:
    """Autologging on with ``settings`` (as :func:`autolog`'s) inside the block; the previous state after.

    Unlike :func:`autolog`, ``log_models`` and ``log_datasets`` are False unless given: the callers of this
    block (``run_experiment``, the benchmarks) log their model and datasets themselves.

    Args:
        offline_reason: the tracking server is known to be unreachable (why): the fits inside the block do
            not contact MLflow at all and write everything to the pending file.
        settings: :func:`autolog`'s.
    """
    global _config
    settings.setdefault("log_models", False)
    settings.setdefault("log_datasets", False)
    before = _current_settings()
    autolog(**settings)
    if offline_reason is not None and _config is not None:
        _config = replace(_config, offline_reason=offline_reason)
    try:
        yield
    finally:
        if before is None:
            autolog(disable=True)
        else:
            autolog(**before)


def _current_settings() -> dict[str, Any] | None:
    """The settings autologging is on with now (as :func:`autolog` takes them), or None when it is off
    (never turned on, turned off through ``disable``, or by a later ``mlflow.autolog(disable=True)``)."""
    from mlflow.utils.autologging_utils import AUTOLOGGING_INTEGRATIONS, autologging_is_disabled

    if _config is None or autologging_is_disabled(INTEGRATION) or _disabled_by_mlflow_autolog():
        return None

    stored = AUTOLOGGING_INTEGRATIONS.get(INTEGRATION) or {}
    return {name: stored[name] for name in _SETTINGS if name in stored}


def last_listener() -> MlflowListener | None:
    """The listener of the latest autologged fit (its ``run_id``, ``errors``, ``pending_file``)."""
    return _last_listener


def _factory(approach: Any) -> MlflowListener | None:
    """The MLflow listener of ``approach``'s training, when it runs inside an autologged ``_fit``."""
    global _last_listener
    config = _fit_config.get()
    if config is None:
        return None
    listener = MlflowListener(approach, config)
    _last_listener = listener
    pipeline_listeners = _pipeline_listeners.get()
    if pipeline_listeners is not None:
        pipeline_listeners.append(listener)
    return listener


# ---------------------------------------------------------------------------------------------------------
# The patches (safe_patch calls them with the original method first; it has checked disable and exclusive)


def _patched_approach_fit(original: Callable[..., Any], self: Any, dataset: Any) -> Any:
    config = _config
    if config is None or _disabled_by_mlflow_autolog():
        return original(self, dataset)
    token = _fit_config.set(config)  # the factory gives this fit's trainer a listener
    try:
        return original(self, dataset)
    finally:
        _fit_config.reset(token)


def _patched_pipeline_fit(original: Callable[..., Any], self: Any, dataset: Any) -> Any:
    config = _config
    if config is None or _disabled_by_mlflow_autolog() or _pipeline_listeners.get() is not None:
        return original(self, dataset)  # a pipeline inside a pipeline: the outermost one logs the model
    listeners: list[MlflowListener] = []
    token = _pipeline_listeners.set(listeners)
    try:
        model = original(self, dataset)
    finally:
        _pipeline_listeners.reset(token)
    if (config.log_models or config.log_datasets) and listeners:
        _log_fitted_pipeline(self, model, dataset, listeners[-1], config)
    return model


def _log_fitted_pipeline(
    pipeline: Any, model: Any, dataset: Any, listener: MlflowListener, config: AutologConfig
) -> None:
    """Log the fitted pipeline (``log_models``) and its training DataFrame (``log_datasets``) into the run the
    listener logged to."""
    if listener.offline or listener.run_id is None:
        return
    import mlflow

    def log() -> None:
        from mlflow.data.spark_dataset import from_spark

        from sparktag.tracking import flavor

        active = mlflow.active_run()
        with contextlib.ExitStack() as stack:
            if active is None or active.info.run_id != listener.run_id:
                stack.enter_context(mlflow.start_run(run_id=listener.run_id))
            # Beside mlflow.pyspark.ml.autolog, that integration has logged the DataFrame already
            if config.log_datasets and listener.foreign_autolog is None:
                mlflow.log_input(from_spark(dataset, name="train"), context="training")
            if config.log_models:
                flavor.log_model(
                    model,
                    "model",
                    registered_model_name=config.registered_model_name,
                    input_example=_input_example(pipeline, dataset) if config.log_input_examples else False,
                    signature=None if config.log_model_signatures else False,  # None: the flavor's signature
                )

    listener._call("model" if config.log_models else "dataset", log)


def _input_example(pipeline: Any, dataset: Any, rows: int = 5) -> Any:
    """Up to ``rows`` texts of the column the pipeline's first stage reads, as the flavor's input frame; None
    (the flavor's one-sentence example) when that column is not a column of ``dataset``."""
    import pandas as pd

    from sparktag.tracking.signature import INPUT_COLUMN

    stages = pipeline.getStages()
    first = stages[0] if stages else None
    column = first.getOrDefault("inputCol") if first is not None and first.hasParam("inputCol") else None
    if not column or column not in dataset.columns:
        return None
    texts = [row[0] for row in dataset.select(column).limit(rows).collect() if isinstance(row[0], str)]
    return pd.DataFrame({INPUT_COLUMN: texts}) if texts else None

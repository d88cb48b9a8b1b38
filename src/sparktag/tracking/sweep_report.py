"""The end of a sweep: the parent run's summary, Optuna's plots, the registered champion and its test score."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sparktag.tracking.sweep_config import SweepConfig
from sparktag.tracking.sweep_trials import STUDY_TAG, TRIAL_NUMBER_TAG

if TYPE_CHECKING:
    from sparktag.tracking.sweep import SweepResult

Echo = Callable[[str], None]


def finish_sweep(study: Any, config: SweepConfig, plan_path: Path, result: SweepResult, say: Echo) -> None:
    """Log the study's outcome into the parent run and register its champion (see :mod:`sparktag.tracking.sweep`).

    Fills ``result``; a step that fails (a plot, the registry) is noted in ``result.notes``, never raised, so
    the trials' runs and the parent's other records stay.
    """
    import mlflow

    from sparktag.tracking.sweep_study import trial_counts, write_plots

    client = mlflow.tracking.MlflowClient()
    parent = result.parent_run_id
    result.counts = trial_counts(study)
    for state, count in result.counts.items():
        client.log_metric(parent, f"trials_{state}", count)
    out = Path(result.output_dir)
    written, skipped = write_plots(study, out / "charts")
    for path in written:
        client.log_artifact(parent, str(path), "charts")
    result.notes += [f"plot {name} not drawn: {why}" for name, why in skipped.items()]
    best = _best_trial(study)
    if best is None:
        result.notes.append("no trial completed: nothing to register")
        _summary(result, config, say)
        return
    result.best_trial, result.best_value, result.best_params = best.number, best.value, dict(best.params)
    client.log_metric(parent, f"best_validation_{config.metric}", float(best.value))
    client.log_metric(parent, "best_trial", best.number)
    client.set_tag(parent, "sparktag.best_trial_run", best.user_attrs.get("mlflow_run_id", ""))
    for name, value in best.params.items():
        client.set_tag(parent, f"best.{name}", str(value))
    client.log_text(parent, json.dumps({"trial": best.number, "value": best.value, "params": best.params},
                                       indent=1), "best_params.json")  # fmt: skip
    model_uri = _champion_model(best, config, plan_path, result, say)
    if model_uri is None:
        _summary(result, config, say)
        return
    result.model_uri = model_uri
    if config.model_name:
        _register(client, model_uri, config, best, result)
    _score_champion(client, config, model_uri, result, say)
    _summary(result, config, say)


def _best_trial(study: Any) -> Any:
    from optuna.trial import TrialState

    complete = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
    return max(complete, key=lambda t: (t.value, -t.number)) if complete else None


def _champion_model(
    best: Any, config: SweepConfig, plan_path: Path, result: SweepResult, say: Echo
) -> str | None:
    """The champion's logged model: the best trial's, or the best params retrained on all training data."""
    if not config.retrain:
        uri = best.user_attrs.get("model_uri")
        if uri is None:
            result.notes.append(f"trial {best.number} is the best but logged no model (its worker died while "
                                "logging it?); run the sweep again to retry")  # fmt: skip
        return uri
    say(f"retraining trial {best.number}'s params on all the training data...")
    command = [sys.executable, "-m", "sparktag.tracking.sweep_trials", str(plan_path), "0", "retrain"]
    log = Path(result.output_dir) / "workers" / "retrain.log"
    with open(log, "wb") as stream:
        done = subprocess.run(command, stdout=subprocess.PIPE, stderr=stream, check=False)
    lines = [
        line for line in done.stdout.decode(errors="replace").splitlines() if line.startswith('{"model_uri"')
    ]
    if done.returncode != 0 or not lines:
        result.notes.append(f"retraining failed (exit code {done.returncode}); see {log}")
        return None
    return str(json.loads(lines[-1])["model_uri"])


def _register(client: Any, model_uri: str, config: SweepConfig, best: Any, result: SweepResult) -> None:
    """Register the champion and point ``alias`` at it, unless the alias is on that very model already."""
    import mlflow

    name, alias = config.model_name, config.alias
    assert name is not None
    try:
        current = client.get_model_version_by_alias(name, alias)
    except Exception:
        current = None
    if current is not None and current.tags.get("sparktag.model_uri") == model_uri:
        version = current.version  # a re-run of a finished sweep: the champion is registered already
    else:
        try:
            registered = mlflow.register_model(model_uri, name, tags={
                STUDY_TAG: config.study_name, TRIAL_NUMBER_TAG: str(best.number), "sparktag.model_uri": model_uri})  # fmt: skip
            version = registered.version
            if alias:
                client.set_registered_model_alias(name, alias, version)
        except Exception as err:
            result.notes.append(f"registering {model_uri} as {name!r} failed: {type(err).__name__}: {err}")
            return
    result.model_version = str(version)
    result.model_uri = f"models:/{name}@{alias}" if alias else f"models:/{name}/{version}"
    client.set_tag(result.parent_run_id, "sparktag.champion", result.model_uri)


def _score_champion(client: Any, config: SweepConfig, model_uri: str, result: SweepResult, say: Echo) -> None:
    """The champion on the experiment's test set, once: ``test_*`` metrics and reports in the parent run."""
    import mlflow

    from sparktag.tracking.evaluation import evaluate_model

    out = Path(result.output_dir) / "champion_test"
    try:
        evaluated = evaluate_model(model_uri, config.experiment.test_path, output_dir=str(out), track=False,
                                   tracking_uri=mlflow.get_tracking_uri(), echo=None)  # fmt: skip
    except Exception as err:
        result.notes.append(f"scoring the champion on {config.experiment.test_path} failed: {err}")
        return
    result.test_scores = {k.replace("final_", "test_", 1): v for k, v in evaluated.scores.items()
                          if k.startswith("final_entity") or k == "final_tag_accuracy"}  # fmt: skip
    for key, value in result.test_scores.items():
        client.log_metric(result.parent_run_id, key, value)
    for file in sorted(os.listdir(out)):
        if (out / file).is_file():
            client.log_artifact(result.parent_run_id, str(out / file), "champion_test")
    say(f"champion on the test set ({config.experiment.test_path}): entity micro F1 "
        f"{result.test_scores.get('test_entity_micro_f1', 0):.4f}")  # fmt: skip


def _summary(result: SweepResult, config: SweepConfig, say: Echo) -> None:
    counts = result.counts
    say("")
    say(f"study            {result.study_name}")
    say(f"parent run       {result.parent_run_id}")
    say(f"trials           {counts.get('complete', 0)} complete, {counts.get('pruned', 0)} pruned, "
        f"{counts.get('fail', 0)} failed, {counts.get('running', 0)} running elsewhere")  # fmt: skip
    if result.best_trial is not None:
        say(f"best trial       {result.best_trial}: validation {config.metric} {result.best_value:.4f}")
        say(f"best params      {json.dumps(result.best_params)}")
    say(
        f"champion         {result.model_uri or '-'}"
        + (f" (version {result.model_version})" if result.model_version else "")
    )
    say(f"output folder    {result.output_dir}")
    for note in result.notes:
        say(f"NOTE: {note}")

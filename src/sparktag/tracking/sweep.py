"""Hyperparameter sweeps as nested MLflow runs: :func:`sweep` (``sparktag sweep``).

One sweep is one Optuna study and one MLflow parent run. The command

1. checks the data, opens (or resumes) the study in its storage beside the MLflow store
   (:mod:`~sparktag.tracking.sweep_storage`) and the parent run, which logs the search space;
2. starts ``workers`` processes (:mod:`~sparktag.tracking.sweep_trials`); each runs trials, one nested MLflow run
   each, with ``cores // workers`` torch threads and Spark cores, until ``n_trials`` trials completed or were
   pruned (more machines join by running the same command against the same stores);
3. when its workers are done, logs into the parent run the best trial's params and validation score, the trial
   counts and Optuna's plots, registers the best trial's model (retrained on all the training data when
   ``retrain``) under ``model_name`` with ``alias``, and scores that champion once on the experiment's test
   set (the only time a sweep reads the test set).

Running the command again continues the study: finished trials stay, a trial whose worker was killed is
failed and its params are run again, and the parent run is reopened.

    >>> from sparktag.tracking.sweep import sweep
    >>> from sparktag.tracking.sweep_config import SweepConfig
    >>> result = sweep(SweepConfig.from_file("examples/sweep.toml"), workers=2)  # doctest: +SKIP
    >>> result.model_uri  # doctest: +SKIP
    'models:/sparktag-sample@champion'
"""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sparktag.tracking.redact import redact_params, redact_uri
from sparktag.tracking.sweep_config import SweepConfig
from sparktag.tracking.sweep_trials import PLAN_FILE, STUDY_TAG, Plan

Echo = Callable[[str], None]
PARENT_ATTR = "mlflow_parent_run_id"  # the study's user attribute naming its MLflow parent run


@dataclass
class SweepResult:
    """What a sweep ended with; ``best_*`` are ``None`` when no trial completed."""

    study_name: str
    parent_run_id: str
    experiment_id: str
    output_dir: str
    counts: dict[str, int]
    best_trial: int | None = None
    best_value: float | None = None
    best_params: dict[str, Any] = field(default_factory=dict)
    model_uri: str | None = None  # models:/NAME@alias when registered, else the best trial's logged model
    model_version: str | None = None
    test_scores: dict[str, float] = field(default_factory=dict)
    worker_exits: list[int] = field(default_factory=list)  # each local worker's exit code (-9: killed)
    notes: list[str] = field(default_factory=list)  # what did not work out (a plot, a dead worker)


def _print(line: str) -> None:
    print(line, flush=True)


def sweep(config: SweepConfig, *, workers: int = 1, echo: Echo | None = _print) -> SweepResult:
    """Run (or continue, or join) the sweep of ``config`` with ``workers`` local processes (see the module doc).

    Raises:
        FileNotFoundError, ValueError: unreadable data or embeddings, before anything starts.
        RuntimeError: the Optuna storage or the MLflow store cannot be reached.
    """
    import mlflow

    from sparktag.tracking.preflight import check_config
    from sparktag.tracking.settings import open_experiment, resolve_settings, use_settings
    from sparktag.tracking.sweep_storage import open_storage, prepare_storage, storage_url
    from sparktag.tracking.sweep_study import open_study, trial_counts
    from sparktag.tracking.sweep_trials import fail_and_retry, machine_cores

    say = echo or (lambda _line: None)
    if workers < 1:
        raise ValueError(f"workers must be at least 1; got {workers}")
    experiment = config.experiment
    check_config(experiment)
    out = Path(config.output_dir).resolve()
    out.mkdir(parents=True, exist_ok=True)
    settings = resolve_settings(experiment.tracking_uri, experiment.experiment_name, experiment.registry_uri)
    storage = config.storage or storage_url(settings.tracking_uri, str(out))
    prepare_storage(storage)
    with use_settings(settings):
        experiment_id, experiment_name = open_experiment(settings, experiment.artifact_location)
        study = open_study(config, open_storage(storage, config.heartbeat_s, fail_and_retry))
        if not study.trials:  # a new study: the trusted points first
            for point in config.enqueue:
                study.enqueue_trial(point)
        parent_run_id = _open_parent_run(study, config, experiment_id, storage)
        say(f"sweep {config.study_name!r}: MLflow parent run {parent_run_id} in experiment {experiment_name!r} "
            f"({redact_uri(settings.tracking_uri)}), Optuna storage {redact_uri(storage)}")  # fmt: skip
        threads = max(1, machine_cores() // workers)
        deadline = time.time() + config.timeout_s if config.timeout_s > 0 else None
        plan = Plan(config.to_dict(), storage, parent_run_id, experiment_id, settings.tracking_uri,
                    settings.registry_uri, threads, deadline)  # fmt: skip
        plan_path = out / PLAN_FILE
        plan.write(plan_path)
        counts = trial_counts(study)
        if (
            counts["complete"] + counts["pruned"] >= config.n_trials
            and not counts["running"] + counts["waiting"]
        ):
            say(f"the study has its {config.n_trials} trials already: no worker started")
            exits: list[int] = []
        else:
            say(
                f"{workers} worker(s), {threads} thread(s) each; {config.n_trials} trials, logs in {out / 'workers'}"
            )
            if workers > 1 and not any(name.startswith("embeddings") for name in config.space):
                _embed_first(plan_path, out / "workers", say)
            exits = _run_workers(plan_path, workers, threads, out / "workers", study, say)
        result = SweepResult(
            config.study_name, parent_run_id, experiment_id, str(out), {}, worker_exits=exits
        )
        result.notes += [f"worker {i} ended with exit code {code} (its trial is retried by the others or the "
                         "next run of this command)" for i, code in enumerate(exits) if code != 0]  # fmt: skip
        from sparktag.tracking.sweep_report import finish_sweep

        finish_sweep(study, config, plan_path, result, say)
        mlflow.tracking.MlflowClient().set_terminated(parent_run_id, "FINISHED")
    return result


def _open_parent_run(study: Any, config: SweepConfig, experiment_id: str, storage: str) -> str:
    """The study's MLflow parent run, reopened (RUNNING) when it exists, else created and given the space."""
    import mlflow

    client = mlflow.tracking.MlflowClient()
    run_id = study.user_attrs.get(PARENT_ATTR)
    if run_id:
        try:
            client.get_run(run_id)
            client.update_run(run_id, status="RUNNING")
            return str(run_id)
        except Exception:
            run_id = None  # the study outlived its run (another store, a deleted run): start a new one
    run = client.create_run(experiment_id, run_name=config.study_name,
                            tags={STUDY_TAG: config.study_name, "sparktag.sweep": "parent"})  # fmt: skip
    run_id = run.info.run_id
    study.set_user_attr(PARENT_ATTR, run_id)
    params = {
        "study_name": config.study_name,
        "sampler": config.sampler,
        "pruner": config.pruner,
        "n_trials": config.n_trials,
        "metric": f"validation_{config.metric}",
        "retrain": config.retrain,
        "optuna_storage": storage,
        "train_path": os.path.abspath(config.experiment.train_path),
        "embeddings": config.experiment.embeddings,
        **{f"space.{name}": dim.describe() for name, dim in config.space.items()},
    }
    for key, value in redact_params({k: str(v) for k, v in params.items()}).items():
        client.log_param(run_id, key, value)
    client.log_text(
        run_id, json.dumps(redact_params(_redacted_config(config)), indent=1), "sweep_config.json"
    )
    return str(run_id)


def _redacted_config(config: SweepConfig) -> dict[str, Any]:
    values = config.to_dict()
    values["experiment"] = redact_params(values["experiment"])
    values["storage"] = redact_uri(values["storage"] or "")
    return values


def _embed_first(plan_path: Path, logs: Path, say: Echo) -> None:
    """Embed the training data once with every core before the workers start (each has only its share of
    the cores; the first to need the embeddings would compute them alone). A failure is left to the workers."""
    logs.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    command = [sys.executable, "-m", "sparktag.tracking.sweep_trials", str(plan_path), "0", "embed"]
    with open(logs / "embed.log", "wb") as log:
        done = subprocess.run(command, stdout=log, stderr=subprocess.STDOUT, check=False)
    if done.returncode == 0:
        say(f"training data embedded in {time.perf_counter() - started:.0f}s (shared by the workers)")
    else:
        say(f"embedding ahead of the workers failed (exit code {done.returncode}, see {logs / 'embed.log'}); "
            "the workers embed it themselves")  # fmt: skip


def _run_workers(plan_path: Path, workers: int, threads: int, logs: Path, study: Any, say: Echo) -> list[int]:
    """Start the worker processes, print each trial as it ends, wait for all; their exit codes."""
    logs.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "OMP_NUM_THREADS": str(threads), "MKL_NUM_THREADS": str(threads)}
    processes = []
    for worker in range(workers):
        log = open(logs / f"worker-{worker}.log", "ab")  # noqa: SIM115 (closed below, after the process)
        command = [sys.executable, "-m", "sparktag.tracking.sweep_trials", str(plan_path), str(worker)]
        processes.append((subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env), log))
    seen = {t.number for t in study.get_trials(deepcopy=False) if t.state.is_finished()}  # print the new ones
    try:
        while any(p.poll() is None for p, _ in processes):
            _print_finished(study, seen, say)
            time.sleep(1.0)
    except KeyboardInterrupt:
        for process, _ in processes:
            process.terminate()
        raise
    finally:
        for process, log in processes:
            process.wait()
            log.close()
    _print_finished(study, seen, say)
    return [p.returncode for p, _ in processes]


def _print_finished(study: Any, seen: set[int], say: Echo) -> None:
    """One line per trial that ended since the last call."""
    from optuna.trial import TrialState

    for trial in study.get_trials(deepcopy=False):
        if trial.state == TrialState.RUNNING or trial.state == TrialState.WAITING or trial.number in seen:
            continue
        seen.add(trial.number)
        params = ", ".join(f"{k}={_short(v)}" for k, v in trial.params.items())
        if trial.state == TrialState.PRUNED and trial.value is not None:
            outcome = f"pruned after epoch {trial.last_step} ({trial.value:.4f})"
        elif trial.state == TrialState.COMPLETE:
            outcome = f"complete: {trial.value:.4f}"
        else:
            outcome = "failed"
        say(f"trial {trial.number:>3} {outcome}  {params}  {_duration(trial)}")


def _duration(trial: Any) -> str:
    if trial.datetime_start is None or trial.datetime_complete is None:
        return ""
    return f"{(trial.datetime_complete - trial.datetime_start).total_seconds():.0f}s"


def _short(value: Any) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def apply_overrides(config: SweepConfig, overrides: dict[str, Any]) -> SweepConfig:
    """``config`` with ``overrides`` applied: sweep keys (``n_trials``), or ``experiment.KEY`` for the base
    experiment's (``experiment.tracking_uri``); ``None`` values are ignored."""
    given = {k: v for k, v in overrides.items() if v is not None}
    experiment = {k.partition(".")[2]: v for k, v in given.items() if k.startswith("experiment.")}
    own = {k: v for k, v in given.items() if not k.startswith("experiment.")}
    if experiment:
        own["experiment"] = config.experiment.with_overrides(experiment)
    return dataclasses.replace(config, **own) if own else config

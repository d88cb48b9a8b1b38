"""The trials of a sweep, in one worker process: ``python -m sparktag.tracking.sweep_trials PLAN WORKER``.

:func:`sparktag.tracking.sweep.sweep` starts the workers; each reads the sweep's plan (what the launcher
resolved: the study, its storage, the MLflow parent run, the thread budget), starts its own local Spark with
that many cores, and runs trials until the study's budget is met:

* the training data is read and embedded once per embeddings setting, then every trial fits only its
  NerDLApproach on the cached embeddings;
* each trial is an MLflow run nested under the parent (autologging logs its params and per-epoch metrics,
  as for any fit), tagged with its number and fate (``sparktag.trial_state``: COMPLETE, PRUNED or FAIL);
* after each epoch the validation score goes to Optuna; a trial the pruner judges hopeless stops after that
  epoch (:class:`~sparktag.ner.events.StopTraining`);
* a trial that beats every completed one logs its fitted pipeline as ``model`` in its run, so the best
  trial's model is in MLflow when the sweep ends, whichever worker ran it;
* a heartbeat marks the running trial alive; when a worker is killed, another worker (or the restarted
  command) fails its trial, ends its run FAILED and runs its params again.
"""

from __future__ import annotations

import dataclasses
import json
import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sparktag.ner.events import EpochEnded, Evaluation, StopTraining, TrainingEnded
from sparktag.tracking.sweep_config import SweepConfig

PLAN_FILE = "sweep_plan.json"
TRIAL_STATE_TAG = "sparktag.trial_state"
TRIAL_NUMBER_TAG = "sparktag.trial_number"
STUDY_TAG = "sparktag.study"
RETRAIN_RUN_NAME = "champion (retrained)"
RETRIES = 2  # a killed trial's params are tried this many more times


@dataclass
class Plan:
    """What the launcher resolved for its workers (``<output_dir>/sweep_plan.json``)."""

    sweep: dict[str, Any]  # SweepConfig.to_dict()
    storage: str
    parent_run_id: str
    experiment_id: str
    tracking_uri: str
    registry_uri: str | None
    threads: int  # torch threads and Spark cores of each worker
    deadline: float | None  # no trial starts after this (time.time()); None: no limit

    def write(self, path: Path) -> None:
        """Write it readable by this user only: the storage and tracking URIs may hold a password."""
        path.unlink(missing_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as stream:
            stream.write(json.dumps(dataclasses.asdict(self), indent=1))

    @classmethod
    def read(cls, path: str | os.PathLike[str]) -> Plan:
        return cls(**json.loads(Path(path).read_text(encoding="utf-8")))


def validation_score(evaluation: Evaluation, metric: str) -> float:
    """``entity_micro_f1`` and the like of one epoch's validation scores."""
    level, _, average = metric.partition("_")
    scores = evaluation.entity if level == "entity" else evaluation.token
    return float(getattr(scores, average))


class PruningListener:
    """Reports each epoch's validation score to the Optuna trial; stops training when the pruner says so."""

    def __init__(self, trial: Any, metric: str) -> None:
        self.trial, self.metric = trial, metric
        self.scores: dict[int, float] = {}  # epoch -> validation score
        self.best_epoch: int | None = None
        self.pruned_at: int | None = None

    def on_event(self, event: Any) -> None:
        if isinstance(event, EpochEnded) and event.validation is not None:
            value = validation_score(event.validation, self.metric)
            self.scores[event.epoch] = value
            self.trial.report(value, event.epoch)
            # after the last epoch there is nothing left to save: the trial is complete, never pruned
            if event.epoch < event.total_epochs and self.trial.should_prune():
                self.pruned_at = event.epoch
                raise StopTraining(f"pruned after epoch {event.epoch}: validation {self.metric} {value:.4f}")
        elif isinstance(event, TrainingEnded):
            self.best_epoch = event.best_epoch

    def value(self) -> float:
        """The score of the weights training kept: the best epoch's (``useBestModel``), else the last's."""
        if not self.scores:
            raise RuntimeError("the trial's training scored no validation data; is validationSplit 0?")
        epoch = self.best_epoch if self.best_epoch in self.scores else max(self.scores)
        return self.scores[epoch]


class TrialRunner:
    """Runs one trial after another in this process (see the module doc)."""

    def __init__(self, sweep: SweepConfig, plan: Plan, spark: Any) -> None:
        from sparktag.training import CoNLL

        self.sweep, self.plan, self.spark = sweep, plan, spark
        self.train_df = CoNLL().readDataset(spark, sweep.experiment.train_path).cache()
        self.embedded: dict[str, tuple[Any, Any]] = {}  # embeddings setting -> (fitted stages, embedded df)

    def objective(self, trial: Any) -> float:
        """One trial: its nested MLflow run, its fit, its validation score (Optuna's objective)."""
        import mlflow
        import optuna

        values = {name: dim.suggest(trial) for name, dim in self.sweep.space.items()}
        out = Path(self.sweep.output_dir).resolve() / "trials" / f"trial-{trial.number:04d}"
        config = self.sweep.trial_config(values, str(out))
        started = time.perf_counter()
        run = mlflow.start_run(
            experiment_id=self.plan.experiment_id,
            run_name=f"trial {trial.number}",
            parent_run_id=self.plan.parent_run_id,
            tags={TRIAL_NUMBER_TAG: str(trial.number), STUDY_TAG: self.sweep.study_name,
                  "sparktag.trial_params": json.dumps(values), "sparktag.worker_pid": str(os.getpid())},
        )  # fmt: skip
        trial.set_user_attr("mlflow_run_id", run.info.run_id)
        state, status = "FAIL", "FAILED"
        try:
            # the sampled values first, under their space names: a trial killed before training has them too
            mlflow.log_params({f"trial.{name}": value for name, value in values.items()})
            if config.embeddings_params:
                mlflow.log_params({f"embeddings.{k}": v for k, v in config.embeddings_params.items()})
            prefix, embedded = self._embedded(config)
            pruning = PruningListener(trial, self.sweep.metric)
            ner_model = self._fit(config, embedded, pruning)
            if pruning.pruned_at is not None:
                state, status = "PRUNED", "FINISHED"
                raise optuna.TrialPruned(f"validation {self.sweep.metric} after epoch {pruning.pruned_at}")
            value = pruning.value()
            mlflow.log_metric(f"trial_validation_{self.sweep.metric}", value)
            if _beats_completed(trial.study, value):
                self._log_model(trial, prefix, ner_model)
            state, status = "COMPLETE", "FINISHED"
            return value
        finally:
            mlflow.set_tag(TRIAL_STATE_TAG, state)
            mlflow.log_metric("trial_time_s", time.perf_counter() - started)
            mlflow.end_run(status)

    def retrain(self, values: dict[str, Any]) -> str:
        """Fit ``values`` on all the training data (no validation held out), log it in a nested run; its URI."""
        import mlflow

        out = Path(self.sweep.output_dir).resolve() / "champion"
        config = self.sweep.trial_config({**values, "validation_split": 0.0}, str(out))
        config.params.pop("validationSplit", None)
        with mlflow.start_run(experiment_id=self.plan.experiment_id, run_name=RETRAIN_RUN_NAME,
                              parent_run_id=self.plan.parent_run_id,
                              tags={STUDY_TAG: self.sweep.study_name, "sparktag.trial_params": json.dumps(values)}):  # fmt: skip
            prefix, embedded = self._embedded(config)
            ner_model = self._fit(config, embedded, None)
            return str(self._log_model(None, prefix, ner_model))

    def _embedded(self, config: Any) -> tuple[Any, Any]:
        """The fitted text + embeddings stages of ``config`` and the training data through them: embedded once
        per machine (:mod:`~sparktag.tracking.sweep_embeddings`), cached in this process."""
        from pyspark.ml import Pipeline

        from sparktag.tracking.sweep_embeddings import cache_key, shared_embedded
        from sparktag.tracking.training_pipeline import embedding_stages

        key = cache_key(config)
        if key not in self.embedded:
            prefix = Pipeline(stages=embedding_stages(config)).fit(self.train_df)
            folder = Path(self.sweep.output_dir).resolve() / "embedded"
            self.embedded[key] = (prefix, shared_embedded(self.train_df, prefix, folder, key))
        return self.embedded[key]

    def _fit(self, config: Any, embedded: Any, pruning: PruningListener | None) -> Any:
        import contextlib

        from sparktag.spark.ner_dl import listening
        from sparktag.tracking.autolog import autologging
        from sparktag.tracking.training_pipeline import ner_approach

        ner = ner_approach(config, str(Path(config.output_dir) / "logs"))
        if "numThreads" not in config.params:
            ner.setNumThreads(self.plan.threads)
        with autologging(silent=True), listening(pruning) if pruning else contextlib.nullcontext():
            return ner.fit(embedded)

    def _log_model(self, trial: Any, prefix: Any, ner_model: Any) -> str:
        """Log prefix + NER stage as the run's ``model``; its URI (also kept as the trial's ``model_uri``)."""
        import pandas as pd
        from pyspark.ml import PipelineModel

        from sparktag.tracking import flavor

        example = pd.DataFrame({"text": [r["text"] for r in self.train_df.select("text").limit(2).collect()]})
        info = flavor.log_model(
            PipelineModel(stages=[*prefix.stages, ner_model]), "model", input_example=example
        )
        if trial is not None:
            trial.set_user_attr("model_uri", info.model_uri)
        return str(info.model_uri)


def _beats_completed(study: Any, value: float) -> bool:
    from optuna.trial import TrialState

    done = [t.value for t in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))]
    return not done or value > max(v for v in done if v is not None)


def budget_left(study: Any, n_trials: int) -> bool:
    """Whether this worker should start another trial: fewer than ``n_trials`` completed, pruned or running, or
    a failed trial's retry waiting. Stale running trials (a killed worker's) are failed first."""
    import warnings

    import optuna
    from optuna.storages import fail_stale_trials
    from optuna.trial import TrialState

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        fail_stale_trials(study)
    counts = {state: 0 for state in TrialState}
    for trial in study.get_trials(deepcopy=False):
        counts[trial.state] += 1
    done = counts[TrialState.COMPLETE] + counts[TrialState.PRUNED]
    return counts[TrialState.WAITING] > 0 or done + counts[TrialState.RUNNING] < n_trials


def wait_for_others(study: Any, n_trials: int, heartbeat_s: int, deadline: float | None) -> bool:
    """With the budget taken by running trials, wait until they end or go stale (a killed worker's trial is
    then retried here): True when a trial should start, False when the study is done."""
    from optuna.trial import TrialState

    while True:
        if budget_left(study, n_trials):
            return True
        running = study.get_trials(deepcopy=False, states=(TrialState.RUNNING,))
        if not running or (deadline is not None and time.time() >= deadline):
            return False
        time.sleep(heartbeat_s)


def machine_cores() -> int:
    """The cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def run_worker(
    plan_path: str, worker: int, *, mode: str = "trials", echo: Callable[[str], None] = print
) -> int:
    """One worker process of a sweep.

    Args:
        plan_path: the launcher's :class:`Plan`.
        worker: this worker's index (its sampler's seed offset).
        mode: ``trials``: run trials until the study's budget is met (or the deadline), with ``plan.threads``
            cores; ``embed``: embed the base experiment's training data for the workers (all cores), then
            exit; ``retrain``: fit the best trial's params on all the training data (all cores) and print
            the logged model's URI as JSON.
    """
    import optuna

    import sparktag
    from sparktag.tracking.settings import TrackingSettings, use_settings
    from sparktag.tracking.sweep_storage import open_storage
    from sparktag.tracking.sweep_study import make_pruner, make_sampler

    plan = Plan.read(plan_path)
    if mode != "trials":  # alone on the machine: every core
        plan = dataclasses.replace(plan, threads=machine_cores())
        _set_torch_threads(plan.threads)
    sweep = SweepConfig.from_dict(plan.sweep)
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    spark = sparktag.start(master=f"local[{plan.threads}]", app_name=f"sparktag-sweep-{worker}",
                           config={"spark.ui.showConsoleProgress": "false"})  # fmt: skip
    storage = open_storage(plan.storage, sweep.heartbeat_s, fail_and_retry)
    study = optuna.load_study(study_name=sweep.study_name, storage=storage,
                              sampler=make_sampler(sweep, worker), pruner=make_pruner(sweep))  # fmt: skip
    settings = TrackingSettings(plan.tracking_uri, plan.registry_uri, experiment_id=plan.experiment_id)
    with use_settings(settings):
        runner = TrialRunner(sweep, plan, spark)
        if mode == "embed":
            runner._embedded(sweep.experiment)
        elif mode == "retrain":
            echo(json.dumps({"model_uri": runner.retrain(_best_values(study))}))
        else:
            while wait_for_others(study, sweep.n_trials, sweep.heartbeat_s, plan.deadline):
                if plan.deadline is not None and time.time() >= plan.deadline:
                    break
                study.optimize(runner.objective, n_trials=1, catch=(Exception,))
    return 0


def _set_torch_threads(threads: int) -> None:
    import torch

    torch.set_num_threads(threads)


def fail_and_retry(study: Any, trial: Any) -> None:
    """The heartbeat's callback for a trial whose worker died: end its MLflow run FAILED, try its params again."""
    import contextlib

    from optuna.storages import RetryFailedTrialCallback

    run_id = trial.user_attrs.get("mlflow_run_id")
    if run_id:
        with contextlib.suppress(Exception):  # the run may be gone; the retry matters more
            import mlflow

            client = mlflow.tracking.MlflowClient()
            client.set_tag(run_id, TRIAL_STATE_TAG, "FAIL")
            client.set_terminated(run_id, "FAILED")
    RetryFailedTrialCallback(max_retry=RETRIES, inherit_intermediate_values=False)(study, trial)


def _best_values(study: Any) -> dict[str, Any]:
    return dict(study.best_trial.params)


if __name__ == "__main__":
    sys.exit(run_worker(sys.argv[1], int(sys.argv[2]), mode=sys.argv[3] if len(sys.argv) > 3 else "trials"))

"""The MLflow listener of one NerDLApproach training: it hears the trainer's events and logs them.

:class:`MlflowListener`

* on ``TrainingStarted`` logs every param (the approach's and the trainer's, secrets redacted);
* after each epoch logs loss, lr, epoch time and the validation/test scores (token-level as Spark NLP's log,
  strict entity-level as conlleval) in ONE ``log_batch`` call, step = epoch, so the UI shows them live;
* on ``TrainingEnded`` logs the training log file, the charts (PNG), environment tags and ``best_epoch``, and
  with a ``testDataset`` the error analysis of the kept weights (``error_analysis.html`` and
  ``tagged_test_sentences.json``, from the trainer's ``TestTagged`` event).

It logs into the active run, or opens one (tagged ``mlflow.autologging=sparktag`` plus ``extra_tags``) and
closes only that one. Inside a run another MLflow autologging integration opened (``mlflow.pyspark.ml``), the
approach's Spark params are that integration's: the listener adds only the trainer's params the run lacks.

Checkpointed trainings (``checkpointPath``) continue their run when resumed: the listener keeps the run id in
``<checkpointPath>/mlflow_run.json`` (beside the trainer's checkpoints, which know nothing of MLflow); a resumed
training reopens that run (``mlflow.start_run(run_id=...)``), logs the restored epochs the run lacks (those
whose checkpoint was written before the kill but whose metrics were not), never logs a (metric, step) the run
already has, and ends it FINISHED. A run left RUNNING by the killed process is thereby finished.

Tracking never breaks training: an MLflow error is a ``logging`` warning (once per kind) and the listener
goes offline; everything it would have logged stays in memory and is written to a JSON file (path in the
warning, see :mod:`sparktag.tracking.pending`) that ``sparktag upload FILE`` sends to a tracking server later.
"""

from __future__ import annotations

import contextlib
import logging
import os
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sparktag.ner.events import EpochEnded, Event, TestTagged, TrainingEnded, TrainingStarted
from sparktag.tracking.autolog_config import AUTOLOGGING_TAG, INTEGRATION, AutologConfig
from sparktag.tracking.connection import check_reachable, fail_fast_if_unreachable
from sparktag.tracking.environment import environment_tags
from sparktag.tracking.pending import PendingPlace, pending_place, write_pending
from sparktag.tracking.redact import redact_params, redact_uri
from sparktag.tracking.run_file import RUN_FILE, read_run_id, write_run_file
from sparktag.tracking.run_metrics import best_epoch, epoch_metrics, param_value

logger = logging.getLogger("sparktag.tracking")
# AutologConfig and the two names live in autolog_config.py; importing them from here keeps working
__all__ = ["AUTOLOGGING_TAG", "INTEGRATION", "AutologConfig", "MlflowListener"]


class MlflowListener:
    """Logs one NerDLApproach training to MLflow from the trainer's events (see the module doc).

    Args:
        approach: the NerDLApproach being fit (for ``params_dict()``, ``log_path()``, ``uid``); may be None.
        config: autologging settings.

    After training: ``run_id``, ``metrics`` (every metric logged, in memory), ``pending_file`` (set when
    something could not be logged), ``errors`` (one message per kind of failure) and ``resumed_run`` (True
    when a resumed training reopened the run of the interrupted one).
    """

    def __init__(self, approach: Any = None, config: AutologConfig | None = None) -> None:
        self.approach = approach
        self.config = config or AutologConfig()
        self.run_id: str | None = None
        self.experiment_id: str | None = None
        self.tracking_uri: str = ""
        self.params: dict[str, str] = {}
        self.metrics: list[dict[str, Any]] = []  # {"key", "value", "step", "timestamp"}
        self.tags: dict[str, str] = {}
        self.artifacts: list[tuple[str, str | None]] = []  # (local path, artifact dir)
        self.errors: dict[str, str] = {}
        self.pending_file: str | None = None
        self.offline = False
        self._opened_run = False
        self._history: list[EpochEnded] = []  # every epoch of the training, restored ones included
        self._graph: str | None = None
        self._tested: TestTagged | None = None  # the test data the trainer tagged after training
        self._client: Any = None
        self.resumed_run = False
        self._logged: dict[str, set[int]] = {}  # metric -> steps the run had when this listener took it over
        # the integration that opened the run this listener logs into, when not sparktag (e.g. "pyspark.ml")
        self.foreign_autolog: str | None = None
        self._run_params: set[str] = set()  # params the run had when this listener took it over

    # -- events --------------------------------------------------------------------------------------
    def on_event(self, event: Event) -> None:
        if isinstance(event, TrainingStarted):
            self._on_started(event)
        elif isinstance(event, EpochEnded):
            self._on_epoch(event)
        elif isinstance(event, TestTagged):
            self._tested = event  # written and logged with the other files when training ends
        elif isinstance(event, TrainingEnded):
            self._on_ended(event)

    def _on_started(self, event: TrainingStarted) -> None:
        import mlflow

        self._graph = event.graph
        self.tracking_uri = mlflow.get_tracking_uri()
        if self.config.offline_reason:
            self._go_offline("connect", self.config.offline_reason)
        else:
            unreachable = check_reachable(self.tracking_uri)
            if unreachable:
                self._go_offline("connect", unreachable)
        if not self.offline:
            resume_id = self._read_run_file(event.checkpoint_dir) if event.resumed_from else None
            self._call("start run", lambda: self._start_run(resume_id, bool(event.history)))
            if self.run_id is not None and event.checkpoint_dir:
                self._write_run_file(event.checkpoint_dir)
        params: dict[str, Any] = {}
        if self.approach is not None and hasattr(self.approach, "params_dict"):
            params.update(self.approach.params_dict())
        params.update(event.params)
        params.update(
            graph=event.graph,
            labels=event.labels,
            chars=event.chars,
            training_examples=event.training_examples,
        )
        self.params = {k: param_value(v) for k, v in redact_params(params).items() if v is not None}
        self._log_batch(params=self._params_to_log(), what="params")
        if event.history:
            self._restore_history(event)
        if self.offline:
            self._write_pending()

    def _params_to_log(self) -> dict[str, str]:
        """All params, except inside a run another autologging integration opened: there the approach's Spark
        params are that integration's (``mlflow.pyspark.ml`` logs them, under its names), and a param the run
        has is never logged again, so beside it no value is logged twice."""
        if self.foreign_autolog is None:
            return self.params
        spark_params = set(self.approach.params_dict()) if hasattr(self.approach, "params_dict") else set()
        return {k: v for k, v in self.params.items() if k not in spark_params and k not in self._run_params}

    def _start_run(self, resume_id: str | None = None, resumed: bool = False) -> None:
        """Log into the active run, else reopen ``resume_id`` (the interrupted training's), else a new run."""
        import mlflow
        from mlflow.tracking import MlflowClient

        self._client = MlflowClient()
        active = mlflow.active_run()
        if active is None:
            if resume_id is not None and self._run_exists(resume_id):
                try:
                    active = mlflow.start_run(run_id=resume_id)
                    self.resumed_run = True
                except Exception as err:  # e.g. another experiment was set since: the user's choice wins
                    self._warn(
                        "resume run",
                        f"cannot reopen the MLflow run {resume_id} of the interrupted training ({err}); "
                        "logging the resumed training into a new run",
                    )
            if active is None:
                # the tags MLflow's own integrations put on the runs they open, and the user's extra_tags
                tags = {**(self.config.extra_tags or {}), AUTOLOGGING_TAG: INTEGRATION}
                active = mlflow.start_run(tags=tags)
            self._opened_run = True
        else:
            run = self._client.get_run(active.info.run_id)
            opener = run.data.tags.get(AUTOLOGGING_TAG)
            if opener and opener != INTEGRATION:
                self.foreign_autolog = opener
                self._run_params = set(run.data.params)
        self.run_id = active.info.run_id
        self.experiment_id = active.info.experiment_id
        if resumed and (self.resumed_run or not self._opened_run):
            # The run may hold epochs of the interrupted training: note which steps it has, to log none twice.
            run = self._client.get_run(self.run_id)
            for key in run.data.metrics:
                self._logged[key] = {m.step for m in self._client.get_metric_history(self.run_id, key)}

    def _run_exists(self, run_id: str) -> bool:
        try:
            run = self._client.get_run(run_id)
        except Exception as err:
            self._warn(
                "resume run",
                f"the MLflow run {run_id} of the interrupted training is not in the tracking store "
                f"{redact_uri(self.tracking_uri)!r} ({type(err).__name__}); logging the resumed training into a "
                "new run",
            )
            return False
        if run.info.lifecycle_stage == "deleted":
            self._warn(
                "resume run", f"the MLflow run {run_id} of the interrupted training was deleted; new run"
            )
            return False
        return True

    def _read_run_file(self, checkpoint_dir: str | None) -> str | None:
        """The run id a previous process of this training logged to (``mlflow_run.json``), if any."""
        try:
            return read_run_id(checkpoint_dir)
        except ValueError as err:
            self._warn("resume run", f"{err}; logging the resumed training into a new run")
            return None

    def _write_run_file(self, checkpoint_dir: str) -> None:
        """Keep the run id beside the checkpoints, for the process that resumes this training."""
        try:
            write_run_file(
                checkpoint_dir, str(self.run_id), self.experiment_id, redact_uri(self.tracking_uri)
            )
        except OSError as err:  # the run is still logged; only a later resume would open a new one
            path = Path(checkpoint_dir) / RUN_FILE
            self._warn("run file", f"cannot write {path} ({err}); a resumed training would log to a new run")

    def _restore_history(self, event: TrainingStarted) -> None:
        """A resumed training: take the epochs done before the interruption as if this listener had seen them
        (charts, best epoch, pending file), and log those the run does not have yet."""
        now = int(time.time() * 1000)
        batch = []
        for ended in event.history:
            self._history.append(ended)
            for key, value in epoch_metrics(ended).items():
                metric = {"key": key, "value": value, "step": ended.epoch, "timestamp": now}
                self.metrics.append(metric)
                batch.append(metric)
        self._log_batch(metrics=self._unlogged(batch), what="metrics")

    def _unlogged(self, batch: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """The metrics of ``batch`` whose step the run does not have yet (a resumed run logs nothing twice)."""
        return [m for m in batch if m["step"] not in self._logged.get(m["key"], ())]

    def _on_epoch(self, event: EpochEnded) -> None:
        self._history.append(event)
        now = int(time.time() * 1000)
        values = epoch_metrics(event)
        batch = [{"key": k, "value": v, "step": event.epoch, "timestamp": now} for k, v in values.items()]
        self.metrics.extend(batch)
        self._log_batch(metrics=self._unlogged(batch), what="metrics")
        if self.offline:
            self._write_pending()  # after every epoch, so a crash later loses nothing

    def _on_ended(self, event: TrainingEnded) -> None:
        best = event.best_epoch or best_epoch(self._history)
        final = {"epochs_run": float(event.epochs), "training_loop_time_s": event.elapsed_s}
        if best is not None:
            final["best_epoch"] = float(best)
        now = int(time.time() * 1000)
        batch = [{"key": k, "value": v, "step": 0, "timestamp": now} for k, v in final.items()]
        self.metrics.extend(batch)
        self.tags = {**environment_tags(), "sparktag.best_epoch_kept": str(event.best_epoch is not None)}
        if self.approach is not None:
            self.tags["sparktag.approach_uid"] = str(getattr(self.approach, "uid", ""))
        self.tags = {k: str(v) for k, v in redact_params(self.tags).items()}
        self._log_batch(metrics=self._unlogged(batch), tags=self.tags, what="tags")
        self._log_files()
        if self.offline:
            self._write_pending()
        if self._opened_run and not self.offline:
            self._call("end run", self._end_run)

    def _end_run(self) -> None:
        import mlflow

        active = mlflow.active_run()
        if active is not None and active.info.run_id == self.run_id:
            # end_run pops the run before telling the server, so a failure here leaves no run active
            with fail_fast_if_unreachable(self.tracking_uri or ""), contextlib.suppress(Exception):
                mlflow.end_run()

    def _log_files(self) -> None:
        log_path = self.approach.log_path() if self.approach is not None else None
        if log_path and os.path.isfile(log_path):
            self._log_artifact(log_path, "training_log")
        self._log_error_analysis()
        if not self.config.log_charts or not self._history:
            return
        from sparktag.tracking.charts import write_charts

        folder = self._local_dir("charts")
        try:
            written = write_charts(self._history, folder, graph=self._graph)
        except Exception as err:  # a chart is not worth a failed run
            self._warn("charts", f"could not draw the training charts: {err!r}")
            return
        for path in written.values():
            self._log_artifact(path, "charts")

    def _log_error_analysis(self) -> None:
        """error_analysis.html and tagged_test_sentences.json of the test data the trainer tagged at the end."""
        if self._tested is None:
            return
        from sparktag.tracking.error_analysis import TaggedSentence
        from sparktag.tracking.error_report import write_error_report

        t = self._tested
        run = f" (run {self.run_id})" if self.run_id else ""
        title = f"{getattr(self.approach, 'uid', None) or 'NerDL model'}{run} on its testDataset"
        try:
            sentences = [TaggedSentence(*s) for s in zip(t.words, t.gold, t.pred, t.confidence, strict=True)]
            written = write_error_report(self._local_dir("error_analysis"), sentences, title=title)
        except Exception as err:  # a page is not worth a failed run
            self._warn("error analysis", f"could not write the error analysis of the test data: {err!r}")
            return
        for path in written:
            self._log_artifact(str(path), None)

    def _local_dir(self, name: str) -> str:
        """A folder for files to log: kept under the pending dir when offline, else a temp dir."""
        if self.offline:
            return self._pending.files_dir(name)
        return tempfile.mkdtemp(prefix=f"sparktag-{name}-")

    def _log_artifact(self, path: str, artifact_dir: str | None) -> None:
        self.artifacts.append((os.path.abspath(path), artifact_dir))
        if not self.offline and self.run_id is not None:
            self._call("artifacts", lambda: self._client.log_artifact(self.run_id, path, artifact_dir))

    # -- MLflow calls that never raise ------------------------------------------------------------------
    def _log_batch(
        self,
        params: dict[str, str] | None = None,
        metrics: list[dict[str, Any]] | None = None,
        tags: dict[str, str] | None = None,
        what: str = "batch",
    ) -> None:
        if self.offline or self.run_id is None:
            return

        def send() -> None:
            from mlflow.entities import Metric, Param, RunTag

            param_list = [Param(k, v) for k, v in (params or {}).items()]
            tag_list = [RunTag(k, v) for k, v in (tags or {}).items()]
            metric_list = [Metric(m["key"], m["value"], m["timestamp"], m["step"]) for m in metrics or []]
            # MLflow takes at most 100 params+tags and 1000 metrics per call; one epoch fits in one call.
            while param_list or tag_list or metric_list:
                p, param_list = param_list[:100], param_list[100:]
                t, tag_list = tag_list[: 100 - len(p)], tag_list[100 - len(p) :]
                m, metric_list = metric_list[:1000], metric_list[1000:]
                self._client.log_batch(self.run_id, metrics=m, params=p, tags=t, synchronous=True)

        self._call(what, send)

    def _call(self, kind: str, fn: Callable[[], Any]) -> Any:
        unreachable = check_reachable(self.tracking_uri) if self.tracking_uri else None
        if unreachable:  # the server went away: go offline now, not after MLflow's minutes of retries
            self._go_offline(kind, unreachable)
            return None
        try:
            return fn()
        except Exception as err:  # tracking must never break training
            if kind == "params" and "Changing param values is not allowed" in str(err):
                # the same run was given these params with other values (a second fit in one run)
                self._warn(kind, f"params not logged: the run already has other values ({err})")
                return None
            self._go_offline(kind, f"{type(err).__name__}: {err}")
            return None

    def _go_offline(self, kind: str, reason: str) -> None:
        self.offline = True
        self._warn(
            kind,
            f"MLflow logging failed ({kind}) for tracking URI {redact_uri(self.tracking_uri)!r}: "
            f"{redact_uri(reason)}. Training goes on; everything is kept in memory and written to "
            f"{self._pending.path} (upload it later with: sparktag upload {self._pending.path} "
            "--tracking-uri URI)",
        )

    def _warn(self, kind: str, message: str) -> None:
        if kind in self.errors:
            return
        self.errors[kind] = message
        if not self.config.silent:
            logger.warning("%s", message)

    # -- the pending file -------------------------------------------------------------------------------
    @property
    def _pending(self) -> PendingPlace:
        return pending_place(self.approach, self.config.pending_dir, str(id(self)))

    def pending_payload(self) -> dict[str, Any]:
        """Everything this listener logged or would have logged (the content of its pending file)."""
        return {
            "tracking_uri": redact_uri(self.tracking_uri),
            "run_id": self.run_id,
            "errors": self.errors,
            "params": self.params,
            "metrics": self.metrics,
            "tags": self.tags,
            "artifacts": [{"path": p, "artifact_path": d} for p, d in self.artifacts],
        }

    def _write_pending(self) -> None:
        self.pending_file = write_pending(self._pending.path, self.pending_payload())

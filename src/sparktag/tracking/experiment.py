"""One call for the whole tracked NER experiment of Spark NLP's MLflow guide, with nothing lost on the way.

:func:`run_experiment` reads CoNLL train/test files, builds DocumentAssembler -> SentenceDetector ->
Tokenizer -> BertEmbeddings -> NerDLApproach, fits it with autologging (per-epoch metrics appear in MLflow
while it trains), saves the NerDLModel and loads it back (checking it tags the same), writes the test-set
predictions to parquet, scores them (scikit-learn's token report as the guide does, plus conlleval's
entity report, plus ``error_analysis.html``: every entity's error category, with the model's confidence),
logs sizes and times as metrics, the output folder, both datasets as inputs, and the pipeline with sparktag's
MLflow flavor, registered under ``model_name`` with an alias.

Every file is written to ``output_dir`` before it goes to the tracking server; when the server cannot be
reached (at the start or later) training still runs, the result says so and names the files, and
``sparktag upload`` sends them later.

    >>> from sparktag.tracking.experiment import run_experiment
    >>> from sparktag.tracking.experiment_config import ExperimentConfig
    >>> result = run_experiment(ExperimentConfig("eng.train", "eng.testa", model_name="ner"))  # doctest: +SKIP
    >>> result.model_uri  # doctest: +SKIP
    'models:/ner@champion'
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import json
import os
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sparktag.ner.progress import EpochProgress, FitClock
from sparktag.tracking.experiment_config import ExperimentConfig
from sparktag.tracking.experiment_result import ExperimentResult
from sparktag.tracking.output_folder import (
    CONFIG_FILE,
    SCORES_FILE,
    TRACKED_FILE,
    log_artifact,
    mark_tracked,
    run_artifacts,
)
from sparktag.tracking.preflight import check_config
from sparktag.tracking.redact import redact_params, redact_uri
from sparktag.tracking.settings import TrackingSettings, open_experiment, resolve_settings, use_settings

Echo = Callable[[str], None]


def _print(line: str) -> None:
    print(line, flush=True)  # progress must show up live, also when stdout is a pipe or a CI log


def run_experiment(
    config: ExperimentConfig,
    *,
    spark: Any = None,
    echo: Echo | None = _print,
    default_experiment: str = "sparktag",
) -> ExperimentResult:
    """Train, evaluate, save and track a NerDL model in one call (see the module doc).

    Args:
        config: what to train on and where to track it; unset ``tracking_uri``/``experiment_name``/
            ``registry_uri`` follow MLflow's ``MLFLOW_*`` environment variables (see
            :mod:`sparktag.tracking.settings`).
        spark: a SparkSession (default: ``sparktag.start()``).
        echo: where progress lines and the summary go (``None``: silent).
        default_experiment: the experiment when neither the config nor ``MLFLOW_EXPERIMENT_*`` names one.

    Returns:
        An :class:`ExperimentResult`. Tracking failures do not raise: they are in ``tracking_error``.

    Raises:
        FileNotFoundError, ValueError: unreadable data, unknown embeddings or params (before Spark starts).
    """
    check_config(config)  # bad input fails here, in seconds, before Spark starts
    settings = resolve_settings(
        config.tracking_uri,
        config.experiment_name,
        config.registry_uri,
        default_experiment=default_experiment,
    )
    config = dataclasses.replace(
        config, tracking_uri=settings.tracking_uri, experiment_name=settings.experiment_name
    )
    out = Path(config.output_dir).resolve()
    out.mkdir(parents=True, exist_ok=True)
    (out / TRACKED_FILE).unlink(missing_ok=True)  # a new experiment in this folder, not yet tracked

    import mlflow

    import sparktag
    from sparktag.tracking.connection import fail_fast_if_unreachable
    from sparktag.tracking.training_pipeline import build_pipeline

    run = _ExperimentRun(config, out, echo or (lambda _line: None))
    run.read(spark or sparktag.start())
    pipeline = build_pipeline(config, str(out / "logs"))
    with use_settings(dataclasses.replace(settings, registry_uri=config.registry_uri)):
        experiment_id = run.start(settings)
        (out / CONFIG_FILE).write_text(
            json.dumps(redact_params(run.config.to_dict()), indent=1), encoding="utf-8"
        )
        status = "FAILED"  # as `with mlflow.start_run():` ends a run its block raised out of
        try:
            result = run.train_and_track(pipeline)
            status = "FINISHED"
        finally:
            if run.run_id is not None:
                with fail_fast_if_unreachable(settings.tracking_uri), contextlib.suppress(Exception):
                    mlflow.end_run(status)
    result.experiment_id = experiment_id
    result.settings = dataclasses.replace(settings, experiment_name=run.config.experiment_name)
    if run.run_id is not None and result.tracking_error is None:
        mark_tracked(out, result.run_id, experiment_id, result.model_uri, result.settings)
    run.summary(result)
    return result


@dataclass
class _ExperimentRun:
    """One :func:`run_experiment` call on its way: where it writes, what it read, what failed so far."""

    config: ExperimentConfig
    out: Path
    say: Echo
    run_id: str | None = None  # None: not tracked (the server was unreachable, or the run did not start)
    train_df: Any = None
    test_df: Any = None
    sizes: dict[str, float] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)  # why (part of) the tracking failed, in order

    def read(self, spark: Any) -> None:
        """Read and cache the CoNLL train and test sets."""
        from sparktag.training import CoNLL

        started = time.perf_counter()
        reader = CoNLL()
        self.train_df = reader.readDataset(spark, self.config.train_path).cache()
        self.test_df = reader.readDataset(spark, self.config.test_path).cache()
        self.sizes = {"training_size": float(self.train_df.count()), "test_size": float(self.test_df.count())}
        self.timings["read_time_s"] = time.perf_counter() - started

    def start(self, settings: TrackingSettings) -> str | None:
        """Open the MLflow run (or note why not: then everything is written locally only); its experiment."""
        import mlflow

        from sparktag.tracking.connection import check_reachable

        unreachable = check_reachable(settings.tracking_uri)
        if unreachable:
            self.errors.append(
                f"tracking server {redact_uri(settings.tracking_uri)} unreachable: {unreachable}"
            )
            return None
        experiment_id = None
        try:
            experiment_id, name = open_experiment(settings, self.config.artifact_location)
            self.config = dataclasses.replace(self.config, experiment_name=name)
            run = mlflow.start_run(
                run_id=settings.run_id,
                experiment_id=None if settings.run_id else experiment_id,
                run_name=None if settings.run_id else self.config.model_name or None,
            )
            self.run_id = run.info.run_id
            self.say(f"MLflow run {self.run_id} in experiment {name!r} ({redact_uri(settings.tracking_uri)})")
        except Exception as err:
            self.errors.append(f"could not start an MLflow run: {redact_uri(str(err))}")
        return experiment_id

    def train_and_track(self, pipeline: Any) -> ExperimentResult:
        """Fit, save and reload, predict and score the test set, then log it all into the run."""
        model, listener = self.fit(pipeline)
        predictions = self.save_and_predict(model)
        result = self.score(predictions)
        if self.run_id is not None and not (listener and listener.offline):
            self.track(model, result)
        if self.errors:
            result.tracking_error = (
                "; ".join(self.errors)
                + f". Every file is kept in {self.out}. To upload it later: "
                + upload_commands(str(self.out), self.config)
            )
        return result

    def fit(self, pipeline: Any) -> tuple[Any, Any]:
        """Fit with autologging: params and per-epoch metrics go to MLflow as training runs."""
        from sparktag.spark.ner_dl import listening
        from sparktag.tracking.autolog import autologging, last_listener

        self.say(f"training on {int(self.sizes['training_size'])} sentences ({self.config.embeddings})...")
        start = time.perf_counter()
        offline = None if self.run_id is not None else (self.errors[0] if self.errors else "no MLflow run")
        clock = FitClock(start)
        with (
            autologging(pending_dir=str(self.out), offline_reason=offline),
            listening(EpochProgress(self.say)),
            listening(clock),
        ):
            model = pipeline.fit(self.train_df)
        self.timings["fit_time_s"] = time.perf_counter() - start
        if clock.data_ready_s is not None:  # the stages before NerDLApproach (embeddings) and featurizing
            self.timings["embedding_time_s"] = clock.data_ready_s
        if clock.epoch_s:
            self.timings["mean_epoch_time_s"] = sum(clock.epoch_s) / len(clock.epoch_s)
        listener = last_listener()
        if listener is not None and listener.errors:
            self.errors.extend(e for e in listener.errors.values() if e not in self.errors)
        return model, listener

    def save_and_predict(self, model: Any) -> Any:
        """Save the NER stage and the pipeline, load the stage back, predict the test set with the loaded copy."""
        from pyspark.ml import PipelineModel

        from sparktag.annotator import NerDLModel

        start = time.perf_counter()
        ner_path = self.out / "model" / "ner_dl"
        model.stages[-1].write().overwrite().save(str(ner_path))
        model.write().overwrite().save(str(self.out / "model" / "pipeline"))
        loaded = (
            NerDLModel.load(str(ner_path))
            .setInputCols(["sentence", "token", "embeddings"])
            .setOutputCol("ner")
        )
        self.timings["save_time_s"] = time.perf_counter() - start
        reloaded = PipelineModel(stages=[*model.stages[:-1], loaded])
        start = time.perf_counter()
        inference_path = self.out / "inference.parquet"
        reloaded.transform(self.test_df).write.mode("overwrite").parquet("file://" + str(inference_path))
        self.timings["inference_time_s"] = time.perf_counter() - start
        predictions = self.test_df.sparkSession.read.parquet("file://" + str(inference_path))
        check = predictions.limit(50)
        original = model.stages[-1].copy().setOutputCol("ner_check").transform(check)
        if not all(r["ner"] == r["ner_check"] for r in original.select("ner", "ner_check").collect()):
            raise RuntimeError(
                f"the NerDLModel saved to {ner_path} and loaded back tags the test set differently from the "
                "trained one; the saved model is not trustworthy"
            )
        return predictions

    def score(self, predictions: Any) -> ExperimentResult:
        """scikit-learn's token report (the guide's), conlleval's entity report, ``scores.json``, and the error
        analysis (``error_analysis.html``, ``tagged_test_sentences.json``)."""
        from sparktag.tracking.error_report import tagged_sentence, write_error_report
        from sparktag.tracking.evaluation import write_test_reports

        rows = predictions.select("token", "label", "ner").collect()
        sentences = [tagged_sentence(r["token"], r["label"], r["ner"]) for r in rows]
        scores, n_tokens = write_test_reports(
            [s.gold for s in sentences], [s.pred for s in sentences], self.out
        )
        run = f" (run {self.run_id})" if self.run_id else ""
        title = f"{self.config.model_name or 'NER model'}{run} on {Path(self.config.test_path).name}"
        write_error_report(self.out, sentences, title=title)
        self.sizes["test_tokens"] = float(n_tokens)
        (self.out / SCORES_FILE).write_text(
            json.dumps({**scores, **self.sizes, **self.timings}, indent=1), encoding="utf-8"
        )
        local_uri = str(self.out / "model" / "pipeline")
        return ExperimentResult(self.run_id, None, local_uri, None, scores, str(self.out), None, self.timings)

    def track(self, model: Any, result: ExperimentResult) -> None:
        """Log params, metrics, datasets, the output folder's files and the model; every file exists already."""
        import mlflow

        config = self.config
        params = {
            "train_path": os.path.abspath(config.train_path),
            "test_path": os.path.abspath(config.test_path),
            "embeddings": config.embeddings,
            "experiment_name": config.experiment_name,
            "model_name": config.model_name or "",
            "alias": config.alias,
            "output_dir": str(self.out),
            "tracking_uri": config.tracking_uri,
            **{f"embeddings.{name}": value for name, value in config.embeddings_params.items()},
        }
        self.step("params", lambda: mlflow.log_params(redact_params(params)))
        self.step("metrics", lambda: mlflow.log_metrics({**result.scores, **self.sizes, **self.timings}))
        train, test = (self.train_df, config.train_path, "train"), (self.test_df, config.test_path, "test")
        self.step("dataset inputs", lambda: mlflow.log_input(_dataset(*train), context="training"))
        self.step("dataset inputs", lambda: mlflow.log_input(_dataset(*test), context="test"))
        for local, artifact_dir in run_artifacts(self.out):
            self.step("artifacts", functools.partial(log_artifact, local, artifact_dir))
        if not config.log_model:
            return
        info = self.step("model", lambda: _log_model(config, model, self.test_df))
        if info is not None:
            version = getattr(info, "registered_model_version", None)
            result.model_version = str(version) if version is not None else None
            result.model_uri = (
                f"models:/{config.model_name}@{config.alias}"
                if config.model_name and version is not None and config.alias
                else f"models:/{config.model_name}/{version}"
                if config.model_name and version is not None
                else info.model_uri
            )

    def step(self, what: str, fn: Callable[[], Any]) -> Any:
        """``fn()``, an MLflow call: a failure is noted in ``errors`` (for ``tracking_error``), never raised."""
        try:
            return fn()
        except Exception as err:
            self.errors.append(f"MLflow {what} failed: {redact_uri(f'{type(err).__name__}: {err}')}")
            return None

    def summary(self, result: ExperimentResult) -> None:
        """The table of what the experiment did, and the tracking warning if any."""
        sizes, say = self.sizes, self.say
        s, t = result.scores, result.timings_s
        rows = [
            ("run id", result.run_id or "(not tracked)"),
            ("model", result.model_uri),
            ("model version", result.model_version or "-"),
            ("training sentences", f"{int(sizes['training_size'])}"),
            ("test sentences", f"{int(sizes['test_size'])}"),
            ("fit time", f"{t.get('fit_time_s', 0):.1f}s"),
            ("  embedding", f"{t.get('embedding_time_s', 0):.1f}s"),
            ("  per epoch", f"{t.get('mean_epoch_time_s', 0):.1f}s"),
            ("inference time", f"{t.get('inference_time_s', 0):.1f}s"),
            ("token accuracy", f"{s.get('final_tag_accuracy', 0):.4f}"),
            ("tag macro F1", f"{s.get('final_tag_macro_avg_f1', 0):.4f}"),
            ("entity micro F1", f"{s.get('final_entity_micro_f1', 0):.4f}"),
            ("entity macro F1", f"{s.get('final_entity_macro_f1', 0):.4f}"),
        ]
        rows += [
            (f"  F1 {k.rsplit('_', 1)[-1]}", f"{v:.4f}")
            for k, v in sorted(s.items())
            if k.startswith("final_entity_f1_")
        ]
        rows.append(("output folder", result.output_dir))
        if result.settings is not None:
            rows.append(("tracking", result.settings.describe()))
        width = max(len(k) for k, _ in rows)
        say("")
        for key, value in rows:
            say(f"{key:<{width}}  {value}")
        if result.tracking_error:
            say(f"\nWARNING: {result.tracking_error}")


def _dataset(df: Any, path: str, name: str) -> Any:
    """An ``mlflow.data`` dataset of a CoNLL DataFrame: text and gold tags, digest of that content."""
    from mlflow.data.pandas_dataset import from_pandas  # mlflow.data.from_pandas, as mypy sees it

    pdf = df.selectExpr("text", "concat_ws(' ', label.result) AS tags").toPandas()
    with warnings.catch_warnings():
        # MLflow registers its local-file source class twice and warns that a path is ambiguous between them
        warnings.filterwarnings("ignore", message="The specified dataset source can be interpreted")
        return from_pandas(pdf, source=Path(path).resolve().as_uri(), name=name, targets="tags")


def upload_commands(output_dir: str, config: ExperimentConfig) -> str:
    """The commands that send a finished experiment's local files to the tracking server later."""
    out = os.path.abspath(output_dir)
    uri = redact_uri(config.tracking_uri or "")
    command = f"sparktag upload {out}"
    if uri:
        command += f" --tracking-uri {uri!r}"
    if config.experiment_name:
        command += f" --experiment {config.experiment_name!r}"
    if config.model_name:
        command += f" --model-name {config.model_name!r} --alias {config.alias!r}"
    return command


def _log_model(config: ExperimentConfig, model: Any, test_df: Any) -> Any:
    import pandas as pd

    from sparktag.tracking import flavor

    example = pd.DataFrame({"text": [r["text"] for r in test_df.select("text").limit(2).collect()]})
    name = config.model_name
    alias = config.alias if name else None
    try:
        return flavor.log_model(
            model, "model", registered_model_name=name, alias=alias, input_example=example
        )
    except Exception as err:
        if name and _no_registry(err):
            # a store without a model registry: log the model, unregistered
            return flavor.log_model(model, "model", input_example=example)
        raise


def _no_registry(err: Exception) -> bool:
    text = str(err).lower()
    return "registry" in text and ("not supported" in text or "unsupported" in text)

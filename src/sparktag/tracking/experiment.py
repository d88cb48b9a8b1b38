"""One call for the whole tracked NER experiment of Spark NLP's MLflow guide, with nothing lost on the way.

:func:`run_experiment` reads CoNLL train/test files, builds DocumentAssembler -> SentenceDetector ->
Tokenizer -> BertEmbeddings -> NerDLApproach, fits it with autologging (per-epoch metrics appear in MLflow
while it trains), saves the NerDLModel and loads it back (checking it tags the same), writes the test-set
predictions to parquet, scores them (scikit-learn's token report as the guide does, plus conlleval's
entity report), logs sizes and times as metrics, the output folder, both datasets as inputs, and the
pipeline with sparktag's MLflow flavor, registered under ``model_name`` with an alias.

Every file is written to ``output_dir`` before it goes to the tracking server; when the server cannot be
reached (at the start or later) training still runs, the result says so and names the files, and
``sparktag upload`` sends them later.

    >>> from sparktag.tracking.experiment import ExperimentConfig, run_experiment
    >>> result = run_experiment(ExperimentConfig("eng.train", "eng.testa", model_name="ner"))  # doctest: +SKIP
    >>> result.model_uri  # doctest: +SKIP
    'models:/ner@champion'
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import sys
import time
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sparktag.ner.progress import EpochProgress
from sparktag.tracking.preflight import check_config
from sparktag.tracking.redact import redact_params, redact_uri
from sparktag.tracking.settings import TrackingSettings, open_experiment, resolve_settings, use_settings

Echo = Callable[[str], None]

#: NerDLApproach params that are ExperimentConfig fields: ``params={"maxEpochs": 2}`` sets ``max_epochs``
PARAM_FIELDS = {
    "maxEpochs": "max_epochs",
    "lr": "lr",
    "batchSize": "batch_size",
    "dropout": "dropout",
    "validationSplit": "validation_split",
    "randomSeed": "random_seed",
}


def _print(line: str) -> None:
    print(line, flush=True)  # progress must show up live, also when stdout is a pipe or a CI log


@dataclass
class ExperimentConfig:
    """Everything one experiment needs; field names are the keys of a JSON or TOML config file.

    Args:
        train_path: CoNLL training file (or folder/glob).
        test_path: CoNLL test file, tagged after training and scored.
        embeddings: a local Hugging Face model folder, or a model name for ``BertEmbeddings.pretrained``.
        max_epochs, lr, batch_size, dropout, validation_split, random_seed: NerDLApproach's params.
        experiment_name: the MLflow experiment (created if missing); ``None``: ``MLFLOW_EXPERIMENT_NAME``,
            else ``MLFLOW_EXPERIMENT_ID``, else ``sparktag``.
        model_name: register the model under this name (``None``: log it without registering).
        alias: registry alias set on the new version (``champion``), when ``model_name`` is set.
        tracking_uri: MLflow tracking URI; ``None``: ``MLFLOW_TRACKING_URI``, else ``sqlite:///mlflow.db``.
        registry_uri: MLflow model registry URI; ``None``: ``MLFLOW_REGISTRY_URI``, else the tracking URI's.
        artifact_location: where a new experiment keeps its artifacts (``s3://bucket/prefix``, a folder);
            ``None``: the tracking store's default. An existing experiment keeps its own.
        output_dir: folder of every local file (model, predictions, reports, logs, charts).
        log_model: log the fitted pipeline with sparktag's MLflow flavor.
        params: any other NerDLApproach params by name (``{"useBestModel": true, "lstmHidden": 64}``);
            one that is a field above (``maxEpochs``, ``lr``, ``batchSize``, ...) sets that field.
    """

    train_path: str
    test_path: str
    embeddings: str = "all_minilm_l6_v2"
    max_epochs: int = 10
    lr: float = 0.003
    batch_size: int = 8
    dropout: float = 0.5
    validation_split: float = 0.1
    random_seed: int = 0
    experiment_name: str | None = None
    model_name: str | None = None
    alias: str = "champion"
    tracking_uri: str | None = None
    registry_uri: str | None = None
    artifact_location: str | None = None
    output_dir: str = "sparktag_output"
    log_model: bool = True
    params: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        # one place per setting: a field's NerDLApproach name in params (--params.maxEpochs 2) sets the field
        self.params = dict(self.params)
        for name, key in PARAM_FIELDS.items():
            if name in self.params:
                setattr(self, key, self.params.pop(name))

    @classmethod
    def from_file(cls, path: str | os.PathLike[str], **overrides: Any) -> ExperimentConfig:
        """Read a ``.toml`` or ``.json`` config file; ``overrides`` win over the file.

        Relative ``train_path``/``test_path``/``embeddings`` folders are taken relative to the file.
        """
        file = Path(path)
        text = file.read_text(encoding="utf-8")
        if file.suffix.lower() == ".toml":
            if sys.version_info >= (3, 11):
                import tomllib
            else:  # Python 3.10: the tomli backport, a dependency of sparktag there
                import tomli as tomllib

            data = tomllib.loads(text)
        else:
            try:
                data = json.loads(text)
            except json.JSONDecodeError as err:
                raise ValueError(f"{file}:{err.lineno}:{err.colno}: not valid JSON: {err.msg}") from err
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"{file}: unknown config keys {unknown}; known keys: {sorted(known)}")
        data.update({k: v for k, v in overrides.items() if v is not None})
        for key in ("train_path", "test_path", "embeddings"):
            value = data.get(key)
            if isinstance(value, str) and value and not os.path.isabs(value):
                candidate = file.parent / value
                if candidate.exists():
                    data[key] = str(candidate)
        missing = [k for k in ("train_path", "test_path") if k not in data]
        if missing:
            raise ValueError(f"{file}: missing required keys {missing}")
        return cls(**data)

    def to_dict(self) -> dict[str, Any]:
        """The fields as a JSON-able dict (what :meth:`from_file` reads back)."""
        return dataclasses.asdict(self)

    def with_overrides(self, overrides: dict[str, Any]) -> ExperimentConfig:
        """A copy with ``overrides`` applied, spaCy style: field names, or ``params.NAME`` for NerDLApproach.

        Text values (from a command line) are converted to the field's type; a ``params.NAME`` text is read
        as JSON when it parses (``2``, ``true``, ``[1, 2]``), else kept as a string.

        Raises:
            ValueError: an unknown name, or a value of the wrong type; the message lists the known names.

        Example:
            >>> ExperimentConfig("a", "b").with_overrides({"params.maxEpochs": "2", "lr": "0.01"}).max_epochs
            2
        """
        fields = {f.name: f for f in dataclasses.fields(self) if f.name != "params"}
        values = self.to_dict()
        for key, value in overrides.items():
            section, dot, name = key.partition(".")
            if dot and section == "params" and name:
                values["params"][name] = _from_text(value) if isinstance(value, str) else value
            elif key in fields:
                values[key] = _convert(key, str(fields[key].type), value)
            else:
                raise ValueError(
                    f"unknown setting {key!r}; known: {', '.join(sorted(fields))}, or params.NAME for any "
                    "NerDLApproach param (params.maxEpochs, params.lstmHidden, ...)"
                )
        return type(self)(**values)


def _from_text(text: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def _convert(key: str, kind: str, value: Any) -> Any:
    """``value`` (text from a command line, or already typed) as the type ``kind`` of field ``key``."""
    if not isinstance(value, str):
        return value
    if "None" in kind and value.lower() in ("null", "none", ""):
        return None
    try:
        if kind.startswith("int"):
            return int(value)
        if kind.startswith("float"):
            return float(value)
    except ValueError:
        raise ValueError(f"{key}: expected {kind.split()[0]}, got {value!r}") from None
    if kind.startswith("bool"):
        if value.lower() not in ("true", "false", "1", "0"):
            raise ValueError(f"{key}: expected true or false, got {value!r}")
        return value.lower() in ("true", "1")
    return value


@dataclass
class ExperimentResult:
    """What :func:`run_experiment` did.

    Args:
        run_id, experiment_id: the MLflow run (``None`` when the tracking server was unreachable throughout).
        model_uri: where to load the model from: ``models:/<name>@<alias>`` when registered, else the
            run's model URI, else the local saved pipeline folder.
        model_version: the registered version, if registered.
        scores: final test-set metrics by name (``final_entity_micro_f1``, ``final_tag_accuracy``, ...).
        output_dir: the local folder with every file.
        tracking_error: why (part of) the tracking failed, with how to upload the local files; else ``None``.
        settings: where the run was tracked (the resolved tracking URI, experiment, and their sources).
    """

    run_id: str | None
    experiment_id: str | None
    model_uri: str
    model_version: str | None
    scores: dict[str, float]
    output_dir: str
    tracking_error: str | None = None
    timings_s: dict[str, float] = field(default_factory=dict)
    settings: TrackingSettings | None = None

    def destination(self) -> str:
        """One line saying where the run went (URIs redacted), for the end of a command's output."""
        where = self.settings.describe() if self.settings else "nowhere"
        if self.run_id is None:
            return f"not tracked (MLflow at {where} was not reached); every file is in {self.output_dir}"
        return f"tracked as run {self.run_id} in {where}"


@contextlib.contextmanager
def _listening(listener: Any) -> Iterator[None]:
    """``listener`` added to every NerDLApproach fit inside the block."""
    from sparktag.spark import ner_dl

    def factory(approach: Any) -> Any:
        return listener

    ner_dl.LISTENER_FACTORIES.append(factory)
    try:
        yield
    finally:
        ner_dl.LISTENER_FACTORIES.remove(factory)


def _embeddings_stage(name_or_folder: str) -> Any:
    from sparktag.annotator import BertEmbeddings

    if os.path.isdir(name_or_folder):
        stage = BertEmbeddings.loadSavedModel(name_or_folder)
    else:
        stage = BertEmbeddings.pretrained(name_or_folder)
    return stage.setInputCols("sentence", "token").setOutputCol("embeddings")


def build_pipeline(config: ExperimentConfig, logs_dir: str) -> Any:
    """The five-stage training pipeline of the guide, NerDLApproach configured from ``config``."""
    from pyspark.ml import Pipeline

    from sparktag.annotator import NerDLApproach, SentenceDetector, Tokenizer
    from sparktag.base import DocumentAssembler

    ner = (
        NerDLApproach()
        .setInputCols(["sentence", "token", "embeddings"])
        .setLabelColumn("label")
        .setOutputCol("ner")
        .setMaxEpochs(config.max_epochs)
        .setLr(config.lr)
        .setBatchSize(config.batch_size)
        .setDropout(config.dropout)
        .setRandomSeed(config.random_seed)
        .setValidationSplit(config.validation_split)
        .setVerbose(4)
        .setEnableOutputLogs(True)
        .setEvaluationLogExtended(True)
        .setIncludeConfidence(True)
        .setOutputLogsPath(logs_dir)
    )
    for name, value in config.params.items():
        setter = getattr(ner, "set" + name[:1].upper() + name[1:], None)
        if setter is None or not ner.hasParam(name):
            raise ValueError(f"params: NerDLApproach has no param {name!r}")
        setter(value)
    return Pipeline(
        stages=[
            DocumentAssembler().setInputCol("text").setOutputCol("document"),
            SentenceDetector().setInputCols(["document"]).setOutputCol("sentence"),
            Tokenizer().setInputCols(["sentence"]).setOutputCol("token"),
            _embeddings_stage(config.embeddings),
            ner,
        ]
    )


def gold_and_predicted(rows: list[Any]) -> tuple[list[list[str]], list[list[str]], list[list[str]]]:
    """Tokens, gold tags (matched to the pipeline's tokens by span) and predicted tags, per row."""
    from sparktag.annotation import from_rows
    from sparktag.spark.ner_dl import align_labels

    words, gold, pred = [], [], []
    for row in rows:
        tokens = from_rows(row["token"])
        tags = {a.begin: a.result for a in from_rows(row["ner"])}
        words.append([t.result for t in tokens])
        gold.append(align_labels(tokens, from_rows(row["label"])))
        pred.append([tags.get(t.begin, "O") for t in tokens])
    return words, gold, pred


def report_metrics(report: dict[str, Any]) -> dict[str, float]:
    """scikit-learn's ``output_dict`` report as flat metric names: ``final_tag_B-PER_f1``, ``final_tag_accuracy``."""
    out: dict[str, float] = {}
    short = {"precision": "precision", "recall": "recall", "f1-score": "f1", "support": "support"}
    for label, value in report.items():
        key = label.replace(" ", "_")
        if isinstance(value, dict):
            for metric, number in value.items():
                out[f"final_tag_{key}_{short.get(metric, metric)}"] = float(number)
        else:
            out[f"final_tag_{key}"] = float(value)
    return out


def _dataset(df: Any, path: str, name: str) -> Any:
    """An ``mlflow.data`` dataset of a CoNLL DataFrame: text and gold tags, digest of that content."""
    import mlflow.data

    pdf = df.selectExpr("text", "concat_ws(' ', label.result) AS tags").toPandas()
    with warnings.catch_warnings():
        # MLflow registers its local-file source class twice and warns that a path is ambiguous between them
        warnings.filterwarnings("ignore", message="The specified dataset source can be interpreted")
        return mlflow.data.from_pandas(pdf, source=Path(path).resolve().as_uri(), name=name, targets="tags")


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
    say: Echo = echo or (lambda _line: None)
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
    from sparktag.tracking.upload import TRACKED_FILE, mark_tracked

    (out / TRACKED_FILE).unlink(missing_ok=True)  # a new experiment in this folder, not yet tracked

    import mlflow

    import sparktag
    from sparktag.tracking.connection import check_reachable, fail_fast_if_unreachable
    from sparktag.training import CoNLL

    timings: dict[str, float] = {}
    spark = spark or sparktag.start()
    started = time.perf_counter()
    reader = CoNLL()
    train_df = reader.readDataset(spark, config.train_path).cache()
    test_df = reader.readDataset(spark, config.test_path).cache()
    sizes = {"training_size": float(train_df.count()), "test_size": float(test_df.count())}
    timings["read_time_s"] = time.perf_counter() - started
    pipeline = build_pipeline(config, str(out / "logs"))

    errors: list[str] = []
    run_id = experiment_id = None
    with use_settings(dataclasses.replace(settings, registry_uri=config.registry_uri)):
        # 1. open the run (or note why not: then everything is written locally only)
        unreachable = check_reachable(settings.tracking_uri)
        if unreachable:
            errors.append(f"tracking server {redact_uri(settings.tracking_uri)} unreachable: {unreachable}")
        else:
            try:
                experiment_id, name = open_experiment(settings, config.artifact_location)
                config = dataclasses.replace(config, experiment_name=name)
                run = mlflow.start_run(
                    run_id=settings.run_id,
                    experiment_id=None if settings.run_id else experiment_id,
                    run_name=None if settings.run_id else config.model_name or None,
                )
                run_id = run.info.run_id
                say(f"MLflow run {run_id} in experiment {name!r} ({redact_uri(settings.tracking_uri)})")
            except Exception as err:
                errors.append(f"could not start an MLflow run: {redact_uri(str(err))}")
        (out / "experiment_config.json").write_text(
            json.dumps(redact_params(config.to_dict()), indent=1), encoding="utf-8"
        )
        status = "FAILED"  # as `with mlflow.start_run():` ends a run its block raised out of
        try:
            result = _run(config, pipeline, train_df, test_df, out, sizes, timings, errors, run_id, say)
            status = "FINISHED"
        finally:
            if run_id is not None:
                with fail_fast_if_unreachable(settings.tracking_uri), contextlib.suppress(Exception):
                    mlflow.end_run(status)
    result.experiment_id = experiment_id
    result.settings = dataclasses.replace(settings, experiment_name=config.experiment_name)
    if run_id is not None and result.tracking_error is None:
        mark_tracked(out, result)
    _summary(result, config, sizes, say)
    return result


def _run(
    config: ExperimentConfig,
    pipeline: Any,
    train_df: Any,
    test_df: Any,
    out: Path,
    sizes: dict[str, float],
    timings: dict[str, float],
    errors: list[str],
    run_id: str | None,
    say: Echo,
) -> ExperimentResult:
    from pyspark.ml import PipelineModel

    from sparktag.annotator import NerDLModel
    from sparktag.tracking import autolog as autolog_module
    from sparktag.tracking.autolog import autologging
    from sparktag.tracking.evaluation import write_test_reports

    # 2. fit with autologging: params and per-epoch metrics go to MLflow as training runs
    say(f"training on {int(sizes['training_size'])} sentences ({config.embeddings})...")
    start = time.perf_counter()
    offline = None if run_id is not None else (errors[0] if errors else "no MLflow run")
    with autologging(pending_dir=str(out), offline_reason=offline), _listening(EpochProgress(say)):
        model = pipeline.fit(train_df)
    timings["fit_time_s"] = time.perf_counter() - start
    listener = autolog_module.last_listener()
    if listener is not None and listener.errors:
        errors.extend(e for e in listener.errors.values() if e not in errors)

    # 3. save the NER stage, load it back, predict the test set with the loaded copy
    start = time.perf_counter()
    ner_path = out / "model" / "ner_dl"
    model.stages[-1].write().overwrite().save(str(ner_path))
    pipeline_path = out / "model" / "pipeline"
    model.write().overwrite().save(str(pipeline_path))
    loaded = (
        NerDLModel.load(str(ner_path)).setInputCols(["sentence", "token", "embeddings"]).setOutputCol("ner")
    )
    timings["save_time_s"] = time.perf_counter() - start
    reloaded = PipelineModel(stages=[*model.stages[:-1], loaded])
    start = time.perf_counter()
    inference_path = out / "inference.parquet"
    reloaded.transform(test_df).write.mode("overwrite").parquet("file://" + str(inference_path))
    timings["inference_time_s"] = time.perf_counter() - start
    predictions = test_df.sparkSession.read.parquet("file://" + str(inference_path))
    check = predictions.limit(50)
    original = model.stages[-1].copy().setOutputCol("ner_check").transform(check)
    same = all(r["ner"] == r["ner_check"] for r in original.select("ner", "ner_check").collect())
    if not same:
        raise RuntimeError(
            f"the NerDLModel saved to {ner_path} and loaded back tags the test set differently from the "
            "trained one; the saved model is not trustworthy"
        )

    # 4. score: scikit-learn's token report (the guide's) and conlleval's entity report
    rows = predictions.select("token", "label", "ner").collect()
    _words, gold, pred = gold_and_predicted(rows)
    scores, n_tokens = write_test_reports(gold, pred, out)
    sizes["test_tokens"] = float(n_tokens)
    (out / "scores.json").write_text(json.dumps({**scores, **sizes, **timings}, indent=1), encoding="utf-8")
    local_uri = str(pipeline_path)
    result = ExperimentResult(run_id, None, local_uri, None, scores, str(out), None, timings)

    # 5. tracking: every file above already exists locally
    if run_id is not None and not (listener and listener.offline):
        result = _track(config, model, train_df, test_df, out, result, sizes, timings, errors, run_id, say)
    if errors:
        result.tracking_error = (
            "; ".join(errors)
            + f". Every file is kept in {out}. To upload it later: {upload_commands(str(out), config)}"
        )
    return result


def _track(
    config: ExperimentConfig,
    model: Any,
    train_df: Any,
    test_df: Any,
    out: Path,
    result: ExperimentResult,
    sizes: dict[str, float],
    timings: dict[str, float],
    errors: list[str],
    run_id: str,
    say: Echo,
) -> ExperimentResult:
    import mlflow

    def step(what: str, fn: Callable[[], Any]) -> Any:
        try:
            return fn()
        except Exception as err:
            errors.append(f"MLflow {what} failed: {redact_uri(f'{type(err).__name__}: {err}')}")
            return None

    params = {
        "train_path": os.path.abspath(config.train_path),
        "test_path": os.path.abspath(config.test_path),
        "embeddings": config.embeddings,
        "experiment_name": config.experiment_name,
        "model_name": config.model_name or "",
        "alias": config.alias,
        "output_dir": str(out),
        "tracking_uri": config.tracking_uri,
    }
    step("params", lambda: mlflow.log_params(redact_params(params)))
    step("metrics", lambda: mlflow.log_metrics({**result.scores, **sizes, **timings}))
    step(
        "dataset inputs",
        lambda: mlflow.log_input(_dataset(train_df, config.train_path, "train"), context="training"),
    )
    step(
        "dataset inputs",
        lambda: mlflow.log_input(_dataset(test_df, config.test_path, "test"), context="test"),
    )
    for name in ("classification_report.txt", "entity_report.txt", "scores.json", "experiment_config.json"):
        step("artifacts", lambda name=name: mlflow.log_artifact(str(out / name)))
    step("artifacts", lambda: mlflow.log_artifacts(str(out / "charts"), "charts"))
    step("artifacts", lambda: mlflow.log_artifacts(str(out), "output"))
    if config.log_model:
        info = step("model", lambda: _log_model(config, model, test_df))
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
    return result


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


def _summary(result: ExperimentResult, config: ExperimentConfig, sizes: dict[str, float], say: Echo) -> None:
    s, t = result.scores, result.timings_s
    rows = [
        ("run id", result.run_id or "(not tracked)"),
        ("model", result.model_uri),
        ("model version", result.model_version or "-"),
        ("training sentences", f"{int(sizes['training_size'])}"),
        ("test sentences", f"{int(sizes['test_size'])}"),
        ("fit time", f"{t.get('fit_time_s', 0):.1f}s"),
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


def __getattr__(name: str) -> Any:
    # upload_experiment and tracked_run moved to sparktag.tracking.upload; old imports keep working
    if name in ("upload_experiment", "tracked_run", "mark_tracked"):
        from sparktag.tracking import upload

        return getattr(upload, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

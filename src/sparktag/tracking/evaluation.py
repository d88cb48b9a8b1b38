"""Score a NER model on a CoNLL test file: the reports and charts of a training run, as a run of their own.

:func:`write_test_reports` is what :func:`sparktag.tracking.experiment.run_experiment` does with the test set
after training (scikit-learn's token report, conlleval's entity report, the confusion chart, ``scores.json``);
:func:`evaluate_model` does the same for any logged, registered or saved model, in-process (no JVM), adds the
error analysis (:mod:`sparktag.tracking.error_report`, compared with an earlier run when asked), and logs it
all as a new MLflow run (``sparktag evaluate``).

    >>> result = evaluate_model("models:/ner@champion", "eng.testb", output_dir="eval")  # doctest: +SKIP
    >>> result.scores["final_entity_micro_f1"]  # doctest: +SKIP
    0.91
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sparktag.tracking.redact import redact_params, redact_uri

if TYPE_CHECKING:
    from sparktag.tracking.error_analysis import TaggedSentence

Echo = Callable[[str], None]


def write_test_reports(
    gold: list[list[str]], pred: list[list[str]], out: Path
) -> tuple[dict[str, float], int]:
    """Write the test-set reports and chart to ``out`` and return the final scores.

    Args:
        gold, pred: gold and predicted IOB tags, one list per sentence, aligned token by token.
        out: the folder for ``classification_report.txt``, ``entity_report.txt``, ``charts/confusion_matrix.png``.

    Returns:
        ``(scores, tokens)``: ``final_tag_*`` (scikit-learn's report) and ``final_entity_*`` (conlleval)
        metrics by name, and the number of scored tokens.
    """
    from sparktag.ner.metrics import classification_report, entity_report, entity_scores
    from sparktag.tracking.charts import plot_confusion
    from sparktag.tracking.run_metrics import scores_metrics

    report_text, report = classification_report(gold, pred)
    entities = entity_scores(gold, pred)
    n_tokens = sum(len(s) for s in gold)
    correct = sum(g == p for gs, ps in zip(gold, pred, strict=True) for g, p in zip(gs, ps, strict=True))
    out.mkdir(parents=True, exist_ok=True)
    (out / "classification_report.txt").write_text(report_text, encoding="utf-8")
    entity_text = entity_report(entities, tokens=n_tokens, correct_tokens=correct)
    (out / "entity_report.txt").write_text(entity_text + "\n", encoding="utf-8")
    plot_confusion(gold, pred, out / "charts" / "confusion_matrix.png")
    scores = report_metrics(report)
    scores.update(scores_metrics("final", "entity", entities))
    return scores, n_tokens


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


def tag_test_file(light: Any, test_path: str) -> tuple[list[str], list[str], list[TaggedSentence]]:
    """Tag every sentence of a CoNLL file with a LightPipeline; gold tags matched to its tokens by span.

    The pipeline's NerDLModel stages get ``includeConfidence`` (if off) so that each tag has its confidence:
    call it before the pipeline has tagged anything.

    Returns:
        ``(texts, labels, sentences)``: one entry per sentence (the rows of ``CoNLL().readDataset``);
        ``labels`` are the file's tags of the sentence joined by spaces, ``sentences`` the tagged sentences.
    """
    from sparktag.core.conll import read_conll_documents
    from sparktag.core.conll_rows import document_rows
    from sparktag.spark.ner_dl import NerDLModel
    from sparktag.tracking.error_report import tagged_sentence

    for stage in light.stages:
        if isinstance(stage, NerDLModel) and not stage.getIncludeConfidence():
            stage.setIncludeConfidence(True)
    rows = [row for doc in read_conll_documents(test_path) for row in document_rows(doc)]
    texts = [str(row["text"]) for row in rows]
    sentences = [
        tagged_sentence(tagged["token"], row["label"], tagged["ner"])  # type: ignore[arg-type]
        for row, tagged in zip(rows, light.fullAnnotate(texts), strict=True)
    ]
    labels = [" ".join(a.result for a in row["label"]) for row in rows]  # type: ignore[attr-defined]
    return texts, labels, sentences


def load_light(model_uri: str) -> Any:
    """A LightPipeline (no JVM) of an MLflow model URI, an MLflow model folder or a saved PipelineModel folder."""
    from sparktag.light import LightPipeline
    from sparktag.tracking import flavor

    if os.path.isdir(model_uri) and not os.path.isfile(os.path.join(model_uri, "MLmodel")):
        return LightPipeline.load(model_uri)  # e.g. <output>/model/pipeline of a training run
    return flavor.load_model(model_uri, kind="light")


def evaluate_model(
    model_uri: str,
    test_path: str,
    *,
    output_dir: str = "sparktag_eval",
    tracking_uri: str | None = None,
    experiment_name: str | None = None,
    track: bool = True,
    echo: Echo | None = print,
    compare_run_id: str | None = None,
) -> Any:
    """Tag a CoNLL test file with a model and write (and log) the reports of a training run's test set, and
    its error analysis (``error_analysis.html``, ``tagged_test_sentences.json``).

    Args:
        model_uri: ``models:/NAME@alias``, ``runs:/RUN_ID/model`` or a local model/pipeline folder.
        test_path: the CoNLL test file (folder or glob).
        output_dir: folder for the reports, chart and ``scores.json``.
        tracking_uri, experiment_name: where the model is loaded from and the new run goes; ``None``:
            the ``MLFLOW_*`` variables, else ``sqlite:///mlflow.db`` and ``sparktag``.
        track: log a new run (params ``model_uri``/``test_path``, the scores, reports, error analysis, chart,
            test dataset).
        echo: where the reports and summary go (``None``: silent).
        compare_run_id: a run that logged ``tagged_test_sentences.json`` (a training or evaluation run): the
            page gets a section of the entities fixed and broken since that run.

    Returns:
        An :class:`~sparktag.tracking.experiment_result.ExperimentResult` (``run_id`` ``None`` when not tracked;
        ``tracking_error`` says why tracking failed, the files are kept).

    Raises:
        PreviousRunError: ``compare_run_id`` is not a run of the store or has no ``tagged_test_sentences.json``
            (raised before the model is loaded).
    """
    import dataclasses

    import mlflow

    from sparktag.tracking.connection import check_reachable
    from sparktag.tracking.error_report import (
        ERROR_REPORT_FILES,
        download_tagged_sentences,
        write_error_report,
    )
    from sparktag.tracking.experiment_result import ExperimentResult
    from sparktag.tracking.settings import open_experiment, resolve_settings, use_settings

    say: Echo = echo or (lambda _line: None)
    settings = resolve_settings(tracking_uri, experiment_name)
    out = Path(output_dir).resolve()
    timings: dict[str, float] = {}
    with use_settings(settings):
        previous, previous_label = (
            download_tagged_sentences(compare_run_id, settings.tracking_uri)
            if compare_run_id
            else (None, None)
        )
        started = time.perf_counter()
        light = load_light(model_uri)
        timings["load_time_s"] = time.perf_counter() - started
        started = time.perf_counter()
        texts, labels, sentences = tag_test_file(light, test_path)
        timings["inference_time_s"] = time.perf_counter() - started
        gold, pred = [s.gold for s in sentences], [s.pred for s in sentences]
        scores, n_tokens = write_test_reports(gold, pred, out)
        title = f"{redact_uri(model_uri)} on {os.path.basename(test_path)}"
        write_error_report(out, sentences, title=title, previous=previous, previous_label=previous_label)
        sizes = {"test_size": float(len(texts)), "test_tokens": float(n_tokens)}
        metrics = {**scores, **sizes, **timings}
        (out / "scores.json").write_text(json.dumps(metrics, indent=1), encoding="utf-8")
        say((out / "classification_report.txt").read_text(encoding="utf-8"))
        say((out / "entity_report.txt").read_text(encoding="utf-8"))
        result = ExperimentResult(None, None, model_uri, None, scores, str(out), None, timings, settings)
        if not track:
            result.settings = None
            return result
        unreachable = check_reachable(settings.tracking_uri)
        try:
            if unreachable:
                raise ConnectionError(unreachable)
            experiment_id, name = open_experiment(settings)
            result.settings = dataclasses.replace(settings, experiment_name=name)
            with mlflow.start_run(
                experiment_id=experiment_id, run_name=f"evaluate {os.path.basename(test_path)}"
            ):
                run = mlflow.active_run()
                assert run is not None
                result.run_id, result.experiment_id = run.info.run_id, experiment_id
                mlflow.set_tag("sparktag.evaluated_model", redact_uri(model_uri))
                if compare_run_id:
                    mlflow.set_tag("sparktag.compared_with_run", compare_run_id)
                mlflow.log_params(
                    redact_params({"model_uri": model_uri, "test_path": os.path.abspath(test_path)})
                )
                mlflow.log_metrics(metrics)
                mlflow.log_input(_test_dataset(texts, labels, test_path), context="test")
                for file in (
                    "classification_report.txt",
                    "entity_report.txt",
                    "scores.json",
                    *ERROR_REPORT_FILES,
                ):
                    mlflow.log_artifact(str(out / file))
                mlflow.log_artifacts(str(out / "charts"), "charts")
        except Exception as err:
            result.tracking_error = (
                f"MLflow at {redact_uri(settings.tracking_uri)}: {redact_uri(f'{type(err).__name__}: {err}')}. "
                f"The reports are kept in {out}"
            )
    return result


def _test_dataset(texts: list[str], labels: list[str], path: str) -> Any:
    """The test file as an ``mlflow.data`` dataset (text and gold tags), as a training run logs it."""
    import warnings

    import mlflow.data
    import pandas as pd

    frame = pd.DataFrame({"text": texts, "tags": labels})
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="The specified dataset source can be interpreted")
        return mlflow.data.from_pandas(  # type: ignore[attr-defined]
            frame, source=Path(path).resolve().as_uri(), name="test", targets="tags"
        )

"""The error analysis every evaluated run logs: ``error_analysis.html`` and ``tagged_test_sentences.json``.

:func:`~sparktag.tracking.experiment.run_experiment`, ``sparktag evaluate``
(:func:`~sparktag.tracking.evaluation.evaluate_model`) and autologging with a ``testDataset`` each tag a test
set and hand it here:

* :func:`tagged_sentence` turns one sentence's annotations (a Spark row or a LightPipeline result) into a
  :class:`~sparktag.tracking.error_analysis.TaggedSentence`: the tokens, the gold tags matched to them by span,
  the predicted tags and the ``confidence`` metadata of NerDLModel's ``includeConfidence``;
* :func:`write_error_report` writes both files into a folder (the page drawn by
  :func:`~sparktag.tracking.error_analysis.write_error_analysis`);
* :func:`download_tagged_sentences` reads back the tagged sentences an earlier run logged, to compare with
  (``sparktag evaluate ... --compare RUN_ID``).

    >>> sentences = [tagged_sentence(r["token"], r["label"], r["ner"]) for r in rows]  # doctest: +SKIP
    >>> write_error_report("out", sentences, title="ner on testa")  # doctest: +SKIP
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from sparktag.annotation import Annotation
from sparktag.tracking.error_analysis import (
    ERROR_ANALYSIS_FILE,
    TAGGED_SENTENCES_FILE,
    TaggedSentence,
    read_tagged_sentences,
    write_error_analysis,
    write_tagged_sentences,
)
from sparktag.tracking.redact import redact_uri

#: the files of the error analysis, logged at the root of a run's artifacts
ERROR_REPORT_FILES = (ERROR_ANALYSIS_FILE, TAGGED_SENTENCES_FILE)


class PreviousRunError(FileNotFoundError):
    """The run to compare with has no readable ``tagged_test_sentences.json`` (or the store is out of reach)."""


def _annotations(values: Iterable[Any] | None) -> list[Annotation]:
    """Annotations of a Spark cell (``Row`` objects) or of a LightPipeline result (Annotation objects)."""
    return [v if isinstance(v, Annotation) else Annotation.from_dict(v) for v in values or []]


def _confidence(annotation: Annotation) -> float | None:
    value = (annotation.metadata or {}).get("confidence")
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


def tagged_sentence(tokens: Iterable[Any], labels: Iterable[Any], ner: Iterable[Any]) -> TaggedSentence:
    """One row's tokens with their gold tags (matched by character span), predicted tags and confidences.

    Args:
        tokens, labels, ner: the row's ``token``, gold ``label`` and predicted ``ner`` annotations (Spark
            ``Row`` objects or :class:`~sparktag.annotation.Annotation`).

    Returns:
        The tagged sentence; a token the ``ner`` column does not tag is ``O``, its confidence None (as is every
        confidence of a model without ``includeConfidence``).
    """
    from sparktag.core.labels import align_labels

    words = _annotations(tokens)
    predicted = {a.begin: a for a in _annotations(ner)}
    found = [predicted.get(t.begin) for t in words]
    confidence = [_confidence(a) if a is not None else None for a in found]
    return TaggedSentence(
        words=[t.result for t in words],
        gold=align_labels(words, _annotations(labels)),
        pred=[a.result if a is not None else "O" for a in found],
        confidence=confidence if any(c is not None for c in confidence) else None,
    )


def write_error_report(
    folder: str | os.PathLike[str],
    sentences: Sequence[TaggedSentence],
    *,
    title: str,
    previous: Sequence[TaggedSentence] | None = None,
    previous_label: str | None = None,
) -> list[Path]:
    """Write ``error_analysis.html`` and ``tagged_test_sentences.json`` of a tagged test set into ``folder``.

    Args:
        folder: where to write them (created).
        sentences: the tagged test set.
        title: the page's heading (the model, the run).
        previous, previous_label: a previous run's tagged test set and its name, for the page's comparison.

    Returns:
        The two paths, the page first.
    """
    out = Path(folder)
    page = write_error_analysis(
        out / ERROR_ANALYSIS_FILE, sentences, title=title, previous=previous, previous_label=previous_label
    )
    return [page, write_tagged_sentences(out / TAGGED_SENTENCES_FILE, sentences)]


def download_tagged_sentences(
    run_id: str, tracking_uri: str | None = None
) -> tuple[list[TaggedSentence], str]:
    """The tagged test set run ``run_id`` logged (its ``tagged_test_sentences.json``), to compare with.

    Args:
        run_id: the MLflow run.
        tracking_uri: its store (default: MLflow's current tracking URI).

    Returns:
        ``(sentences, label)``: the sentences, and what the page calls the run (``run <id> (<run name>)``).

    Raises:
        PreviousRunError: the run is not in the store, the store cannot be reached, or the run has no such file
            (it was tracked by an older sparktag, or tagged no test set); the message says what to do.
    """
    import mlflow
    from mlflow.exceptions import MlflowException
    from mlflow.tracking import MlflowClient

    from sparktag.tracking.connection import check_reachable

    uri = tracking_uri or mlflow.get_tracking_uri()
    where = f"the tracking store {redact_uri(uri)}"
    unreachable = check_reachable(uri)  # fail in seconds, not after MLflow's minutes of retries
    if unreachable:
        raise PreviousRunError(
            f"cannot compare with run {run_id}: {where} is unreachable ({redact_uri(unreachable)}); start it, "
            "or point --tracking-uri at the store that holds the run"
        )
    try:
        name = MlflowClient(uri).get_run(run_id).info.run_name
    except MlflowException as err:
        why = next(iter(str(err).splitlines()), type(err).__name__)
        raise PreviousRunError(
            f"cannot compare with run {run_id!r}: it is not a run of {where} ({why}); "
            "give the id of a run there (the training or `sparktag evaluate` run to compare with), or point "
            "--tracking-uri at the store that holds it"
        ) from None
    with tempfile.TemporaryDirectory(prefix="sparktag-compare-") as tmp:
        try:
            local = mlflow.artifacts.download_artifacts(
                run_id=run_id, artifact_path=TAGGED_SENTENCES_FILE, dst_path=tmp, tracking_uri=uri
            )
        except (MlflowException, OSError) as err:
            raise PreviousRunError(
                f"cannot compare with run {run_id} of {where}: it has no artifact {TAGGED_SENTENCES_FILE} "
                f"({type(err).__name__}); a run logs it beside {ERROR_ANALYSIS_FILE} when it tags a test set "
                "with this version of sparktag. Evaluate that run's model with this version first (sparktag "
                "evaluate MODEL TEST) and pass the new run's id to --compare"
            ) from None
        try:
            sentences = read_tagged_sentences(local)
        except ValueError as err:
            raise PreviousRunError(f"cannot compare with run {run_id} of {where}: {err}") from None
    return sentences, f"run {run_id}" + (f" ({name})" if name else "")

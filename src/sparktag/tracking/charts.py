"""Training charts as PNG files, drawn from the per-epoch history of a NerDL training.

A history is either the training's own :class:`~sparktag.ner.events.EpochEnded` events (what the trainer
emits and MLflow autologging charts; they carry entity-level conlleval scores too) or the records
:func:`sparktag.ner.log.parse_log` reads from any Spark NLP NerDL log file, ours or Spark NLP's (token-level
only). The charts read either through the few readers below; neither is converted into the other.

* :func:`plot_prec_rec_f1`, :func:`plot_macro_micro`, :func:`plot_loss`: scores and loss by epoch;
* :func:`plot_confusion`: chunk-level entity-type confusion matrix
  (:func:`sparktag.ner.metrics.confusion_counts`);
* :func:`write_charts`: every chart that applies, with fixed file names (what MLflow autologging logs).

spark-nlp-workshop's ``get_charts``/``loss_plot`` are in :mod:`sparktag.tracking.ner_image_log_parser`.

A chart whose data is absent (no test set, a log written without ``evaluationLogExtended``, entity-level
scores asked of a parsed log) is not drawn: the function returns ``None`` and writes nothing.
Figures are drawn by :mod:`sparktag.tracking.figures` (no pyplot; matplotlib imported on first use).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Union

from sparktag.core.chunks import split_tag
from sparktag.ner.events import EpochEnded, LabelCounts
from sparktag.ner.metrics import confusion_counts
from sparktag.tracking.figures import (
    label_key,
    legend,
    line_styles,
    new_figure,
    save_figure,
    style_axes,
    suptitle,
)

if TYPE_CHECKING:
    from matplotlib.figure import Figure

METRICS = (("precision", "Precision"), ("recall", "Recall"), ("f1", "F1"))
LEVELS = ("token", "entity")

#: a training's EpochEnded events, or the records parse_log reads from a NerDL log file
History = Union[Sequence[EpochEnded], Sequence[dict[str, Any]]]  # noqa: UP007 - a runtime alias on 3.10


# ---------------------------------------------------------------------------------------------------------
# Reading a history: the only place that knows its two sources


def _field(record: EpochEnded | dict[str, Any], name: str) -> Any:
    """``epoch``, ``loss`` or ``graph`` of one epoch (None when the source lacks it: events carry no graph)."""
    return record.get(name) if isinstance(record, dict) else getattr(record, name, None)


def _evaluation(record: EpochEnded | dict[str, Any], dataset: str, level: str) -> Any:
    """One epoch's evaluation of ``dataset`` that has scores at ``level``, or None."""
    if level not in LEVELS:
        raise ValueError(f"level={level!r} is not one of {', '.join(map(repr, LEVELS))}")
    if isinstance(record, EpochEnded):
        return getattr(record, dataset, None) if dataset in ("validation", "test") else None
    evaluation = record.get(dataset)
    # a log has token-level scores only
    return evaluation if isinstance(evaluation, dict) and level == "token" else None


def _labels(record: EpochEnded | dict[str, Any], dataset: str, level: str) -> dict[str, LabelCounts]:
    """One epoch's per-label counts of a dataset at a level (empty when it has none)."""
    evaluation = _evaluation(record, dataset, level)
    if evaluation is None:
        return {}
    if isinstance(record, EpochEnded):
        return dict(getattr(evaluation, level).per_label)
    rows = evaluation.get("labels") or {}
    return {label: LabelCounts(int(r["tp"]), int(r["fp"]), int(r["fn"])) for label, r in rows.items()}


def _average(record: EpochEnded | dict[str, Any], dataset: str, level: str, average: str) -> dict[str, Any]:
    """One epoch's ``macro`` or ``micro`` precision, recall and F1 of a dataset at a level (empty: none)."""
    evaluation = _evaluation(record, dataset, level)
    if evaluation is None:
        return {}
    if isinstance(record, EpochEnded):
        scores = getattr(evaluation, level)
        return {metric: getattr(scores, f"{average}_{metric}") for metric, _ in METRICS}
    return dict(evaluation.get(average) or {})


def datasets(history: History) -> list[str]:
    """The evaluated datasets of a history: ``validation``, ``test``, then others (an old log's ``train``)."""
    found: set[str] = set()
    for record in history:
        if isinstance(record, EpochEnded):
            found.update(name for name in ("validation", "test") if getattr(record, name) is not None)
            continue
        for key, value in record.items():
            if isinstance(value, dict) and "macro" in value and "labels" in value:
                found.add(key)
    order = {"validation": 0, "test": 1}
    return sorted(found, key=lambda name: (order.get(name, 2), name))


def graph_name(history: History, graph: str | None = None) -> str | None:
    """``graph`` when given, else the graph a log names (events carry none: the listener passes it)."""
    return graph or next((str(g) for r in history if (g := _field(r, "graph"))), None)


def _x_values(history: History) -> tuple[list[int], str]:
    """The x coordinate of each record, and the axis label.

    Epoch numbers when they increase; a log that holds several trainings (Spark NLP appends to
    ``<uid>.log`` when the same estimator is fit again) restarts at 1, so its records are numbered in order.
    """
    epochs = [_field(record, "epoch") for record in history]
    numbers = [e for e in epochs if isinstance(e, int)]
    if len(numbers) == len(epochs) and all(a < b for a, b in zip(numbers, numbers[1:], strict=False)):
        return numbers, "epoch"
    return list(range(1, len(history) + 1)), "epoch (in log order, all trainings)"


def _number(value: Any) -> float:
    return float(value) if isinstance(value, (int, float)) else math.nan


def _by_type(labels: dict[str, LabelCounts]) -> dict[str, LabelCounts]:
    """Sum per-tag counts by entity type (``B-PER`` + ``I-PER`` -> ``PER``), as the workshop does."""
    sums: dict[str, LabelCounts] = {}
    for label, counts in labels.items():
        total = sums.setdefault(split_tag(label)[1] or label, LabelCounts())
        total.tp, total.fp, total.fn = total.tp + counts.tp, total.fp + counts.fp, total.fn + counts.fn
    return sums


# ---------------------------------------------------------------------------------------------------------
# Score grids (also drawn by spark-nlp-workshop's get_charts)


def _series(
    history: History, dataset: str, level: str, by_type: bool = False
) -> tuple[list[int], str, dict[str, dict[str, list[float]]]]:
    """Per-label series of one dataset: ``{label: {metric: [value per record]}}``, NaN where absent."""
    xs, xlabel = _x_values(history)
    per_record = []
    for record in history:
        labels = _labels(record, dataset, level)
        per_record.append(_by_type(labels) if by_type and labels else labels)
    names = sorted({label for labels in per_record for label in labels}, key=label_key)
    series = {
        name: {
            metric: [getattr(labels[name], metric) if name in labels else math.nan for labels in per_record]
            for metric, _ in METRICS
        }
        for name in names
    }
    return xs, xlabel, series


def draw_label_grid(
    history: History, dsets: Sequence[str], level: str, by_type: bool, threshold: float | None = None
) -> Figure | None:
    """Rows: datasets; columns: precision, recall, F1; one line per label. None if no dataset has labels."""
    rows = []
    for dataset in dsets:
        xs, xlabel, series = _series(history, dataset, level, by_type)
        if threshold is not None:  # the workshop's filter: keep labels whose F1 ever exceeds it
            series = {
                k: v for k, v in series.items() if any(f > threshold for f in v["f1"] if not math.isnan(f))
            }
        if series:
            rows.append((dataset, xs, xlabel, series))
    if not rows:
        return None
    all_labels = sorted({label for *_, series in rows for label in series}, key=label_key)
    # Colors from every dataset's labels, so a type keeps its color in the validation and the test chart.
    every = {label for d in datasets(history) for label in _series(history, d, level, by_type)[2]}
    styles = line_styles(sorted(every | set(all_labels), key=label_key))
    fig = new_figure(15, 4.2 * len(rows) + 0.8)
    axes = fig.subplots(len(rows), len(METRICS), squeeze=False, sharey=True)
    for r, (dataset, xs, xlabel, series) in enumerate(rows):
        for c, (metric, metric_title) in enumerate(METRICS):
            ax = axes[r][c]
            for label, values in series.items():
                ax.plot(xs, values[metric], label=label, markersize=4, **styles[label])
            style_axes(ax, f"{dataset} - {metric_title}", xlabel, xs)
        axes[r][0].set_ylabel("score")
    legend(fig, axes, all_labels, "entity type" if by_type or level == "entity" else "label")
    return fig


def draw_average_grid(history: History, dsets: Sequence[str], level: str) -> Figure | None:
    """Rows: datasets; columns: precision, recall, F1; a macro and a micro line. None if nothing to draw."""
    xs, xlabel = _x_values(history)
    rows = []
    for dataset in dsets:
        lines = {}
        for average in ("macro", "micro"):
            values = {
                metric: [_number(_average(record, dataset, level, average).get(metric)) for record in history]
                for metric, _ in METRICS
            }
            if any(not math.isnan(v) for vs in values.values() for v in vs):
                lines[average] = values
        if lines:
            rows.append((dataset, lines))
    if not rows:
        return None
    styles = {"macro": {"color": "tab:blue", "marker": "o"}, "micro": {"color": "tab:orange", "marker": "s"}}
    fig = new_figure(15, 4.2 * len(rows) + 0.8)
    axes = fig.subplots(len(rows), len(METRICS), squeeze=False, sharey=True)
    for r, (dataset, lines) in enumerate(rows):
        for c, (metric, metric_title) in enumerate(METRICS):
            ax = axes[r][c]
            for average, values in lines.items():
                ax.plot(xs, values[metric], label=f"{average}-average", markersize=4, **styles[average])
            style_axes(ax, f"{dataset} - {metric_title}", xlabel, xs)
        axes[r][0].set_ylabel("score")
    legend(fig, axes, ["macro-average", "micro-average"], "average")
    return fig


# ---------------------------------------------------------------------------------------------------------
# Public charts


def plot_prec_rec_f1(
    history: History,
    path: str | Path,
    dataset: str = "validation",
    level: str = "token",
    by_type: bool = False,
    *,
    graph: str | None = None,
) -> str | None:
    """Per-label precision, recall and F1 by epoch: three panels, one line per label.

    Args:
        history: the training's :class:`EpochEnded` events, or :func:`~sparktag.ner.log.parse_log`'s records.
        path: the image to write (PNG; ``.jpg``/``.svg``/``.pdf`` suffixes pick that format).
        dataset: ``"validation"``, ``"test"`` (or an old log's ``"train"``).
        level: ``"token"``: the log's per-tag scores (``B-PER``, ``I-PER``, ...; only in extended logs);
            ``"entity"``: conlleval per-type scores (only in a history of events).
        by_type: at token level, sum each type's tag counts into one line per type (``PER``), as
            spark-nlp-workshop's charts do.
        graph: the network's graph, named under the title (default: the one a log names, if any).

    Returns:
        The path written, or ``None`` (nothing written) if the history has no per-label scores for the
        dataset at that level.

    Example:
        >>> plot_prec_rec_f1(parse_log("NerDLApproach_0123.log"), "prf.png", dataset="test")  # doctest: +SKIP
        'prf.png'
    """
    fig = draw_label_grid(history, [dataset], level, by_type)
    if fig is None:
        return None
    what = "per entity type" if by_type or level == "entity" else "per label"
    suptitle(fig, f"{dataset}: {level}-level precision / recall / F1 {what}", graph_name(history, graph))
    return save_figure(fig, path)


def plot_macro_micro(
    history: History,
    path: str | Path,
    dataset: str = "validation",
    level: str = "token",
    *,
    graph: str | None = None,
) -> str | None:
    """Macro- and micro-averaged precision, recall and F1 by epoch: three panels, two lines.

    Macro averages follow the NerDL log (means of per-label precision and recall; F1 their harmonic mean).
    Args and returns as :func:`plot_prec_rec_f1`; ``None`` if the dataset has no averages at that level.
    """
    fig = draw_average_grid(history, [dataset], level)
    if fig is None:
        return None
    suptitle(fig, f"{dataset}: {level}-level macro and micro averages", graph_name(history, graph))
    return save_figure(fig, path)


def plot_loss(history: History, path: str | Path, *, graph: str | None = None) -> str | None:
    """Training loss (summed over the epoch's batches, as the log prints it) by epoch.

    The y axis turns logarithmic when the loss spans more than two orders of magnitude; ``graph`` as in
    :func:`plot_prec_rec_f1`.

    Returns:
        The path written, or ``None`` if no epoch has a loss.
    """
    xs, xlabel = _x_values(history)
    losses = [_number(_field(record, "loss")) for record in history]
    finite = [v for v in losses if math.isfinite(v)]
    if not finite:
        return None
    fig = new_figure(8, 5)
    ax = fig.subplots()
    ax.plot(xs, losses, color="tab:red", marker="o", markersize=4, label="training loss")
    style_axes(ax, "", xlabel, xs, ylim=False)
    ax.set_ylabel("loss (sum over batches)")
    if min(finite) > 0 and max(finite) / min(finite) > 100:
        ax.set_yscale("log")
    suptitle(fig, "Training loss by epoch", graph_name(history, graph))
    return save_figure(fig, path)


def plot_confusion(
    gold_tags: Sequence[Sequence[str]], pred_tags: Sequence[Sequence[str]], path: str | Path
) -> str | None:
    """Draw :func:`~sparktag.ner.metrics.confusion_counts` as an annotated heat map (rows gold, columns
    predicted).

    Returns:
        The path written, or ``None`` if neither gold nor predictions hold a single chunk.
    """
    labels, matrix = confusion_counts(gold_tags, pred_tags)
    if not any(map(any, matrix)):
        return None
    n = len(labels)
    side = max(5.0, 0.75 * n + 2.5)
    fig = new_figure(side + 1.2, side)
    ax = fig.subplots()
    image = ax.imshow(matrix, cmap="Blues", vmin=0)
    fig.colorbar(image, ax=ax, shrink=0.8, label="chunks")
    peak = max(map(max, matrix))
    for i in range(n):
        for j in range(n):
            if i == j == n - 1:
                continue  # (none, none) is not a thing: leave the cell blank
            count = matrix[i][j]
            ax.text(
                j,
                i,
                str(count),
                ha="center",
                va="center",
                fontsize=10,
                color="white" if count > peak * 0.6 else "black",
                fontweight="bold" if i == j else "normal",
            )
    ax.set_xticks(range(n), labels, rotation=45, ha="right")
    ax.set_yticks(range(n), labels)
    ax.set_xlabel('predicted type ("(none)": missed gold entity)')
    ax.set_ylabel('gold type ("(none)": spurious prediction)')
    ax.set_title("Entity-type confusion (chunks matched by exact span)", fontsize=12)
    return save_figure(fig, path)


def write_charts(
    history: History,
    out_dir: str | Path,
    gold: Sequence[Sequence[str]] | None = None,
    pred: Sequence[Sequence[str]] | None = None,
    *,
    graph: str | None = None,
) -> dict[str, str]:
    """Write every chart that applies into ``out_dir``, with fixed file names.

    For each evaluated dataset ``<ds>`` (``validation``, ``test``): ``prec_rec_f1_<ds>.png`` (token level, per
    tag), ``macro_micro_<ds>.png``, and, when the history has entity-level scores,
    ``entity_prec_rec_f1_<ds>.png`` and ``entity_macro_micro_<ds>.png``; then ``loss.png``; and
    ``confusion_matrix.png`` when ``gold`` and ``pred`` tags are given. ``graph`` is named under each title
    (default: the one a log names).

    Returns:
        ``{name: path}`` of the files written, name being the file name without ``.png``.

    Example:
        >>> write_charts(parse_log("NerDLApproach_0123.log"), "charts")  # doctest: +SKIP
        {'prec_rec_f1_validation': 'charts/prec_rec_f1_validation.png', ..., 'loss': 'charts/loss.png'}
    """
    out = Path(out_dir)
    written: dict[str, str | None] = {}
    for dataset in datasets(history):
        written[f"prec_rec_f1_{dataset}"] = plot_prec_rec_f1(
            history, out / f"prec_rec_f1_{dataset}.png", dataset, graph=graph
        )
        written[f"macro_micro_{dataset}"] = plot_macro_micro(
            history, out / f"macro_micro_{dataset}.png", dataset, graph=graph
        )
        written[f"entity_prec_rec_f1_{dataset}"] = plot_prec_rec_f1(
            history, out / f"entity_prec_rec_f1_{dataset}.png", dataset, level="entity", graph=graph
        )
        written[f"entity_macro_micro_{dataset}"] = plot_macro_micro(
            history, out / f"entity_macro_micro_{dataset}.png", dataset, level="entity", graph=graph
        )
    written["loss"] = plot_loss(history, out / "loss.png", graph=graph)
    if gold is not None and pred is not None:
        written["confusion_matrix"] = plot_confusion(gold, pred, out / "confusion_matrix.png")
    return {name: path for name, path in written.items() if path is not None}

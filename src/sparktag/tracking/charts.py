"""Training charts as PNG files, drawn from the per-epoch history of a NerDL training.

The history is the list of per-epoch dicts :func:`sparktag.ner.log.parse_log` returns, so every chart here
works from any Spark NLP NerDL log file, ours or Spark NLP's; :func:`history_from_events` builds the same
shape from the trainer's :class:`~sparktag.ner.events.EpochEnded` events and adds entity-level (conlleval)
scores under ``<dataset>["entity"]``, which a log file does not carry.

* :func:`plot_prec_rec_f1`, :func:`plot_macro_micro`, :func:`plot_loss`: scores and loss by epoch;
* :func:`confusion_counts` / :func:`plot_confusion`: chunk-level entity-type confusion matrix;
* :func:`write_charts`: every chart that applies, with fixed file names (what MLflow autologging logs);
* :func:`get_charts` / :func:`loss_plot`: drop-in replacements for spark-nlp-workshop's
  ``ner_image_log_parser`` (which no longer runs on NumPy 2: it uses the removed ``np.float``).

A chart whose data is absent (no test set, a log written without ``evaluationLogExtended``, entity-level
scores asked of a parsed log) is not drawn: the function returns ``None`` and writes nothing.

Figures are built with :class:`matplotlib.figure.Figure` and saved by the Agg canvas, never through pyplot,
so drawing neither changes the caller's backend nor opens windows; matplotlib is imported on first use.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sparktag.core.chunks import split_tag, tags_to_chunks
from sparktag.ner.events import EpochEnded, EpochStarted, Evaluation, Event, Scores, TrainingStarted
from sparktag.ner.log import parse_log

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

NONE = "(none)"  # the confusion matrix's row for spurious predictions and column for missed entities
METRICS = (("precision", "Precision"), ("recall", "Recall"), ("f1", "F1"))
LEVELS = ("token", "entity")
DPI = 100

History = Sequence[dict[str, Any]]


# ---------------------------------------------------------------------------------------------------------
# History: reading what the charts plot


def history_from_events(events: Iterable[Event]) -> list[dict[str, Any]]:
    """The per-epoch history of a training, from its events, in :func:`~sparktag.ner.log.parse_log`'s shape.

    Args:
        events: the trainer's events; only :class:`EpochEnded` is required. A :class:`TrainingStarted`
            supplies ``graph`` and an :class:`EpochStarted` the epoch's ``dataset_size``; others are ignored.

    Returns:
        One dict per ended epoch, with the keys ``parse_log`` gives. Each evaluation (``validation``,
        ``test``) holds the token-level scores under ``labels``/``totals``/``macro``/``micro`` as the log
        does, plus ``entity``: the entity-level (conlleval) scores with the same four keys. Values are
        computed in double precision, so they may differ from a log's ``Float`` values in the last digits.

    Example:
        >>> history = history_from_events(trainer_events)  # doctest: +SKIP
        >>> history[0]["validation"]["entity"]["micro"]["f1"]  # doctest: +SKIP
        0.8421052631578947
    """
    history: list[dict[str, Any]] = []
    graph: str | None = None
    dataset_sizes: dict[int, int] = {}
    for event in events:
        if isinstance(event, TrainingStarted):
            graph = event.graph
        elif isinstance(event, EpochStarted):
            dataset_sizes[event.epoch] = event.dataset_size
        elif isinstance(event, EpochEnded):
            history.append(
                {
                    "epoch": event.epoch,
                    "total_epochs": event.total_epochs,
                    "graph": graph,
                    "lr": event.lr,
                    "dataset_size": dataset_sizes.get(event.epoch),
                    "elapsed_s": event.elapsed_s,
                    "loss": event.loss,
                    "avg_loss": None,
                    "batches": event.batches,
                    "validation": _evaluation_dict(event.validation),
                    "test": _evaluation_dict(event.test),
                }
            )
    return history


def _scores_dict(scores: Scores) -> dict[str, Any]:
    """``labels``/``totals``/``macro``/``micro`` of one set of scores, as ``parse_log`` reads them."""
    total = scores.total
    return {
        "labels": {
            label: {
                "tp": c.tp,
                "fp": c.fp,
                "fn": c.fn,
                "precision": c.precision,
                "recall": c.recall,
                "f1": c.f1,
            }
            for label, c in scores.per_label.items()
        },
        "totals": {"tp": total.tp, "fp": total.fp, "fn": total.fn, "labels": len(scores.per_label)},
        "macro": {"precision": scores.macro_precision, "recall": scores.macro_recall, "f1": scores.macro_f1},
        "micro": {"precision": scores.micro_precision, "recall": scores.micro_recall, "f1": scores.micro_f1},
    }


def _evaluation_dict(evaluation: Evaluation | None) -> dict[str, Any] | None:
    if evaluation is None:
        return None
    return {
        "fraction": evaluation.fraction,
        "examples": evaluation.examples,
        "elapsed_s": evaluation.elapsed_s,
        "loss": None,
        "avg_loss": None,
        **_scores_dict(evaluation.token),
        "entity": _scores_dict(evaluation.entity),
    }


def datasets(history: History) -> list[str]:
    """The evaluated datasets of a history: ``validation``, ``test``, then others (an old log's ``train``)."""
    found: set[str] = set()
    for record in history:
        for key, value in record.items():
            if isinstance(value, dict) and "macro" in value and "labels" in value:
                found.add(key)
    order = {"validation": 0, "test": 1}
    return sorted(found, key=lambda name: (order.get(name, 2), name))


def _scores(record: dict[str, Any], dataset: str, level: str) -> dict[str, Any] | None:
    """One epoch's scores for a dataset at a level, or None if that epoch has none."""
    if level not in LEVELS:
        raise ValueError(f"level={level!r} is not one of {', '.join(map(repr, LEVELS))}")
    evaluation = record.get(dataset)
    if not isinstance(evaluation, dict):
        return None
    scores = evaluation if level == "token" else evaluation.get("entity")
    return scores if isinstance(scores, dict) else None


def _x_values(history: History) -> tuple[list[int], str]:
    """The x coordinate of each record, and the axis label.

    Epoch numbers when they increase; a log that holds several trainings (Spark NLP appends to
    ``<uid>.log`` when the same estimator is fit again) restarts at 1, so its records are numbered in order.
    """
    epochs = [record.get("epoch") for record in history]
    numbers = [e for e in epochs if isinstance(e, int)]
    if len(numbers) == len(epochs) and all(a < b for a, b in zip(numbers, numbers[1:], strict=False)):
        return numbers, "epoch"
    return list(range(1, len(history) + 1)), "epoch (in log order, all trainings)"


def _number(value: Any) -> float:
    return float(value) if isinstance(value, (int, float)) else math.nan


def _label_key(label: str) -> tuple[str, int, str]:
    """Sort key grouping a type's tags: ``B-LOC, I-LOC, B-PER, ...``; entity types sort by name."""
    prefix, entity = split_tag(label)
    if not entity:  # an entity type (``PER``) or a tag without a prefix
        return (label, -1, "")
    return (entity, "SBIE".find(prefix) if prefix in "SBIE" else 4, prefix)


# ---------------------------------------------------------------------------------------------------------
# Drawing helpers


def _new_figure(width_in: float, height_in: float) -> Figure:
    from matplotlib.figure import Figure

    return Figure(figsize=(width_in, height_in), dpi=DPI, layout="constrained")


def _save(fig: Figure, path: str | Path) -> str:
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    FigureCanvasAgg(fig)  # attach the Agg canvas explicitly: no pyplot, whatever the global backend
    fig.savefig(out, dpi=DPI, format=_image_format(out))
    return str(out)


def _image_format(path: Path) -> str:
    """The file's format from its suffix (``.jpg`` as the workshop notebooks use it), PNG by default."""
    suffix = path.suffix.lower().lstrip(".")
    return {"jpg": "jpeg", "jpeg": "jpeg", "svg": "svg", "pdf": "pdf"}.get(suffix, "png")


def _style_axes(ax: Axes, title: str, xlabel: str, xs: Sequence[int], ylim: bool = True) -> None:
    from matplotlib.ticker import MaxNLocator

    ax.set_title(title, fontsize=11)
    ax.set_xlabel(xlabel)
    ax.grid(True, alpha=0.3)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    if len(xs) == 1:
        ax.set_xlim(xs[0] - 0.5, xs[0] + 0.5)
    if ylim:
        ax.set_ylim(-0.02, 1.02)


def _graph_name(history: History) -> str | None:
    for record in history:
        graph = record.get("graph")
        if graph:
            return str(graph).replace("\\", "/").split("/")[-1]
    return None


def _suptitle(fig: Figure, title: str, history: History) -> None:
    graph = _graph_name(history)
    fig.suptitle(f"{title}\n{graph}" if graph else title, fontsize=13)


def _line_styles(labels: Sequence[str]) -> dict[str, dict[str, Any]]:
    """A color per entity type and a line style per prefix, so ``B-PER`` and ``I-PER`` read as a pair."""
    import matplotlib as mpl

    types = sorted({_label_key(label)[0] for label in labels})
    palette = mpl.colormaps["tab10" if len(types) <= 10 else "tab20"]  # integer lookup: the i-th color
    dashes = {"B": "-", "S": "-", "I": "--", "E": ":"}
    markers = {"B": "o", "S": "o", "I": "s", "E": "^"}
    styles = {}
    for label in labels:
        prefix, entity = split_tag(label)
        color = palette(types.index(_label_key(label)[0]) % palette.N)
        styles[label] = {
            "color": color,
            "linestyle": dashes.get(prefix, "-") if entity else "-",
            "marker": markers.get(prefix, "o") if entity else "o",
        }
    return styles


def _aggregate_by_type(labels: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Sum a log's per-tag counts by entity type (``B-PER`` + ``I-PER`` -> ``PER``), as the workshop does."""
    sums: dict[str, list[int]] = {}
    for label, row in labels.items():
        entity = split_tag(label)[1] or label
        tp_fp_fn = sums.setdefault(entity, [0, 0, 0])
        for i, key in enumerate(("tp", "fp", "fn")):
            tp_fp_fn[i] += int(row.get(key) or 0)
    out = {}
    for entity, (tp, fp, fn) in sums.items():
        p = tp / (tp + fp) if tp + fp else 0.0
        r = tp / (tp + fn) if tp + fn else 0.0
        out[entity] = {
            "tp": tp,
            "fp": fp,
            "fn": fn,
            "precision": p,
            "recall": r,
            "f1": 2 * p * r / (p + r) if p + r else 0.0,
        }
    return out


def _series(
    history: History, dataset: str, level: str, by_type: bool = False
) -> tuple[list[int], str, dict[str, dict[str, list[float]]]]:
    """Per-label series of one dataset: ``{label: {metric: [value per record]}}``, NaN where absent."""
    xs, xlabel = _x_values(history)
    per_record = []
    for record in history:
        scores = _scores(record, dataset, level)
        labels = dict(scores.get("labels") or {}) if scores else {}
        per_record.append(_aggregate_by_type(labels) if by_type and labels else labels)
    names = sorted({label for labels in per_record for label in labels}, key=_label_key)
    series = {
        name: {
            metric: [_number(labels.get(name, {}).get(metric)) for labels in per_record]
            for metric, _ in METRICS
        }
        for name in names
    }
    return xs, xlabel, series


def _draw_label_grid(
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
    all_labels = sorted({label for *_, series in rows for label in series}, key=_label_key)
    # Colors from every dataset's labels, so a type keeps its color in the validation and the test chart.
    every = {label for d in datasets(history) for label in _series(history, d, level, by_type)[2]}
    styles = _line_styles(sorted(every | set(all_labels), key=_label_key))
    fig = _new_figure(15, 4.2 * len(rows) + 0.8)
    axes = fig.subplots(len(rows), len(METRICS), squeeze=False, sharey=True)
    for r, (dataset, xs, xlabel, series) in enumerate(rows):
        for c, (metric, metric_title) in enumerate(METRICS):
            ax = axes[r][c]
            for label, values in series.items():
                ax.plot(xs, values[metric], label=label, markersize=4, **styles[label])
            _style_axes(ax, f"{dataset} - {metric_title}", xlabel, xs)
        axes[r][0].set_ylabel("score")
    _legend(fig, axes, all_labels, "entity type" if by_type or level == "entity" else "label")
    return fig


def _legend(fig: Figure, axes: Any, order: Sequence[str], title: str) -> None:
    """One legend for the whole figure, right of the plots, entries in ``order``."""
    handles: dict[str, Any] = {}
    for ax in axes.flat:
        for handle, label in zip(*ax.get_legend_handles_labels(), strict=True):
            handles.setdefault(label, handle)
    names = [name for name in order if name in handles]
    fig.legend([handles[n] for n in names], names, loc="outside right upper", title=title)


def _draw_average_grid(history: History, dsets: Sequence[str], level: str) -> Figure | None:
    """Rows: datasets; columns: precision, recall, F1; a macro and a micro line. None if nothing to draw."""
    xs, xlabel = _x_values(history)
    rows = []
    for dataset in dsets:
        lines = {}
        for average in ("macro", "micro"):
            values = {
                metric: [
                    _number(((_scores(record, dataset, level) or {}).get(average) or {}).get(metric))
                    for record in history
                ]
                for metric, _ in METRICS
            }
            if any(not math.isnan(v) for vs in values.values() for v in vs):
                lines[average] = values
        if lines:
            rows.append((dataset, lines))
    if not rows:
        return None
    styles = {"macro": {"color": "tab:blue", "marker": "o"}, "micro": {"color": "tab:orange", "marker": "s"}}
    fig = _new_figure(15, 4.2 * len(rows) + 0.8)
    axes = fig.subplots(len(rows), len(METRICS), squeeze=False, sharey=True)
    for r, (dataset, lines) in enumerate(rows):
        for c, (metric, metric_title) in enumerate(METRICS):
            ax = axes[r][c]
            for average, values in lines.items():
                ax.plot(xs, values[metric], label=f"{average}-average", markersize=4, **styles[average])
            _style_axes(ax, f"{dataset} - {metric_title}", xlabel, xs)
        axes[r][0].set_ylabel("score")
    _legend(fig, axes, ["macro-average", "micro-average"], "average")
    return fig


# ---------------------------------------------------------------------------------------------------------
# Public charts


def plot_prec_rec_f1(
    history: History,
    path: str | Path,
    dataset: str = "validation",
    level: str = "token",
    by_type: bool = False,
) -> str | None:
    """Per-label precision, recall and F1 by epoch: three panels, one line per label.

    Args:
        history: per-epoch dicts from :func:`~sparktag.ner.log.parse_log` or :func:`history_from_events`.
        path: the image to write (PNG; ``.jpg``/``.svg``/``.pdf`` suffixes pick that format).
        dataset: ``"validation"``, ``"test"`` (or an old log's ``"train"``).
        level: ``"token"``: the log's per-tag scores (``B-PER``, ``I-PER``, ...; only in extended logs);
            ``"entity"``: conlleval per-type scores (only in :func:`history_from_events` histories).
        by_type: at token level, sum each type's tag counts into one line per type (``PER``), as
            spark-nlp-workshop's charts do.

    Returns:
        The path written, or ``None`` (nothing written) if the history has no per-label scores for the
        dataset at that level.

    Example:
        >>> plot_prec_rec_f1(parse_log("NerDLApproach_0123.log"), "prf.png", dataset="test")  # doctest: +SKIP
        'prf.png'
    """
    fig = _draw_label_grid(history, [dataset], level, by_type)
    if fig is None:
        return None
    what = "per entity type" if by_type or level == "entity" else "per label"
    _suptitle(fig, f"{dataset}: {level}-level precision / recall / F1 {what}", history)
    return _save(fig, path)


def plot_macro_micro(
    history: History, path: str | Path, dataset: str = "validation", level: str = "token"
) -> str | None:
    """Macro- and micro-averaged precision, recall and F1 by epoch: three panels, two lines.

    Macro averages follow the NerDL log (means of per-label precision and recall; F1 their harmonic mean).
    Args and returns as :func:`plot_prec_rec_f1`; ``None`` if the dataset has no averages at that level.
    """
    fig = _draw_average_grid(history, [dataset], level)
    if fig is None:
        return None
    _suptitle(fig, f"{dataset}: {level}-level macro and micro averages", history)
    return _save(fig, path)


def plot_loss(history: History, path: str | Path) -> str | None:
    """Training loss (summed over the epoch's batches, as the log prints it) by epoch.

    The y axis turns logarithmic when the loss spans more than two orders of magnitude.

    Returns:
        The path written, or ``None`` if no epoch has a loss.
    """
    xs, xlabel = _x_values(history)
    losses = [_number(record.get("loss")) for record in history]
    finite = [v for v in losses if math.isfinite(v)]
    if not finite:
        return None
    fig = _new_figure(8, 5)
    ax = fig.subplots()
    ax.plot(xs, losses, color="tab:red", marker="o", markersize=4, label="training loss")
    _style_axes(ax, "", xlabel, xs, ylim=False)
    ax.set_ylabel("loss (sum over batches)")
    if min(finite) > 0 and max(finite) / min(finite) > 100:
        ax.set_yscale("log")
    _suptitle(fig, "Training loss by epoch", history)
    return _save(fig, path)


def confusion_counts(
    gold: Sequence[Sequence[str]], pred: Sequence[Sequence[str]]
) -> tuple[list[str], list[list[int]]]:
    """Chunk-level entity-type confusion counts.

    Chunks are read from each sentence's tags by :func:`~sparktag.core.chunks.tags_to_chunks` (conlleval's
    rules, any scheme). Matching is by exact span only, as strict CoNLL scoring is:

    * a gold chunk and a predicted chunk with the same first and last token count once in
      ``(gold type, predicted type)``: the diagonal is the entity-level ``tp``, off-diagonal cells are
      type confusions;
    * a gold chunk with no predicted chunk of the same span is missed: ``(gold type, "(none)")``;
    * a predicted chunk with no gold chunk of the same span is spurious: ``("(none)", predicted type)``.

    A partial overlap (``[PER Ann Lee]`` predicted as ``[PER Ann]``) is therefore one missed and one spurious
    chunk. With this rule, row sums minus the diagonal are conlleval's ``fn`` per type and column sums minus
    the diagonal its ``fp``, so the matrix agrees with :func:`sparktag.ner.metrics.entity_scores`.

    Args:
        gold: one list of tags per sentence.
        pred: the predicted tags, same shape.

    Returns:
        ``(labels, matrix)``: the entity types (sorted) followed by ``"(none)"``, used for both rows (gold)
        and columns (predicted); ``matrix[i][j]`` counts chunks of gold ``labels[i]`` predicted as
        ``labels[j]``. ``matrix[-1][-1]`` is always 0.

    Raises:
        ValueError: gold and pred differ in the number of sentences or of tags in a sentence.

    Example:
        >>> confusion_counts([["B-PER", "I-PER", "B-LOC"]], [["B-ORG", "I-ORG", "O"]])
        (['LOC', 'ORG', 'PER', '(none)'], [[0, 0, 0, 1], [0, 0, 0, 0], [0, 1, 0, 0], [0, 0, 0, 0]])
    """
    if len(gold) != len(pred):
        raise ValueError(
            f"gold has {len(gold)} sentences but pred has {len(pred)}; pass one tag list per sentence"
        )
    pairs: list[tuple[str, str]] = []
    for i, (g_tags, p_tags) in enumerate(zip(gold, pred, strict=True)):
        if len(g_tags) != len(p_tags):
            raise ValueError(
                f"sentence {i}: gold has {len(g_tags)} tags but pred has {len(p_tags)}; align them per token"
            )
        g_spans = {(c.start, c.end): c.entity for c in tags_to_chunks(g_tags)}
        p_spans = {(c.start, c.end): c.entity for c in tags_to_chunks(p_tags)}
        for span, g_type in g_spans.items():
            pairs.append((g_type, p_spans.get(span, NONE)))
        pairs.extend((NONE, p_type) for span, p_type in p_spans.items() if span not in g_spans)
    labels = sorted({t for pair in pairs for t in pair} - {NONE}) + [NONE]
    index = {label: i for i, label in enumerate(labels)}
    matrix = [[0] * len(labels) for _ in labels]
    for g_type, p_type in pairs:
        matrix[index[g_type]][index[p_type]] += 1
    return labels, matrix


def plot_confusion(
    gold_tags: Sequence[Sequence[str]], pred_tags: Sequence[Sequence[str]], path: str | Path
) -> str | None:
    """Draw :func:`confusion_counts` as an annotated heat map (rows gold, columns predicted).

    Returns:
        The path written, or ``None`` if neither gold nor predictions hold a single chunk.
    """
    labels, matrix = confusion_counts(gold_tags, pred_tags)
    if not any(map(any, matrix)):
        return None
    n = len(labels)
    side = max(5.0, 0.75 * n + 2.5)
    fig = _new_figure(side + 1.2, side)
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
    return _save(fig, path)


def write_charts(
    history: History,
    out_dir: str | Path,
    gold: Sequence[Sequence[str]] | None = None,
    pred: Sequence[Sequence[str]] | None = None,
) -> dict[str, str]:
    """Write every chart that applies into ``out_dir``, with fixed file names.

    For each evaluated dataset ``<ds>`` (``validation``, ``test``): ``prec_rec_f1_<ds>.png`` (token level, per
    tag), ``macro_micro_<ds>.png``, and, when the history has entity-level scores,
    ``entity_prec_rec_f1_<ds>.png`` and ``entity_macro_micro_<ds>.png``; then ``loss.png``; and
    ``confusion_matrix.png`` when ``gold`` and ``pred`` tags are given.

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
            history, out / f"prec_rec_f1_{dataset}.png", dataset
        )
        written[f"macro_micro_{dataset}"] = plot_macro_micro(
            history, out / f"macro_micro_{dataset}.png", dataset
        )
        written[f"entity_prec_rec_f1_{dataset}"] = plot_prec_rec_f1(
            history, out / f"entity_prec_rec_f1_{dataset}.png", dataset, level="entity"
        )
        written[f"entity_macro_micro_{dataset}"] = plot_macro_micro(
            history, out / f"entity_macro_micro_{dataset}.png", dataset, level="entity"
        )
    written["loss"] = plot_loss(history, out / "loss.png")
    if gold is not None and pred is not None:
        written["confusion_matrix"] = plot_confusion(gold, pred, out / "confusion_matrix.png")
    return {name: path for name, path in written.items() if path is not None}


# ---------------------------------------------------------------------------------------------------------
# spark-nlp-workshop's ner_image_log_parser, on parse_log


def get_charts(
    log_file: str | Path,
    threshold: float = 0.0,
    img_prec_rec_f1_path: str | Path | None = None,
    img_macro_micro_avg_path: str | Path | None = None,
) -> dict[str, str]:
    """``ner_image_log_parser.get_charts``: a NerDL log's score charts, validation and test in one figure each.

    Same arguments and keys as the workshop's function, which the Spark NLP MLflow guide calls. As there,
    the per-label chart sums each entity type's ``B-``/``I-`` counts into one line per type, drops types
    whose F1 never exceeds ``threshold``, and a chart is only drawn when its path is given.

    Args:
        log_file: a NerDL training log (``<outputLogsPath>/<uid>.log``).
        threshold: the F1 an entity type must exceed at some epoch to be drawn.
        img_prec_rec_f1_path: where to write the per-type precision/recall/F1 chart.
        img_macro_micro_avg_path: where to write the macro/micro averages chart.

    Returns:
        ``{"macro_micro_avg": path, "prec_rec_f1": path}`` for the charts written. The workshop's function
        returns opened PIL images under these keys; paths are what MLflow's ``log_artifact`` takes. A chart
        whose data the log lacks (no per-label table without ``evaluationLogExtended``) is left out.
    """
    history = parse_log(log_file)
    dsets = datasets(history)
    images: dict[str, str] = {}
    if img_macro_micro_avg_path is not None:
        fig = _draw_average_grid(history, dsets, "token")
        if fig is not None:
            _suptitle(fig, "Macro and micro averages by epoch", history)
            images["macro_micro_avg"] = _save(fig, img_macro_micro_avg_path)
    if img_prec_rec_f1_path is not None:
        fig = _draw_label_grid(history, dsets, "token", by_type=True, threshold=threshold)
        if fig is not None:
            _suptitle(fig, "Precision / recall / F1 per entity type by epoch", history)
            images["prec_rec_f1"] = _save(fig, img_prec_rec_f1_path)
    return images


def loss_plot(log_path: str | Path, img_loss_path: str | Path | None = None) -> dict[str, str]:
    """``ner_image_log_parser.loss_plot``: a NerDL log's training loss by epoch.

    Returns:
        ``{"loss": path}`` when ``img_loss_path`` is given and the log has a loss, else ``{}`` (the
        workshop's function shows the figure instead; here, nothing is drawn without a path).
    """
    if img_loss_path is None:
        return {}
    path = plot_loss(parse_log(log_path), img_loss_path)
    return {"loss": path} if path is not None else {}

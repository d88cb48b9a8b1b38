"""spark-nlp-workshop's ``ner_image_log_parser``, on :func:`sparktag.ner.log.parse_log`.

Spark NLP's MLflow guide charts a NerDL training log with the workshop's ``get_charts`` and ``loss_plot``,
which no longer run on NumPy 2 (they use the removed ``np.float``). The two functions here take the same
arguments and return the same keys, so the guide's code runs with one changed import::

    from sparktag.tracking import ner_image_log_parser

    images = ner_image_log_parser.get_charts(log_file, img_prec_rec_f1_path="precrecf1.jpg")
"""

from __future__ import annotations

from pathlib import Path

from sparktag.ner.log import parse_log
from sparktag.tracking.charts import datasets, draw_average_grid, draw_label_grid, graph_name, plot_loss
from sparktag.tracking.figures import save_figure, suptitle


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
        fig = draw_average_grid(history, dsets, "token")
        if fig is not None:
            suptitle(fig, "Macro and micro averages by epoch", graph_name(history))
            images["macro_micro_avg"] = save_figure(fig, img_macro_micro_avg_path)
    if img_prec_rec_f1_path is not None:
        fig = draw_label_grid(history, dsets, "token", by_type=True, threshold=threshold)
        if fig is not None:
            suptitle(fig, "Precision / recall / F1 per entity type by epoch", graph_name(history))
            images["prec_rec_f1"] = save_figure(fig, img_prec_rec_f1_path)
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

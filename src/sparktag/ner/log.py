"""Spark NLP's NerDLApproach training log: written by a listener, read back by :func:`parse_log`.

Spark NLP (``TensorflowNer.train`` / ``measure``, ``Logging.outputLog``, ``OutputHelper.writeAppend``) appends
each message plus a line separator to ``<outputLogsPath>/<uid>.log``; ``outputLog("\\n")`` therefore leaves
two empty lines. Numbers are JVM ``Float`` values printed with ``Float.toString`` (``0.95658916``,
``9.345794E-4``, ``NaN``); times use ``%.2f``. :class:`NerDLLog` writes the same lines from the trainer's
events, so tools made for Spark NLP logs (such as spark-nlp-workshop's ``ner_image_log_parser.py``) read ours.

A log looks like this (``extended`` adds the per-label table and the ``tp:`` line)::

    Name of the selected graph: blstm_10_100_128_120.pb
    Training started - total epochs: 2 - lr: 0.003 - batch size: 8 - labels: 5 - chars: 84 - \
training examples: 900


    Epoch 1/2 started, lr: 0.003, dataset size: 900


    Epoch 1/2 - 45.23s - loss: 1234.5677 - batches: 113
    Quality on validation dataset (10.0%), validation examples = 90
    time to finish evaluation: 3.21s
    label\\t tp\\t fp\\t fn\\t prec\\t rec\\t f1
    B-PER\\t 40\\t 2\\t 3\\t 0.95238096\\t 0.9302326\\t 0.9411765
    tp: 40 fp: 2 fn: 3 labels: 1
    Macro-average\\t prec: 0.95238096, rec: 0.9302326, f1: 0.9411765
    Micro-average\\t prec: 0.95238096, rec: 0.9302326, f1: 0.9411765
    Quality on test dataset:
    ...
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

from sparktag.core.jvm import float32, java_float_str
from sparktag.ner.events import (
    EpochEnded,
    EpochStarted,
    Evaluation,
    Event,
    Scores,
    TrainingStarted,
)


def _seconds(value: float) -> str:
    """Java's ``%.2f``: half-up rounding of the shortest decimal form (``0.125`` -> ``0.13``)."""
    if not math.isfinite(value):
        return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
    return str(Decimal(repr(float(value))).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))


def _calc_stat(tp: int, fp: int, fn: int) -> tuple[float, float, float]:
    """``TensorflowNer.calcStat`` in Float arithmetic; NaN (0/0) becomes 0, as in Spark NLP."""
    f_tp, f_fp, f_fn = float32(tp), float32(fp), float32(fn)
    prec = _div(f_tp, float32(f_tp + f_fp))
    rec = _div(f_tp, float32(f_tp + f_fn))
    f1 = float32(2 * _div(float32(prec * rec), float32(prec + rec)))
    return (
        0.0 if math.isnan(prec) else prec,
        0.0 if math.isnan(rec) else rec,
        0.0 if math.isnan(f1) else f1,
    )


def _div(a: float, b: float) -> float:
    """Float division as the JVM does it: x/0 is NaN or infinity, not an exception."""
    if b == 0.0:
        return math.nan if a == 0.0 or math.isnan(a) else math.copysign(math.inf, a)
    return float32(a / b)


def measure_lines(scores: Scores, extended: bool = False) -> list[str]:
    """The lines ``TensorflowNer.measure`` prints for token-level scores (after its ``time to finish`` line).

    Args:
        scores: token-level scores, one label per non-``O`` tag (:func:`sparktag.ner.metrics.token_scores`).
        extended: add the per-label table and the totals line (``evaluationLogExtended``).

    Returns:
        The lines, without line separators; labels in ``scores.per_label`` order (Spark NLP's order is a hash
        map's, so no order is "right").
    """
    lines = []
    if extended:
        lines.append("label\t tp\t fp\t fn\t prec\t rec\t f1")
    sum_prec = sum_rec = 0.0
    for label, c in scores.per_label.items():
        prec, rec, f1 = _calc_stat(c.tp, c.fp, c.fn)
        if extended:
            lines.append(
                f"{label}\t {c.tp}\t {c.fp}\t {c.fn}\t "
                f"{java_float_str(prec)}\t {java_float_str(rec)}\t {java_float_str(f1)}"
            )
        sum_prec = float32(sum_prec + prec)
        sum_rec = float32(sum_rec + rec)
    n = float32(len(scores.per_label))
    macro_prec = _div(sum_prec, n)
    macro_rec = _div(sum_rec, n)
    # No NaN guard here: Spark NLP prints "NaN" when both macro averages are 0 (or there are no labels).
    macro_f1 = float32(2 * _div(float32(macro_prec * macro_rec), float32(macro_prec + macro_rec)))
    total = scores.total
    if extended:
        lines.append(f"tp: {total.tp} fp: {total.fp} fn: {total.fn} labels: {len(scores.per_label)}")
    lines.append(
        f"Macro-average\t prec: {java_float_str(macro_prec)}, rec: {java_float_str(macro_rec)}, "
        f"f1: {java_float_str(macro_f1)}"
    )
    prec, rec, f1 = _calc_stat(total.tp, total.fp, total.fn)
    lines.append(
        f"Micro-average\t prec: {java_float_str(prec)}, rec: {java_float_str(rec)}, f1: {java_float_str(f1)}"
    )
    return lines


def evaluation_lines(evaluation: Evaluation, extended: bool = False) -> list[str]:
    """The block Spark NLP writes for one evaluation (validation or test) after an epoch."""
    if evaluation.name == "test":
        header = "Quality on test dataset: "
    else:
        # validationSplit * 100 in Float; a validation set given without a split prints 0.0%.
        percent = float32(float32(evaluation.fraction or 0.0) * 100)
        header = (
            f"Quality on {evaluation.name} dataset ({java_float_str(percent)}%), "
            f"{evaluation.name} examples = {evaluation.examples}"
        )
    return [
        header,
        f"time to finish evaluation: {_seconds(evaluation.elapsed_s)}s",
        *measure_lines(evaluation.token, extended),
    ]


def log_file_name(uid: str) -> str:
    """``<uid>.log`` as Spark NLP names it; a bare id gets the ``NerDLApproach_`` prefix a Spark uid has."""
    return f"{uid}.log" if uid.startswith("NerDLApproach") else f"NerDLApproach_{uid}.log"


class NerDLLog:
    """A training listener that writes Spark NLP's NerDL log (``enableOutputLogs``) line for line.

    Each event's lines are appended and the file closed at once, so the log can be read while training runs
    (Spark NLP appends too: training again with the same uid continues the file).

    A training resumed from a checkpoint (``TrainingStarted.history`` not empty) rewrites the file whole: the
    header, then every restored epoch from the checkpoint's history, then the new epochs as they end. The log
    then reads like an uninterrupted training's (one header, each epoch once, in order), which is what
    :func:`parse_log`, the charts and Spark NLP's log parsers expect; appending would repeat the header and the
    epochs the interrupted process ran past its last checkpoint. After a restart the resumed approach usually
    has a new uid, so this is a new file and the interrupted run's partial log stays as it was.

    Args:
        output_logs_path: the folder (``outputLogsPath``); created if missing.
        uid: the estimator's uid, e.g. ``"NerDLApproach_4f2a9c1b7e3d"``; the file is ``<uid>.log``.
        extended: write per-label tables (``evaluationLogExtended``).

    Example:
        >>> log = NerDLLog("/tmp/logs", "NerDLApproach_0123456789ab", extended=True)
        >>> log.path.name
        'NerDLApproach_0123456789ab.log'
    """

    def __init__(self, output_logs_path: str | Path, uid: str, extended: bool = False) -> None:
        self.path = Path(output_logs_path) / log_file_name(uid)
        self.extended = extended

    def lines(self, event: Event) -> list[str]:
        """The lines an event adds to the log (``"\\n"`` is Spark NLP's ``outputLog("\\n")``)."""
        if isinstance(event, TrainingStarted):
            return [
                f"Name of the selected graph: {event.graph}",
                f"Training started - total epochs: {event.total_epochs} - lr: {java_float_str(event.lr)} "
                f"- batch size: {event.batch_size} - labels: {len(event.labels)} - chars: {event.chars} "
                f"- training examples: {event.training_examples}",
            ]
        if isinstance(event, EpochStarted):
            return [
                "\n",
                f"Epoch {event.epoch}/{event.total_epochs} started, lr: {java_float_str(event.lr)}, "
                f"dataset size: {event.dataset_size}",
            ]
        if isinstance(event, EpochEnded):
            lines = [
                "\n",
                f"Epoch {event.epoch}/{event.total_epochs} - {_seconds(event.elapsed_s)}s - "
                f"loss: {java_float_str(event.loss)} - batches: {event.batches}",
            ]
            for evaluation in (event.validation, event.test):
                if evaluation is not None:
                    lines += evaluation_lines(evaluation, self.extended)
            return lines
        return []  # BatchEnded, TrainingEnded: Spark NLP writes nothing

    def on_event(self, event: Event) -> None:
        """Append the event's lines to the log file (a resumed training's start rewrites it, see above)."""
        lines = self.lines(event)
        mode = "a"
        if isinstance(event, TrainingStarted) and event.history:
            mode = "w"
            for ended in event.history:
                restarted = EpochStarted(ended.epoch, ended.total_epochs, ended.lr, event.training_examples)
                lines += self.lines(restarted) + self.lines(ended)
        if not lines:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path, mode, encoding="utf-8", newline="\n") as f:
            f.write("".join(line + "\n" for line in lines))


# ---------------------------------------------------------------------------------------------------------
# Reading logs back (ours and Spark NLP's, including Spark NLP for Healthcare's extra loss fields)

_GRAPH = re.compile(r"^Name of the selected graph: (.*)$")
_EPOCH_START = re.compile(r"^Epoch (\d+)/(\d+) started, lr: (\S+), dataset size: (\d+)")
_EPOCH_END = re.compile(r"^Epoch (\d+)/(\d+) - ([\d.]+)s - loss: (\S+)(?P<rest>.*)$")
_AVG_LOSS = re.compile(r"avg training loss: (\S+)")
_BATCHES = re.compile(r"batches: (\d+)")
_QUALITY = re.compile(r"^Quality on (\w+) dataset(?: \(([^%)]*)%\))?(?:, \w+ examples = (\d+))?")
_EVAL_TIME = re.compile(r"^time to finish evaluation: ([\d.]+)s")
_EVAL_LOSS = re.compile(r"^Total \w+ loss: (\S+)\s+Avg \w+ loss: (\S+)")
_TOTALS = re.compile(r"^tp: (\d+) fp: (\d+) fn: (\d+) labels: (\d+)")
_AVERAGE = re.compile(r"^(Macro|Micro)-average\s+prec: ([^,]+), rec: ([^,]+), f1: (\S+)")


def _new_evaluation(fraction: float | None, examples: int | None) -> dict[str, Any]:
    return {
        "fraction": fraction,
        "examples": examples,
        "elapsed_s": None,
        "loss": None,
        "avg_loss": None,
        "labels": {},
        "totals": None,
        "macro": None,
        "micro": None,
    }


def _label_row(fields: Sequence[str]) -> dict[str, float] | None:
    """A per-label row's numbers, or None if the line is not one."""
    if len(fields) != 7:
        return None
    try:
        tp, fp, fn = (int(x.strip()) for x in fields[1:4])
        prec, rec, f1 = (float(x.strip()) for x in fields[4:7])
    except ValueError:
        return None
    return {"tp": tp, "fp": fp, "fn": fn, "precision": prec, "recall": rec, "f1": f1}


def parse_log(path: str | Path) -> list[dict[str, Any]]:
    """Read a NerDL training log (written by :class:`NerDLLog` or by Spark NLP) into one dict per epoch.

    Args:
        path: the ``.log`` file.

    Returns:
        One dict per epoch, in file order::

            {"epoch": 1, "total_epochs": 10, "graph": "...", "lr": 0.003, "dataset_size": 12637,
             "elapsed_s": 45.23, "loss": 1234.5677, "avg_loss": None, "batches": 7,
             "validation": {"fraction": 0.1, "examples": 1263, "elapsed_s": 3.21, "loss": None,
                            "avg_loss": None, "labels": {"B-PER": {"tp": 1234, "fp": 56, "fn": 78,
                            "precision": 0.95658916, "recall": 0.9405488, "f1": 0.94850266}, ...},
                            "totals": {"tp": 9000, "fp": 500, "fn": 600, "labels": 8} or None,
                            "macro": {"precision": ..., "recall": ..., "f1": ...}, "micro": {...}},
             "test": {...} or None}

        ``fraction`` is the validation share (``10.0%`` -> ``0.1``); values a log does not have are ``None``
        and ``labels`` is empty unless the log was extended. ``NaN`` in the log reads as ``float("nan")``.
    """
    reader = _LogReader()
    with open(path, encoding="utf-8") as f:
        for raw in f:
            line = raw.rstrip("\r\n")
            if line.strip():
                reader.feed(line)
    return reader.epochs


class _LogReader:
    """Reads a log line by line: the graph, the epoch record and the evaluation being filled."""

    def __init__(self) -> None:
        self.epochs: list[dict[str, Any]] = []
        self.graph: str | None = None
        self.current: dict[str, Any] | None = None
        self.evaluation: dict[str, Any] | None = None

    def feed(self, line: str) -> None:
        if m := _GRAPH.match(line):
            self.graph = m.group(1).strip()
        elif m := _EPOCH_START.match(line):
            self.current = None  # a "started" line always opens a new record
            record = self._record(int(m.group(1)), int(m.group(2)))
            record["lr"] = float(m.group(3))
            record["dataset_size"] = int(m.group(4))
            self.evaluation = None
        elif m := _EPOCH_END.match(line):
            self._epoch_ended(m)
        elif (m := _QUALITY.match(line)) and self.current is not None:
            fraction = float(m.group(2)) / 100 if m.group(2) is not None else None
            examples = int(m.group(3)) if m.group(3) is not None else None
            self.evaluation = _new_evaluation(fraction, examples)
            # "validation" or "test"; an old log's "Quality on train dataset" is kept under "train".
            self.current[m.group(1)] = self.evaluation
        elif self.evaluation is not None:
            _read_evaluation_line(self.evaluation, line)

    def _epoch_ended(self, m: re.Match[str]) -> None:
        record = self._record(int(m.group(1)), int(m.group(2)))
        record["elapsed_s"] = float(m.group(3))
        record["loss"] = float(m.group(4))
        rest = m.group("rest")
        if a := _AVG_LOSS.search(rest):
            record["avg_loss"] = float(a.group(1))
        if b := _BATCHES.search(rest):
            record["batches"] = int(b.group(1))
        self.evaluation = None

    def _record(self, epoch: int, total: int) -> dict[str, Any]:
        if self.current is None or self.current["epoch"] != epoch:
            self.current = {
                "epoch": epoch,
                "total_epochs": total,
                "graph": self.graph,
                "lr": None,
                "dataset_size": None,
                "elapsed_s": None,
                "loss": None,
                "avg_loss": None,
                "batches": None,
                "validation": None,
                "test": None,
            }
            self.epochs.append(self.current)
        return self.current


def _read_evaluation_line(evaluation: dict[str, Any], line: str) -> None:
    """One line of a quality block: its time, loss, totals, an average or a label's row (others are skipped)."""
    if m := _EVAL_TIME.match(line):
        evaluation["elapsed_s"] = float(m.group(1))
    elif m := _EVAL_LOSS.match(line):
        evaluation["loss"], evaluation["avg_loss"] = float(m.group(1)), float(m.group(2))
    elif m := _TOTALS.match(line):
        tp, fp, fn, n = (int(g) for g in m.groups())
        evaluation["totals"] = {"tp": tp, "fp": fp, "fn": fn, "labels": n}
    elif m := _AVERAGE.match(line):
        evaluation[m.group(1).lower()] = {
            "precision": float(m.group(2)),
            "recall": float(m.group(3)),
            "f1": float(m.group(4)),
        }
    elif (row := _label_row(line.split("\t"))) is not None:
        evaluation["labels"][line.split("\t")[0]] = row

"""The Spark NLP NerDL log listener: exact lines, extended on/off, the test block, and reading logs back."""

from __future__ import annotations

import csv
import math
import re

import numpy as np
import pytest

from sparktag.ner.events import (
    BatchEnded,
    EpochEnded,
    EpochStarted,
    Evaluation,
    LabelCounts,
    Scores,
    TrainingEnded,
    TrainingStarted,
)
from sparktag.ner.log import NerDLLog, log_file_name, measure_lines, parse_log

VALIDATION = Scores({"B-PER": LabelCounts(40, 2, 3), "I-PER": LabelCounts(10, 0, 5)})
TEST = Scores({"B-PER": LabelCounts(0, 0, 3)})


def events(with_test: bool = True) -> list:
    def evaluation(name: str, examples: int, elapsed_s: float, token: Scores, fraction: float | None = None):
        return Evaluation(name, examples, elapsed_s, token, Scores(), fraction)

    return [
        TrainingStarted(
            graph="/tmp/graphs/blstm_10_100_128_120.pb",
            total_epochs=2,
            lr=0.003,
            batch_size=8,
            labels=["O", "B-PER", "I-PER", "B-LOC", "I-LOC"],
            chars=84,
            training_examples=900,
        ),
        EpochStarted(epoch=1, total_epochs=2, lr=0.003, dataset_size=900),
        BatchEnded(epoch=1, batch=1, total_batches=113, loss=11.5),
        EpochEnded(
            epoch=1,
            total_epochs=2,
            lr=0.003,
            elapsed_s=45.234,
            loss=1234.5678,
            batches=113,
            validation=evaluation("validation", 90, 0.125, VALIDATION, fraction=0.1),
            test=evaluation("test", 50, 1.5, TEST) if with_test else None,
        ),
        EpochStarted(epoch=2, total_epochs=2, lr=0.003 / (1 + 0.005 * 1), dataset_size=900),
        EpochEnded(
            epoch=2,
            total_epochs=2,
            lr=0.003 / (1 + 0.005 * 1),
            elapsed_s=44.0,
            loss=1e-4,
            batches=113,
            validation=evaluation("validation", 90, 3.205, VALIDATION, fraction=0.15),
        ),
        TrainingEnded(epochs=2, elapsed_s=95.0, best_epoch=None),
    ]


# Written by hand from TensorflowNer.scala. Floats as Java prints them: 40/42 = 0.95238096,
# 40/43 = 0.9302326, 10/15 = 0.6666667; macro precision (40/42 + 1) / 2 = 0.97619045, macro recall
# (40/43 + 10/15) / 2 = 0.79844964; micro 50/52 = 0.96153843 and 50/58 = 0.86206895.
# Times are Java's %.2f (half up: 0.125 -> 0.13, 3.205 -> 3.21).
EXTENDED = """\
Name of the selected graph: /tmp/graphs/blstm_10_100_128_120.pb
Training started - total epochs: 2 - lr: 0.003 - batch size: 8 - labels: 5 - chars: 84 - \
training examples: 900


Epoch 1/2 started, lr: 0.003, dataset size: 900


Epoch 1/2 - 45.23s - loss: 1234.5677 - batches: 113
Quality on validation dataset (10.0%), validation examples = 90
time to finish evaluation: 0.13s
label\t tp\t fp\t fn\t prec\t rec\t f1
B-PER\t 40\t 2\t 3\t 0.95238096\t 0.9302326\t 0.9411765
I-PER\t 10\t 0\t 5\t 1.0\t 0.6666667\t 0.8
tp: 50 fp: 2 fn: 8 labels: 2
Macro-average\t prec: 0.97619045, rec: 0.79844964, f1: 0.87841916
Micro-average\t prec: 0.96153843, rec: 0.86206895, f1: 0.9090909
Quality on test dataset:\x20
time to finish evaluation: 1.50s
label\t tp\t fp\t fn\t prec\t rec\t f1
B-PER\t 0\t 0\t 3\t 0.0\t 0.0\t 0.0
tp: 0 fp: 0 fn: 3 labels: 1
Macro-average\t prec: 0.0, rec: 0.0, f1: NaN
Micro-average\t prec: 0.0, rec: 0.0, f1: 0.0


Epoch 2/2 started, lr: 0.0029850747, dataset size: 900


Epoch 2/2 - 44.00s - loss: 1.0E-4 - batches: 113
Quality on validation dataset (15.000001%), validation examples = 90
time to finish evaluation: 3.21s
label\t tp\t fp\t fn\t prec\t rec\t f1
B-PER\t 40\t 2\t 3\t 0.95238096\t 0.9302326\t 0.9411765
I-PER\t 10\t 0\t 5\t 1.0\t 0.6666667\t 0.8
tp: 50 fp: 2 fn: 8 labels: 2
Macro-average\t prec: 0.97619045, rec: 0.79844964, f1: 0.87841916
Micro-average\t prec: 0.96153843, rec: 0.86206895, f1: 0.9090909
"""

EXTENDED_ONLY = re.compile(r"^(label\t|B-PER\t|I-PER\t|tp: )")


def write(tmp_path, extended: bool, with_test: bool = True):
    log = NerDLLog(tmp_path / "logs", "NerDLApproach_0123456789ab", extended=extended)
    for event in events(with_test):
        log.on_event(event)
    return log.path


def test_extended_log_line_by_line(tmp_path):
    path = write(tmp_path, extended=True)
    assert path == tmp_path / "logs" / "NerDLApproach_0123456789ab.log"
    assert path.read_text().split("\n") == EXTENDED.split("\n")


def test_plain_log_has_no_tables(tmp_path):
    path = write(tmp_path, extended=False)
    expected = [line for line in EXTENDED.split("\n") if not EXTENDED_ONLY.match(line)]
    assert path.read_text().split("\n") == expected


def test_without_test_set_there_is_no_test_block(tmp_path):
    text = write(tmp_path, extended=True, with_test=False).read_text()
    assert "Quality on test dataset" not in text
    assert text.count("Quality on validation dataset") == 2


def test_log_is_readable_after_each_event(tmp_path):
    log = NerDLLog(tmp_path, "NerDLApproach_x", extended=False)
    first, second = events()[:2]
    log.on_event(first)
    assert log.path.read_text().endswith("training examples: 900\n")
    log.on_event(second)
    assert log.path.read_text().endswith("\n\n\nEpoch 1/2 started, lr: 0.003, dataset size: 900\n")


def test_file_name():
    assert log_file_name("NerDLApproach_4f2a9c1b7e3d") == "NerDLApproach_4f2a9c1b7e3d.log"
    assert log_file_name("4f2a9c1b7e3d") == "NerDLApproach_4f2a9c1b7e3d.log"


# --- against real Spark NLP output ----------------------------------------------------------------------

# Epoch 15 is verbatim from a log written by Spark NLP for Healthcare 3.4.0 (MedicalNerApproach, quoted in
# its release notes: TensorflowNer's format plus loss lines). The header and epoch 14 (non-extended, to cover
# both shapes) are added in the same format; their numbers are made up.
SPARK_NLP_LOG = """\
Name of the selected graph: /root/cache_pretrained/graphs/blstm_10_100_128_120.pb
Training started - total epochs: 15 - lr: 0.001 - batch size: 64 - labels: 3 - chars: 83 - \
training examples: 1330


Epoch 14/15 started, lr: 9.389671E-4, dataset size: 1330


Epoch 14/15 - 57.01s - loss: 40.11 - avg training loss: 1.91 - batches: 21
Quality on validation dataset (20.0%), validation examples = 266
time to finish evaluation: 8.20s
Macro-average\t prec: 0.88, rec: 0.87, f1: 0.8749857
Micro-average\t prec: 0.89, rec: 0.88, f1: 0.8849859


Epoch 15/15 started, lr: 9.345794E-4, dataset size: 1330


Epoch 15/15 - 56.65s - loss: 37.58828 - avg training loss: 1.7899181 - batches: 21
Quality on validation dataset (20.0%), validation examples = 266
time to finish evaluation: 8.11s
Total validation loss: 15.1930\tAvg validation loss: 2.5322
label\t tp\t fp\t fn\t prec\t rec\t f1
I-Disease\t 707\t 72\t 121\t 0.9075738\t 0.8538647\t 0.8799004
B-Disease\t 657\t 81\t 60\t 0.8902439\t 0.916318\t 0.90309274
tp: 1364 fp: 153 fn: 181 labels: 2
Macro-average\t prec: 0.89890885, rec: 0.88509136, f1: 0.8919466
Micro-average\t prec: 0.89914304, rec: 0.8828479, f1: 0.89092094
Quality on test dataset:\x20
time to finish evaluation: 9.11s
Total test loss: 17.7705\tAvg test loss: 1.6155
label\t tp\t fp\t fn\t prec\t rec\t f1
I-Disease\t 663\t 113\t 126\t 0.85438144\t 0.8403042\t 0.8472843
B-Disease\t 631\t 122\t 77\t 0.8379814\t 0.8912429\t 0.86379194
tp: 1294 fp: 235 fn: 203 labels: 2
Macro-average\t prec: 0.8461814, rec: 0.86577356, f1: 0.85586536
Micro-average\t prec: 0.8463048, rec: 0.86439544, f1: 0.8552544
"""


def test_measure_lines_reproduce_spark_nlp_numbers():
    # The Float arithmetic and printing of TensorflowNer.measure, checked against a real log's table.
    blocks = {
        "validation": Scores({"I-Disease": LabelCounts(707, 72, 121), "B-Disease": LabelCounts(657, 81, 60)}),
        "test": Scores({"I-Disease": LabelCounts(663, 113, 126), "B-Disease": LabelCounts(631, 122, 77)}),
    }
    lines = SPARK_NLP_LOG.split("\n")
    for scores in blocks.values():
        ours = measure_lines(scores, extended=True)
        start = lines.index(ours[1])
        assert lines[start - 1 : start - 1 + len(ours)] == ours


def test_parse_real_spark_nlp_log(tmp_path):
    path = tmp_path / "NerDLApproach_abc.log"
    path.write_text(SPARK_NLP_LOG)
    first, last = parse_log(path)
    assert first["epoch"] == 14 and first["validation"]["labels"] == {} and first["test"] is None
    assert first["validation"]["micro"] == {"precision": 0.89, "recall": 0.88, "f1": 0.8849859}
    assert last["graph"] == "/root/cache_pretrained/graphs/blstm_10_100_128_120.pb"
    assert (last["epoch"], last["total_epochs"], last["lr"], last["dataset_size"]) == (
        15,
        15,
        9.345794e-4,
        1330,
    )
    assert (last["elapsed_s"], last["loss"], last["avg_loss"], last["batches"]) == (
        56.65,
        37.58828,
        1.7899181,
        21,
    )
    validation, test = last["validation"], last["test"]
    assert (validation["fraction"], validation["examples"], validation["elapsed_s"]) == (0.2, 266, 8.11)
    assert (validation["loss"], validation["avg_loss"]) == (15.193, 2.5322)
    assert validation["labels"]["I-Disease"] == {
        "tp": 707,
        "fp": 72,
        "fn": 121,
        "precision": 0.9075738,
        "recall": 0.8538647,
        "f1": 0.8799004,
    }
    assert validation["totals"] == {"tp": 1364, "fp": 153, "fn": 181, "labels": 2}
    assert validation["macro"] == {"precision": 0.89890885, "recall": 0.88509136, "f1": 0.8919466}
    assert (test["fraction"], test["examples"], test["elapsed_s"]) == (None, None, 9.11)
    assert list(test["labels"]) == ["I-Disease", "B-Disease"]
    assert test["micro"] == {"precision": 0.8463048, "recall": 0.86439544, "f1": 0.8552544}


def test_parse_log_round_trip(tmp_path):
    path = write(tmp_path, extended=True)
    epochs = parse_log(path)
    assert [e["epoch"] for e in epochs] == [1, 2]
    one, two = epochs
    assert one["graph"] == "/tmp/graphs/blstm_10_100_128_120.pb"
    assert (one["lr"], one["dataset_size"], one["elapsed_s"], one["batches"]) == (0.003, 900, 45.23, 113)
    assert one["loss"] == pytest.approx(1234.5678, rel=1e-7)
    assert two["lr"] == pytest.approx(0.003 / 1.005, rel=1e-7)
    assert one["validation"]["fraction"] == pytest.approx(0.1)
    assert two["validation"]["fraction"] == pytest.approx(0.15, rel=1e-6)
    for label, c in VALIDATION.per_label.items():
        row = one["validation"]["labels"][label]
        assert (row["tp"], row["fp"], row["fn"]) == (c.tp, c.fp, c.fn)
        assert row["precision"] == pytest.approx(c.precision, rel=1e-7)
        assert row["recall"] == pytest.approx(c.recall, rel=1e-7)
        assert row["f1"] == pytest.approx(c.f1, rel=1e-7)
    assert one["validation"]["micro"]["f1"] == pytest.approx(VALIDATION.micro_f1, rel=1e-7)
    assert one["validation"]["macro"]["f1"] == pytest.approx(VALIDATION.macro_f1, rel=1e-7)
    assert one["test"]["examples"] is None and one["test"]["totals"] == {
        "tp": 0,
        "fp": 0,
        "fn": 3,
        "labels": 1,
    }
    assert math.isnan(one["test"]["macro"]["f1"])
    assert two["test"] is None


def test_plain_log_round_trip_has_averages_only(tmp_path):
    (one, _) = parse_log(write(tmp_path, extended=False))
    assert one["validation"]["labels"] == {} and one["validation"]["totals"] is None
    assert one["validation"]["micro"]["precision"] == pytest.approx(50 / 52, rel=1e-7)


# --- spark-nlp-workshop's ner_image_log_parser.py -------------------------------------------------------


def workshop_parse_logfile(path):
    """``parse_logfile`` and ``loss_plot``'s reading from spark-nlp-workshop's ner_image_log_parser.py.

    Kept statement for statement, except ``np.float`` (removed from NumPy) is ``np.float64``; returns plain
    lists instead of DataFrames, plus the losses ``loss_plot`` reads.
    """
    data, avg_data = [], []
    graph = current_epoch = set_idx = None
    with open(path) as f:
        rows = list(csv.reader(f, delimiter="\t"))
    for row in rows:
        if row and row[0].startswith("Name of the selected graph"):
            graph = row[0].split("/")[-1]
        if row and row[0].startswith("Epoch"):
            current_epoch = int(re.findall(r"\d+", row[0])[0])
        if row and row[0].startswith("Quality on"):
            set_idx = row[0].split(" ")[2]
        if row and row[0][:2] in ["B-", "I-"]:
            data.append(
                (current_epoch, set_idx, row[0], row[0].split("-")[-1], *np.array(row[1:]).astype(np.float64))
            )
        if row and row[0][:13] == "Macro-average":
            data_i = [d.split(": ")[-1] for d in row[1].split("\t")[-1].split(", ")]
            avg_data.append((current_epoch, set_idx, row[0], *np.array(data_i).astype(np.float64)))
        if row and row[0][:13] == "Micro-average":
            data_i = [d.split(": ")[-1] for d in row[1].split("\t")[-1].split(", ")]
            avg_data.append((current_epoch, set_idx, row[0], *np.array(data_i).astype(np.float64)))
    with open(path, encoding="utf-8") as f:
        lines = f.readlines()
    loss = [line.split()[6] for line in lines if line.startswith("Epoch") and line.split()[6] != "size:"]
    return data, avg_data, graph, [float(x) for x in loss]


def test_workshop_parser_reads_our_log(tmp_path):
    data, avg_data, graph, losses = workshop_parse_logfile(write(tmp_path, extended=True))
    assert graph == "blstm_10_100_128_120.pb"
    assert losses == [1234.5677, 1e-4]
    assert data[0] == (1, "validation", "B-PER", "PER", 40, 2, 3, 0.95238096, 0.9302326, 0.9411765)
    assert [(d[0], d[1], d[2]) for d in data] == [
        (1, "validation", "B-PER"),
        (1, "validation", "I-PER"),
        (1, "test", "B-PER"),
        (2, "validation", "B-PER"),
        (2, "validation", "I-PER"),
    ]
    assert avg_data[0] == (1, "validation", "Macro-average", 0.97619045, 0.79844964, 0.87841916)
    assert avg_data[1] == (1, "validation", "Micro-average", 0.96153843, 0.86206895, 0.9090909)
    assert [(a[0], a[1]) for a in avg_data[2:4]] == [(1, "test"), (1, "test")]
    assert math.isnan(avg_data[2][5])

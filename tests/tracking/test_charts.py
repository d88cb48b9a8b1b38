"""Training charts: every chart is a real, non-blank image, from a log or from the trainer's events; absent
data draws nothing."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest
from training_history import assert_image, epochs_of, training_events, write_log

from sparktag.ner.log import parse_log
from sparktag.tracking.charts import (
    datasets,
    plot_confusion,
    plot_loss,
    plot_macro_micro,
    plot_prec_rec_f1,
    write_charts,
)

# --- charts from a log file ------------------------------------------------------------------------------


def test_write_charts_from_a_log(log_file: Path, tmp_path: Path) -> None:
    history = parse_log(log_file)
    written = write_charts(history, tmp_path / "charts")
    # A log has token-level scores only: no entity-level charts, and no confusion without tags.
    assert set(written) == {
        "prec_rec_f1_validation",
        "prec_rec_f1_test",
        "macro_micro_validation",
        "macro_micro_test",
        "loss",
    }
    for name, path in written.items():
        assert Path(path).name == f"{name}.png"
        assert_image(path)
    assert sorted(p.name for p in (tmp_path / "charts").iterdir()) == sorted(f"{n}.png" for n in written)


def test_plot_by_entity_type(log_file: Path, tmp_path: Path) -> None:
    # B-/I- counts summed per type, as spark-nlp-workshop draws them.
    target = tmp_path / "nested" / "by_type.png"
    assert plot_prec_rec_f1(parse_log(log_file), target, dataset="test", by_type=True) == str(target)
    assert_image(target)


# --- absent data: None and no file ---------------------------------------------------------------------------


def test_absent_data_draws_nothing(tmp_path: Path) -> None:
    plain = parse_log(write_log(tmp_path / "plain", training_events(with_test=False), extended=False))
    out = tmp_path / "out"
    assert datasets(plain) == ["validation"]
    # Not extended: no per-label table; no test set; a parsed log has no entity level.
    assert plot_prec_rec_f1(plain, out / "a.png") is None
    assert plot_prec_rec_f1(plain, out / "b.png", dataset="test") is None
    assert plot_macro_micro(plain, out / "c.png", dataset="test") is None
    assert plot_macro_micro(plain, out / "d.png", level="entity") is None
    assert plot_loss([], out / "e.png") is None
    assert plot_confusion([["O", "O"]], [["O", "O"]], out / "f.png") is None
    assert not out.exists()
    # What the plain log does have is still drawn.
    assert set(write_charts(plain, out)) == {"macro_micro_validation", "loss"}
    assert write_charts([], tmp_path / "empty") == {}


def test_unknown_level_is_an_error(log_file: Path, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="level='chunk'"):
        plot_macro_micro(parse_log(log_file), tmp_path / "x.png", level="chunk")


def test_a_log_holding_two_trainings_plots_in_log_order(tmp_path: Path) -> None:
    path = write_log(tmp_path, training_events(epochs=2))
    write_log(tmp_path, training_events(epochs=2))  # the same uid appends: epochs 1, 2, 1, 2
    history = parse_log(path)
    assert [r["epoch"] for r in history] == [1, 2, 1, 2]
    assert_image(plot_loss(history, tmp_path / "loss.png"))


# --- charts from the trainer's events ------------------------------------------------------------------


def test_write_charts_from_events(log_file: Path, tmp_path: Path) -> None:
    history = epochs_of(training_events())
    assert datasets(history) == datasets(parse_log(log_file)) == ["validation", "test"]
    written = write_charts(history, tmp_path, graph="/tmp/graphs/blstm_10_100_128_120.pb")
    # Events carry entity-level (conlleval) scores too: the log's charts plus the entity ones.
    assert set(written) == {
        f"{chart}_{dataset}"
        for chart in ("prec_rec_f1", "macro_micro", "entity_prec_rec_f1", "entity_macro_micro")
        for dataset in ("validation", "test")
    } | {"loss"}
    for path in written.values():
        assert_image(path)


def test_events_without_evaluations_draw_the_loss_only(tmp_path: Path) -> None:
    history = [replace(e, validation=None) for e in epochs_of(training_events(with_test=False))]
    assert datasets(history) == []
    assert set(write_charts(history, tmp_path)) == {"loss"}


def test_write_charts_from_events_with_tags(tmp_path: Path) -> None:
    history = epochs_of(training_events(with_test=False))
    gold = [["B-PER", "I-PER", "O", "B-LOC"], ["B-ORG", "O", "B-MISC", "I-MISC"]]
    pred = [["B-PER", "I-PER", "O", "B-ORG"], ["B-ORG", "O", "B-MISC", "O"]]
    written = write_charts(history, tmp_path, gold=gold, pred=pred)
    assert set(written) == {
        "prec_rec_f1_validation",
        "macro_micro_validation",
        "entity_prec_rec_f1_validation",
        "entity_macro_micro_validation",
        "loss",
        "confusion_matrix",
    }
    for path in written.values():
        assert_image(path)


def test_plot_confusion(tmp_path: Path) -> None:
    gold = [["B-PER", "I-PER", "O", "B-LOC"], ["B-ORG", "O"]]
    pred = [["B-PER", "I-PER", "O", "B-ORG"], ["O", "B-LOC"]]
    path = plot_confusion(gold, pred, tmp_path / "confusion_matrix.png")
    assert path == str(tmp_path / "confusion_matrix.png")
    assert_image(path)


def test_import_is_cheap() -> None:
    code = "import sys, sparktag.tracking.charts; print('matplotlib' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"

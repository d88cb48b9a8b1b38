"""Training charts: every chart is a real, non-blank image; absent data draws nothing; the workshop API; the
chunk-level confusion counts."""

from __future__ import annotations

import random
import subprocess
import sys
from pathlib import Path

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
from sparktag.ner.log import NerDLLog, parse_log
from sparktag.ner.metrics import entity_scores
from sparktag.tracking.charts import (
    NONE,
    confusion_counts,
    datasets,
    get_charts,
    history_from_events,
    loss_plot,
    plot_confusion,
    plot_loss,
    plot_macro_micro,
    plot_prec_rec_f1,
    write_charts,
)

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
TYPES = ("LOC", "MISC", "ORG", "PER")


def scores(epoch: int, shift: int, level: str) -> Scores:
    """Counts that improve with the epoch; token level has B-/I- tags, entity level the types."""
    per_label = {}
    for i, entity in enumerate(TYPES):
        names = [f"B-{entity}", f"I-{entity}"] if level == "token" else [entity]
        for j, name in enumerate(names):
            support = 40 + 10 * i + 5 * j + shift
            tp = min(support, support * (epoch + i + 1) // (epoch + i + 3))
            per_label[name] = LabelCounts(tp=tp, fp=(8 - 2 * epoch + i + j) % 7, fn=support - tp)
    return Scores(per_label)


def evaluation(name: str, epoch: int, shift: int) -> Evaluation:
    return Evaluation(
        name=name,
        examples=120 + shift,
        elapsed_s=1.25,
        token=scores(epoch, shift, "token"),
        entity=scores(epoch, shift, "entity"),
        fraction=0.1 if name == "validation" else None,
    )


def training_events(epochs: int = 3, with_test: bool = True) -> list:
    events: list = [
        TrainingStarted(
            graph="/tmp/graphs/blstm_10_100_128_120.pb",
            total_epochs=epochs,
            lr=0.003,
            batch_size=8,
            labels=["O"] + [f"{p}-{t}" for t in TYPES for p in "BI"],
            chars=84,
            training_examples=900,
        )
    ]
    for epoch in range(1, epochs + 1):
        events += [
            EpochStarted(epoch=epoch, total_epochs=epochs, lr=0.003, dataset_size=900),
            BatchEnded(epoch=epoch, batch=1, total_batches=113, loss=3.5),
            EpochEnded(
                epoch=epoch,
                total_epochs=epochs,
                lr=0.003,
                elapsed_s=40.0 + epoch,
                loss=2000.0 / epoch**2,
                batches=113,
                validation=evaluation("validation", epoch, 0),
                test=evaluation("test", epoch, 7) if with_test else None,
            ),
        ]
    events.append(TrainingEnded(epochs=epochs, elapsed_s=130.0))
    return events


def write_log(folder: Path, events: list, extended: bool = True) -> Path:
    log = NerDLLog(folder, "NerDLApproach_0123456789ab", extended=extended)
    for event in events:
        log.on_event(event)
    return log.path


@pytest.fixture
def log_file(tmp_path: Path) -> Path:
    return write_log(tmp_path / "logs", training_events())


def assert_image(path: str | Path | None, min_width: int = 400) -> None:
    """A real PNG: the signature, decodes, a sensible size, and not one flat color."""
    import matplotlib.image as mpimg

    assert path is not None
    data = Path(path).read_bytes()
    assert data.startswith(PNG_SIGNATURE), path
    assert len(data) > 5_000, path
    pixels = mpimg.imread(path)
    assert pixels.ndim == 3 and pixels.shape[1] >= min_width and pixels.shape[0] >= 300, pixels.shape
    assert float(np.var(pixels[..., :3])) > 0.0, path


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


# --- history from the trainer's events -------------------------------------------------------------------


def test_history_from_events_matches_the_parsed_log(log_file: Path) -> None:
    events = training_events()
    from_events = history_from_events(events)
    from_log = parse_log(log_file)
    assert len(from_events) == len(from_log) == 3
    for ours, theirs in zip(from_events, from_log, strict=True):
        assert set(ours) == set(theirs)
        assert ours["graph"] == theirs["graph"] and ours["dataset_size"] == 900
        assert ours["loss"] == pytest.approx(theirs["loss"], rel=1e-6)
        for dataset in ("validation", "test"):
            assert set(ours[dataset]) == set(theirs[dataset]) | {"entity"}
            assert ours[dataset]["totals"] == theirs[dataset]["totals"]
            for label, row in theirs[dataset]["labels"].items():
                for key, value in row.items():
                    assert ours[dataset]["labels"][label][key] == pytest.approx(value, rel=1e-6)
            for average in ("macro", "micro"):
                for key, value in theirs[dataset][average].items():
                    assert ours[dataset][average][key] == pytest.approx(value, rel=1e-6)
            entity = ours[dataset]["entity"]
            assert set(entity) == {"labels", "totals", "macro", "micro"}
            assert list(entity["labels"]) == list(TYPES)


def test_history_from_epoch_events_alone() -> None:
    ended = [e for e in training_events(with_test=False) if isinstance(e, EpochEnded)]
    history = history_from_events(ended)
    assert [r["epoch"] for r in history] == [1, 2, 3]
    assert history[0]["graph"] is None and history[0]["dataset_size"] is None and history[0]["test"] is None


def test_write_charts_from_events_with_tags(tmp_path: Path) -> None:
    history = history_from_events(training_events(with_test=False))
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


# --- spark-nlp-workshop's ner_image_log_parser -------------------------------------------------------------


def test_get_charts_and_loss_plot(log_file: Path, tmp_path: Path) -> None:
    images = {}
    images.update(
        get_charts(
            str(log_file),
            img_prec_rec_f1_path=str(tmp_path / "precrecf1.png"),
            img_macro_micro_avg_path=str(tmp_path / "macromicroavg.png"),
        )
    )
    images.update(loss_plot(str(log_file), img_loss_path=str(tmp_path / "loss.png")))
    assert images == {
        "prec_rec_f1": str(tmp_path / "precrecf1.png"),
        "macro_micro_avg": str(tmp_path / "macromicroavg.png"),
        "loss": str(tmp_path / "loss.png"),
    }
    for path in images.values():
        assert_image(path)


def test_jpg_paths_get_jpeg(log_file: Path, tmp_path: Path) -> None:
    # The Spark NLP MLflow guide names its charts precrecf1.jpg, macromicroavg.jpg and loss.jpg.
    images = loss_plot(log_file, tmp_path / "loss.jpg")
    assert images == {"loss": str(tmp_path / "loss.jpg")}
    assert Path(images["loss"]).read_bytes()[:3] == b"\xff\xd8\xff"


def test_get_charts_without_paths_or_data(tmp_path: Path) -> None:
    plain = write_log(tmp_path / "plain", training_events(), extended=False)
    assert get_charts(plain) == {}
    assert loss_plot(plain) == {}
    # Without a per-label table only the averages chart can be drawn.
    images = get_charts(
        plain, img_prec_rec_f1_path=tmp_path / "p.png", img_macro_micro_avg_path=tmp_path / "m.png"
    )
    assert images == {"macro_micro_avg": str(tmp_path / "m.png")}
    assert not (tmp_path / "p.png").exists()


def test_get_charts_threshold_drops_types_never_above_it(tmp_path: Path, log_file: Path) -> None:
    # Every type's F1 is below 0.99: nothing is left to draw.
    assert get_charts(log_file, threshold=0.99, img_prec_rec_f1_path=tmp_path / "p.png") == {}


# --- confusion matrix ------------------------------------------------------------------------------------------


def test_confusion_counts_by_hand() -> None:
    gold = [
        ["B-PER", "I-PER", "O", "B-LOC", "O"],  # PER(0,1) found; LOC(3,3) predicted as ORG
        ["B-ORG", "I-ORG", "I-ORG", "O", "B-PER"],  # ORG(0,2) cut short to (0,1): missed + spurious
        ["O", "B-MISC", "O", "O"],  # MISC missed; a spurious LOC at 3
    ]
    pred = [
        ["B-PER", "I-PER", "O", "B-ORG", "O"],
        ["B-ORG", "I-ORG", "O", "O", "B-PER"],
        ["O", "O", "O", "B-LOC"],
    ]
    labels, matrix = confusion_counts(gold, pred)
    assert labels == ["LOC", "MISC", "ORG", "PER", NONE]
    assert matrix == [
        # LOC MISC ORG PER (none)      predicted
        [0, 0, 1, 0, 0],  # gold LOC
        [0, 0, 0, 0, 1],  # gold MISC
        [0, 0, 0, 0, 1],  # gold ORG
        [0, 0, 0, 2, 0],  # gold PER
        [1, 0, 1, 0, 0],  # (none): spurious
    ]


def test_confusion_counts_agree_with_conlleval() -> None:
    rng = random.Random(7)
    tags = ["O", "O", "O", "B-PER", "I-PER", "B-LOC", "I-LOC", "B-ORG", "I-ORG"]
    gold = [[rng.choice(tags) for _ in range(rng.randint(1, 12))] for _ in range(200)]
    pred = [[t if rng.random() < 0.7 else rng.choice(tags) for t in sentence] for sentence in gold]
    labels, matrix = confusion_counts(gold, pred)
    m = np.array(matrix)
    for i, entity in enumerate(labels[:-1]):
        counts = entity_scores(gold, pred).per_label[entity]
        assert (m[i, i], m[:, i].sum() - m[i, i], m[i].sum() - m[i, i]) == (counts.tp, counts.fp, counts.fn)
    assert m[-1, -1] == 0


def test_confusion_counts_need_aligned_tags() -> None:
    with pytest.raises(ValueError, match="2 sentences but pred has 1"):
        confusion_counts([["O"], ["O"]], [["O"]])
    with pytest.raises(ValueError, match="sentence 0: gold has 2 tags but pred has 1"):
        confusion_counts([["O", "B-PER"]], [["O"]])


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

"""spark-nlp-workshop's get_charts and loss_plot: the guide's arguments and keys, real images, absent data."""

from __future__ import annotations

from pathlib import Path

from training_history import assert_image, training_events, write_log

from sparktag.tracking.ner_image_log_parser import get_charts, loss_plot


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

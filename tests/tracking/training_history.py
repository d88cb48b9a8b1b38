"""A made-up training for the chart tests: its events (scores that improve by epoch), its log, image checks."""

from __future__ import annotations

from pathlib import Path

import numpy as np

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
from sparktag.ner.log import NerDLLog

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


def epochs_of(events: list) -> list[EpochEnded]:
    """The EpochEnded events of a training: its per-epoch history."""
    return [e for e in events if isinstance(e, EpochEnded)]

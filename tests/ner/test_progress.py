"""The per-epoch progress line that ``verbose`` prints."""

from __future__ import annotations

from sparktag.ner.events import EpochEnded, Evaluation, LabelCounts, Scores, TrainingStarted
from sparktag.ner.progress import EpochProgress


def test_one_line_per_epoch_with_scores():
    lines: list[str] = []
    progress = EpochProgress(lines.append)
    progress.on_event(TrainingStarted("BiLSTM-CRF", 2, 0.01, 8, ["O", "B-PER"], 30, 100))
    scores = Scores({"PER": LabelCounts(tp=3, fp=1, fn=0)})
    evaluation = Evaluation("validation", 10, 0.1, scores, scores, fraction=0.1)
    progress.on_event(EpochEnded(1, 2, 0.01, 1.5, 12.25, 13, validation=evaluation))
    progress.on_event(EpochEnded(2, 2, 0.01, 1.25, 6.5, 13))
    assert lines[0] == "training BiLSTM-CRF: 100 sentences, 2 tags, 2 epochs"
    assert lines[1].startswith("epoch   1/2  loss     12.250     1.5s  validation token F1 0.857")
    assert lines[1].endswith("entity F1 0.857")
    assert lines[2] == "epoch   2/2  loss      6.500     1.2s"


def test_a_resumed_training_says_where_it_resumes():
    lines: list[str] = []
    started = TrainingStarted("g", 5, 0.01, 8, ["O"], 3, 10, start_epoch=3, resumed_from="/ckpt/epoch-0002")
    EpochProgress(lines.append).on_event(started)
    assert lines[1] == "resuming at epoch 3 from checkpoint /ckpt/epoch-0002"

"""A checkpointed training in its own OS process, for the kill-and-resume tests (``test_checkpoint.py``,
``tests/tracking/test_autolog.py``).

It trains the tiny tagger of ``test_train.py`` with a checkpoint folder. With ``--pause-at EPOCH:BATCH`` it
stops right after that batch's optimizer step (weights and Adam state changed in memory, not on disk), writes
``<out>/paused`` and sleeps, so the test can SIGKILL it mid-epoch at a known point. Without a pause it trains to
the end (or until killed) and writes the trained model (``<out>/model``, ``ner/model_files.py`` files) and
``<out>/result.json`` (history without timings, best epoch, seed, resumed_from, MLflow run id).

    python resume_worker.py --checkpoint-dir D --out O [--pause-at 3:2] [--tracking-uri URI --experiment-id ID]
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

from sparktag.ner.config import TrainConfig
from sparktag.ner.events import BatchEnded, EpochEnded, Event

from synthetic import DATA, local_evaluate, quick

EPOCHS = 5


def config(checkpoint_dir: str | None) -> TrainConfig:
    """The training of every worker and of the tests' uninterrupted reference runs."""
    return quick(
        max_epochs=EPOCHS,
        validation_split=0.25,
        use_best_model=True,
        dropout=0.7,
        checkpoint_dir=checkpoint_dir,
    )


def comparable(history: list[EpochEnded]) -> list[dict[str, Any]]:
    """The history as plain data without timings, which differ from run to run."""
    out = []
    for ended in history:
        values = asdict(replace(ended, elapsed_s=0.0))
        for name in ("validation", "test"):
            if values[name] is not None:
                values[name]["elapsed_s"] = 0.0
        out.append(values)
    return out


class Pause:
    """Sleeps after batch ``batch`` of epoch ``epoch`` (once a checkpoint exists), marking ``marker`` first."""

    def __init__(self, epoch: int, batch: int, marker: Path) -> None:
        self.epoch, self.batch, self.marker = epoch, batch, marker

    def on_event(self, event: Event) -> None:
        if isinstance(event, BatchEnded) and (event.epoch, event.batch) == (self.epoch, self.batch):
            self.marker.write_text("paused")
            time.sleep(600)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--checkpoint-dir", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--pause-at", default=None, help="EPOCH:BATCH")
    parser.add_argument("--tracking-uri", default=None)
    parser.add_argument("--experiment-id", default=None)
    args = parser.parse_args()

    from sparktag.ner.model_files import save_dir
    from sparktag.ner.train import train

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    listeners: list[Any] = []
    mlflow_listener = None
    if args.tracking_uri:
        import mlflow

        from sparktag.tracking.listener import AutologConfig, MlflowListener

        mlflow.set_tracking_uri(args.tracking_uri)
        mlflow.set_experiment(experiment_id=args.experiment_id)
        mlflow_listener = MlflowListener(None, AutologConfig())
        listeners.append(mlflow_listener)
    if args.pause_at:
        epoch, batch = (int(x) for x in args.pause_at.split(":"))
        listeners.append(Pause(epoch, batch, out / "paused"))

    result = train(DATA, config(args.checkpoint_dir), evaluate=local_evaluate, listeners=listeners)
    save_dir(result.tagger, out / "model")
    summary = {
        "history": comparable(result.history),
        "best_epoch": result.best_epoch,
        "seed": result.seed,
        "resumed_from": result.resumed_from,
        "run_id": mlflow_listener.run_id if mlflow_listener else None,
        "mlflow_errors": mlflow_listener.errors if mlflow_listener else {},
    }
    (out / "result.json").write_text(json.dumps(summary, indent=1), encoding="utf-8")


if __name__ == "__main__":
    main()

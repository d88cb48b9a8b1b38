"""A training listener that prints one line per epoch: what ``verbose`` shows, as Spark NLP prints it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

Echo = Callable[[str], None]


class EpochProgress:
    """A training listener printing one line per epoch (loss, validation scores, time)."""

    def __init__(self, echo: Echo = print) -> None:
        self.echo = echo

    def on_event(self, event: Any) -> None:
        from sparktag.ner.events import EpochEnded, TrainingStarted

        if isinstance(event, TrainingStarted):
            self.echo(
                f"training {event.graph}: {event.training_examples} sentences, {len(event.labels)} tags, "
                f"{event.total_epochs} epochs"
            )
            if event.resumed_from:
                self.echo(f"resuming at epoch {event.start_epoch} from checkpoint {event.resumed_from}")
        elif isinstance(event, EpochEnded):
            line = f"epoch {event.epoch:>3}/{event.total_epochs}  loss {event.loss:10.3f}  {event.elapsed_s:6.1f}s"
            evaluation = event.validation or event.test
            if evaluation is not None:
                line += (
                    f"  {evaluation.name} token F1 {evaluation.token.micro_f1:.3f}"
                    f"  entity F1 {evaluation.entity.micro_f1:.3f}"
                )
            self.echo(line)

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


class FitClock:
    """A training listener that times a fit's phases from ``started`` (a ``time.perf_counter()`` reading).

    ``data_ready_s`` is the time until the first epoch starts: in a Spark pipeline, running the stages before
    NerDLApproach (sentences, tokens, embeddings) and featurizing their output, which is where the embedding
    time of a pipeline ``fit`` goes. ``epoch_s`` holds each epoch's training time (evaluation excluded).
    """

    def __init__(self, started: float) -> None:
        self.started = started
        self.data_ready_s: float | None = None
        self.epoch_s: list[float] = []

    def on_event(self, event: Any) -> None:
        import time

        from sparktag.ner.events import EpochEnded, TrainingStarted

        if isinstance(event, TrainingStarted) and self.data_ready_s is None:
            self.data_ready_s = time.perf_counter() - self.started
        elif isinstance(event, EpochEnded):
            self.epoch_s.append(event.elapsed_s)

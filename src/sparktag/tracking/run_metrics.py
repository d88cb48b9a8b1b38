"""The names and values a tracked training logs: metric keys of scores and epochs, params within MLflow's
limit, and the best epoch.

One place for the names, so the listener (live, per epoch), ``run_experiment`` (final test scores) and the
pending file agree: ``validation_entity_micro_f1``, ``test_token_macro_precision``, ``final_entity_f1_PER``...
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

from sparktag.ner.events import EpochEnded, Evaluation, Scores

MAX_PARAM_CHARS = 6000  # MLflow's limit on a param value


def _safe_key(text: str) -> str:
    """An MLflow-valid metric key part (letters, digits, ``_ - . /`` and spaces are allowed)."""
    return re.sub(r"[^A-Za-z0-9_\-./ ]", "_", text)


def scores_metrics(prefix: str, level: str, scores: Scores) -> dict[str, float]:
    """``{prefix}_{level}_{micro|macro}_{precision|recall|f1}`` (+ ``{prefix}_entity_f1_{TYPE}``)."""
    out: dict[str, float] = {}
    for average in ("micro", "macro"):
        for metric in ("precision", "recall", "f1"):
            out[f"{prefix}_{level}_{average}_{metric}"] = float(getattr(scores, f"{average}_{metric}"))
    if level == "entity":
        for entity, counts in scores.per_label.items():
            out[f"{prefix}_entity_f1_{_safe_key(entity)}"] = counts.f1
    return out


def epoch_metrics(event: EpochEnded) -> dict[str, float]:
    """Every metric of one epoch, by name (what the listener logs at step ``event.epoch``).

    Names: ``loss``, ``lr``, ``epoch_time_s``; and for ``validation`` and ``test``:
    ``<ds>_token_{micro,macro}_{precision,recall,f1}`` (Spark NLP's log), ``<ds>_entity_...`` (strict
    conlleval), ``<ds>_entity_f1_<TYPE>``, ``<ds>_eval_time_s``.
    """
    metrics = {"loss": event.loss, "lr": event.lr, "epoch_time_s": event.elapsed_s}
    evaluation: Evaluation | None
    for name, evaluation in (("validation", event.validation), ("test", event.test)):
        if evaluation is None:
            continue
        metrics.update(scores_metrics(name, "token", evaluation.token))
        metrics.update(scores_metrics(name, "entity", evaluation.entity))
        metrics[f"{name}_eval_time_s"] = evaluation.elapsed_s
    return {k: float(v) for k, v in metrics.items() if isinstance(v, (int, float)) and math.isfinite(v)}


def param_value(value: Any) -> str:
    """``value`` as an MLflow param: text as is, anything else as JSON, cut to :data:`MAX_PARAM_CHARS`."""
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    return text if len(text) <= MAX_PARAM_CHARS else text[: MAX_PARAM_CHARS - 3] + "..."


def best_epoch(history: list[EpochEnded]) -> int | None:
    """The epoch with the best validation (else test) token micro F1, the trainer's monitored score."""
    scored = [(e.validation or e.test, e.epoch) for e in history]
    scored = [(ev, epoch) for ev, epoch in scored if ev is not None]
    if not scored:
        return None
    return max(scored, key=lambda pair: (pair[0].token.micro_f1, -pair[1]))[1]  # type: ignore[union-attr]

"""What an experiment or an evaluation did: :class:`ExperimentResult` (the run, the model, the scores)."""

from __future__ import annotations

from dataclasses import dataclass, field

from sparktag.tracking.settings import TrackingSettings


@dataclass
class ExperimentResult:
    """What :func:`run_experiment` did.

    Args:
        run_id, experiment_id: the MLflow run (``None`` when the tracking server was unreachable throughout).
        model_uri: where to load the model from: ``models:/<name>@<alias>`` when registered, else the
            run's model URI, else the local saved pipeline folder.
        model_version: the registered version, if registered.
        scores: final test-set metrics by name (``final_entity_micro_f1``, ``final_tag_accuracy``, ...).
        output_dir: the local folder with every file.
        tracking_error: why (part of) the tracking failed, with how to upload the local files; else ``None``.
        settings: where the run was tracked (the resolved tracking URI, experiment, and their sources).
    """

    run_id: str | None
    experiment_id: str | None
    model_uri: str
    model_version: str | None
    scores: dict[str, float]
    output_dir: str
    tracking_error: str | None = None
    timings_s: dict[str, float] = field(default_factory=dict)
    settings: TrackingSettings | None = None

    def destination(self) -> str:
        """One line saying where the run went (URIs redacted), for the end of a command's output."""
        where = self.settings.describe() if self.settings else "nowhere"
        if self.run_id is None:
            return f"not tracked (MLflow at {where} was not reached); every file is in {self.output_dir}"
        return f"tracked as run {self.run_id} in {where}"

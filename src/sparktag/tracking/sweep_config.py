"""What one hyperparameter sweep searches: :class:`SweepConfig`, a TOML or JSON file beside an experiment's.

A sweep names a base experiment (an :class:`~sparktag.tracking.experiment_config.ExperimentConfig` file, or
its fields inline under ``[experiment]``) and a search space over any of its settings, spelled as
``sparktag train`` overrides: config fields (``dropout``, ``batch_size``), ``params.NAME`` for any
NerDLApproach param, ``embeddings_params.NAME`` for any BertEmbeddings param::

    experiment = "experiment.toml"
    n_trials = 6
    model_name = "ner"

    [space]
    "params.lr" = { low = 0.001, high = 0.02, log = true }
    "params.lstmHidden" = { choices = [16, 32, 64] }
    dropout = { low = 0.3, high = 0.7 }
    batch_size = { low = 8, high = 32, step = 8 }

A range whose bounds (and ``step``) are whole numbers is sampled as an integer; ``log = true`` samples it on
a log scale. Trials are scored on the validation split (``validation_split`` or ``params.validationSplit``
of the experiment), never on its test set.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sparktag.tracking.experiment_config import ExperimentConfig
from sparktag.tracking.training_pipeline import check_stage_params

SAMPLERS = ("tpe", "random", "grid")
PRUNERS = ("median", "none")
#: the validation scores a trial can be judged by (the autolog metric ``validation_<metric>``)
METRICS = ("entity_micro_f1", "entity_macro_f1", "token_micro_f1", "token_macro_f1")


@dataclass(frozen=True)
class Dimension:
    """One searched setting: a range (``low``..``high``, ``log``, ``step``) or a list of ``choices``."""

    name: str
    low: float | None = None
    high: float | None = None
    log: bool = False
    step: float | None = None
    choices: tuple[Any, ...] | None = None

    @property
    def is_int(self) -> bool:
        values = [self.low, self.high] + ([self.step] if self.step is not None else [])
        return self.choices is None and all(isinstance(v, int) and not isinstance(v, bool) for v in values)

    def suggest(self, trial: Any) -> Any:
        """This dimension's value for an Optuna ``trial``."""
        if self.choices is not None:
            return trial.suggest_categorical(self.name, list(self.choices))
        assert self.low is not None and self.high is not None
        if self.is_int:
            step = int(self.step) if self.step is not None else 1
            return trial.suggest_int(self.name, int(self.low), int(self.high), step=step, log=self.log)
        return trial.suggest_float(self.name, self.low, self.high, step=self.step, log=self.log)

    def grid_values(self) -> list[Any]:
        """Every value of this dimension, for the grid sampler (choices, or an integer range with its step)."""
        if self.choices is not None:
            return list(self.choices)
        if self.is_int:
            assert self.low is not None and self.high is not None
            return list(range(int(self.low), int(self.high) + 1, int(self.step or 1)))
        if self.step is not None and self.low is not None and self.high is not None:
            count = int(math.floor((self.high - self.low) / self.step + 1e-9)) + 1
            return [round(self.low + i * self.step, 12) for i in range(count)]
        raise ValueError(
            f"space.{self.name}: the grid sampler needs a finite set of values; give choices = [...] or a step"
        )

    def describe(self) -> str:
        """``[0.001, 0.02] log`` or ``{16, 32, 64}``: how the parent run shows it."""
        if self.choices is not None:
            return "{" + ", ".join(json.dumps(c) for c in self.choices) + "}"
        text = f"[{self.low}, {self.high}]"
        if self.step is not None:
            text += f" step {self.step}"
        return text + (" log" if self.log else "")


@dataclass
class SweepConfig:
    """A sweep: the base experiment, the space, the search and its budget; keys of a TOML/JSON file.

    Args:
        experiment: the base experiment; every trial is it with the trial's values applied.
        space: the searched settings (see the module doc), by override name.
        study_name: the Optuna study and the MLflow parent run's name; the same name continues a study
            (a restarted command, or another machine joining it).
        n_trials: the budget: trials completed or pruned (failed ones are retried and do not count).
        timeout_s: stop starting new trials after this many seconds of this command (``0``: no limit).
        sampler: ``tpe`` (default), ``random`` or ``grid`` (each value combination once).
        pruner: ``median`` (stop a trial whose validation score after an epoch is below the median of the
            earlier trials' at that epoch) or ``none``.
        pruner_startup_trials: trials that run to the end before the pruner judges any.
        metric: the validation score to maximise (one of :data:`METRICS`).
        model_name: register the best trial's model under this name (``None``: register nothing).
        alias: registry alias of the champion's version.
        retrain: retrain the best params on the training data without holding out validation, and register
            that model instead.
        storage: Optuna storage URL; ``None``: beside the MLflow store (see :mod:`sparktag.tracking.sweep_storage`).
        output_dir: local folder of the sweep (resolved settings, trial logs, plots, the champion's reports).
        seed: the sampler's seed.
        heartbeat_s: how often a running trial tells the storage it is alive; a trial silent for
            ``3 * heartbeat_s`` (its worker was killed) is failed and its params are tried again.
        enqueue: points to try first, in order, when the study is new (each a table of space names to
            values; a name it leaves out is sampled): the settings you already trust, as a baseline.
    """

    experiment: ExperimentConfig
    space: dict[str, Dimension]
    study_name: str = "sparktag-sweep"
    n_trials: int = 20
    timeout_s: float = 0.0
    sampler: str = "tpe"
    pruner: str = "median"
    pruner_startup_trials: int = 2
    metric: str = "entity_micro_f1"
    model_name: str | None = None
    alias: str = "champion"
    retrain: bool = False
    storage: str | None = None
    output_dir: str = "sparktag_sweep"
    seed: int = 0
    heartbeat_s: int = 10
    enqueue: list[dict[str, Any]] = field(default_factory=list)
    source: str | None = field(default=None, compare=False)  # the file it was read from

    def __post_init__(self) -> None:
        where = self.source or "sweep config"
        for key, allowed in (("sampler", SAMPLERS), ("pruner", PRUNERS), ("metric", METRICS)):
            value = getattr(self, key)
            if value not in allowed:
                raise ValueError(
                    f"{where}: {key} must be one of {', '.join(map(repr, allowed))}; got {value!r}"
                )
        if self.n_trials < 1:
            raise ValueError(f"{where}: n_trials must be at least 1; got {self.n_trials}")
        if self.heartbeat_s < 1:
            raise ValueError(f"{where}: heartbeat_s must be at least 1 (seconds); got {self.heartbeat_s}")
        self._check_space(where)
        if self.validation_split() <= 0:
            raise ValueError(f"{where}: trials are scored on validation data, never the test set; give the "
                             "experiment validation_split > 0 (e.g. 0.1)")  # fmt: skip

    def _check_space(self, where: str) -> None:
        """Every searched value is one a trial can apply; every enqueued point names searched settings."""
        if not self.space:
            raise ValueError(f"{where}: [space] is empty; name at least one setting to search, e.g. "
                             '"params.lr" = { low = 0.001, high = 0.02, log = true }')  # fmt: skip
        for name, dim in self.space.items():
            for value in dim.choices if dim.choices is not None else (dim.low, dim.high):
                try:
                    check_stage_params(self.experiment.with_overrides({name: value}))
                except ValueError as err:
                    raise ValueError(f"{where}: space.{name} = {value!r}: {err}") from None
        for i, point in enumerate(self.enqueue):
            unknown = sorted(set(point) - set(self.space))
            if unknown:
                raise ValueError(
                    f"{where}: enqueue[{i}]: {unknown} not in [space]; known: {sorted(self.space)}"
                )

    def validation_split(self) -> float:
        split = self.experiment.params.get("validationSplit", self.experiment.validation_split)
        return float(split)

    def trial_config(self, values: dict[str, Any], output_dir: str) -> ExperimentConfig:
        """The experiment one trial runs: the base with ``values`` applied, files in ``output_dir``."""
        return dataclasses.replace(self.experiment.with_overrides(values), output_dir=output_dir)

    def grid(self) -> dict[str, list[Any]]:
        return {name: dim.grid_values() for name, dim in self.space.items()}

    def to_dict(self) -> dict[str, Any]:
        """JSON-able, as :meth:`from_dict` reads it back (the experiment inline)."""
        values = {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.name != "source"}
        values["experiment"] = self.experiment.to_dict()
        values["space"] = {name: _dimension_dict(dim) for name, dim in self.space.items()}
        return values

    @classmethod
    def from_dict(
        cls, data: dict[str, Any], base_dir: Path | None = None, source: str | None = None
    ) -> SweepConfig:
        """A sweep from the keys of its file; ``experiment`` is a file path (relative to ``base_dir``) or a table."""
        where = source or "sweep config"
        data = dict(data)
        known = {f.name for f in dataclasses.fields(cls)} - {"source"}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"{where}: unknown keys {unknown}; known keys: {sorted(known)}")
        if "experiment" not in data or "space" not in data:
            raise ValueError(
                f"{where}: needs experiment (a config file or an [experiment] table) and [space]"
            )
        experiment = data.pop("experiment")
        if isinstance(experiment, str):
            path = Path(experiment)
            if not path.is_absolute() and base_dir is not None:
                path = base_dir / path
            data["experiment"] = ExperimentConfig.from_file(path)
        elif isinstance(experiment, dict):
            data["experiment"] = ExperimentConfig(**experiment)
        else:
            raise ValueError(f"{where}: experiment must be a file name or a table; got {experiment!r}")
        space = data.pop("space")
        if not isinstance(space, dict):
            raise ValueError(f"{where}: space must be a table of settings; got {space!r}")
        data["space"] = {name: _dimension(name, spec, where) for name, spec in space.items()}
        return cls(**data, source=source)

    @classmethod
    def from_file(cls, path: str | os.PathLike[str]) -> SweepConfig:
        """Read a ``.toml`` or ``.json`` sweep file (see the module doc)."""
        from sparktag.tracking.experiment_config import read_config_file

        file = Path(path)
        return cls.from_dict(read_config_file(file), file.parent, str(file))


def _dimension(name: str, spec: Any, where: str) -> Dimension:
    if isinstance(spec, list):  # shorthand: "params.lstmHidden" = [16, 32]
        spec = {"choices": spec}
    if not isinstance(spec, dict):
        raise ValueError(f"{where}: space.{name} must be {{ low = ..., high = ... }} or {{ choices = [...] }}; "
                         f"got {spec!r}")  # fmt: skip
    unknown = sorted(set(spec) - {"low", "high", "log", "step", "choices"})
    if unknown:
        raise ValueError(
            f"{where}: space.{name}: unknown keys {unknown}; use low, high, log, step or choices"
        )
    if "choices" in spec:
        choices = spec["choices"]
        if not isinstance(choices, list) or not choices:
            raise ValueError(f"{where}: space.{name}: choices must be a non-empty list")
        return Dimension(name, choices=tuple(choices))
    low, high = spec.get("low"), spec.get("high")
    numbers = all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in (low, high))
    if not numbers or low >= high:  # type: ignore[operator]
        raise ValueError(f"{where}: space.{name}: needs numbers low < high; got low={low!r}, high={high!r}")
    log = bool(spec.get("log", False))
    if log and low <= 0:  # type: ignore[operator]
        raise ValueError(f"{where}: space.{name}: a log range needs low > 0; got {low!r}")
    return Dimension(name, low=low, high=high, log=log, step=spec.get("step"))


def _dimension_dict(dim: Dimension) -> dict[str, Any]:
    if dim.choices is not None:
        return {"choices": list(dim.choices)}
    out: dict[str, Any] = {"low": dim.low, "high": dim.high}
    if dim.log:
        out["log"] = True
    if dim.step is not None:
        out["step"] = dim.step
    return out

"""The Optuna side of a sweep: its sampler, its pruner, the study's counts and its plots."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

from sparktag.tracking.sweep_config import SweepConfig

#: the plots the parent run logs, by file name
PLOTS = {
    "optimization_history.png": "plot_optimization_history",
    "parallel_coordinate.png": "plot_parallel_coordinate",
    "param_importances.png": "plot_param_importances",
}


def make_sampler(sweep: SweepConfig, worker: int = 0) -> Any:
    """TPE (with the constant liar, so parallel workers do not all try the same point), random or grid.

    Each worker seeds its sampler with ``seed + worker``: one worker's sweep is reproducible, and parallel
    workers draw different points.
    """
    import optuna

    seed = sweep.seed + worker
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        if sweep.sampler == "grid":
            return optuna.samplers.GridSampler(sweep.grid(), seed=seed)
        if sweep.sampler == "random":
            return optuna.samplers.RandomSampler(seed=seed)
        return optuna.samplers.TPESampler(
            seed=seed, constant_liar=True, n_startup_trials=max(2, sweep.pruner_startup_trials)
        )


def make_pruner(sweep: SweepConfig) -> Any:
    """The median pruner, judging from epoch 2 on once ``pruner_startup_trials`` trials ran; or none.

    Never after epoch 1: a slow first epoch (a small learning rate, a small batch) says little about the end.
    """
    import optuna

    if sweep.pruner == "none":
        return optuna.pruners.NopPruner()
    return optuna.pruners.MedianPruner(n_startup_trials=sweep.pruner_startup_trials, n_warmup_steps=2)


def open_study(sweep: SweepConfig, storage: Any) -> Any:
    """The sweep's study in ``storage``: created, or loaded when a study of that name exists (resume, join)."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    return optuna.create_study(
        study_name=sweep.study_name,
        storage=storage,
        sampler=make_sampler(sweep),
        pruner=make_pruner(sweep),
        direction="maximize",
        load_if_exists=True,
    )


def trial_counts(study: Any) -> dict[str, int]:
    """Trials by state, lower case (``complete``, ``pruned``, ``fail``, ``running``, ``waiting``)."""
    from optuna.trial import TrialState

    counts = {state.name.lower(): 0 for state in TrialState}
    for trial in study.get_trials(deepcopy=False):
        counts[trial.state.name.lower()] += 1
    return counts


def write_plots(study: Any, folder: Path) -> tuple[list[Path], dict[str, str]]:
    """Optuna's optimisation history, parallel coordinates and param importances as PNG files in ``folder``.

    Returns:
        ``(written, skipped)``: the files, and for each plot that could not be drawn, why (e.g. param
        importances need two completed trials that differ).
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import optuna
    from optuna.visualization import matplotlib as optuna_plots

    folder.mkdir(parents=True, exist_ok=True)
    written, skipped = [], {}
    for file, function in PLOTS.items():
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
                warnings.simplefilter(
                    "ignore", UserWarning
                )  # few trials: identical axis limits, equal importances
                axes = getattr(optuna_plots, function)(study)
            figure = (axes.flat[0] if hasattr(axes, "flat") else axes).get_figure()
            figure.set_size_inches(10, 6)
            figure.tight_layout()
            figure.savefig(folder / file, dpi=100)
            written.append(folder / file)
        except Exception as err:  # a plot is a nicety: say why it is missing, keep the sweep's result
            skipped[file] = f"{type(err).__name__}: {err}"
        finally:
            plt.close("all")
    return written, skipped

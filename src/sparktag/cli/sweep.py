"""``sparktag sweep``: search hyperparameters with Optuna, every trial a nested MLflow run, the best registered.

``--workers N`` runs N trial processes here; on other machines the same command joins the same study.
Running it again continues the study (a killed worker's trial is run again).
"""

from __future__ import annotations

import argparse

from sparktag.cli.status import FAILED, OK, UsageError


def add_parser(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", required=True, help="sweep file (TOML/JSON): experiment, [space], budget")
    parser.add_argument("--workers", type=int, default=1, help="trial processes on this machine (default 1)")
    parser.add_argument(
        "--n-trials", type=int, help="budget: trials completed or pruned (default: the file's)"
    )
    parser.add_argument(
        "--timeout", type=float, help="start no trial after this many seconds (default: the file's)"
    )
    parser.add_argument("--study-name", help="the Optuna study and MLflow parent run (default: the file's)")
    parser.add_argument("--tracking-uri", help="MLflow tracking URI (default: the experiment's, else "
                        "MLFLOW_TRACKING_URI, else sqlite:///mlflow.db)")  # fmt: skip
    parser.add_argument("--experiment", help="MLflow experiment (default: the experiment's, else "
                        "MLFLOW_EXPERIMENT_NAME, else sparktag)")  # fmt: skip
    parser.add_argument(
        "--output", help="local folder of the sweep (default: the file's, else sparktag_sweep)"
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from sparktag.tracking.preflight import check_config
    from sparktag.tracking.sweep import apply_overrides, sweep
    from sparktag.tracking.sweep_config import SweepConfig

    if args.workers < 1:
        raise UsageError(f"--workers must be at least 1; got {args.workers}")
    overrides = {"n_trials": args.n_trials, "timeout_s": args.timeout, "study_name": args.study_name,
                 "output_dir": args.output, "experiment.tracking_uri": args.tracking_uri,
                 "experiment.experiment_name": args.experiment}  # fmt: skip
    try:  # bad input fails here, in seconds, before any process starts
        config = apply_overrides(SweepConfig.from_file(args.config), overrides)
        check_config(config.experiment)
    except (OSError, ValueError) as err:
        raise UsageError(str(err)) from None
    result = sweep(config, workers=args.workers)
    return OK if result.model_uri is not None else FAILED

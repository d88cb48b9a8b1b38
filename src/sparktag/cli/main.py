"""``sparktag`` command: one sub-command per module in this package; each parses args and calls the library."""

from __future__ import annotations

import argparse
import importlib
import sys

from sparktag.cli.status import EPILOG, USAGE, UsageError

COMMANDS = {
    "demo": ("sparktag.cli.demo", "run the tracked NER experiment on the bundled sample data"),
    "train": ("sparktag.cli.train", "train, evaluate, log and register a NER model (one tracked experiment)"),
    "sweep": ("sparktag.cli.sweep", "search hyperparameters (Optuna), each trial a nested MLflow run"),
    "evaluate": ("sparktag.cli.evaluate", "score a model on a CoNLL test file, logged as a new run"),
    "predict": (
        "sparktag.cli.predict",
        "tag texts with a logged/registered model (no JVM) and print entities",
    ),
    "ui": ("sparktag.cli.ui", "open the MLflow UI on a tracking store"),
    "server": (
        "sparktag.cli.server",
        "start an MLflow tracking server (database + artifacts) with lean defaults",
    ),
    "upload": ("sparktag.cli.upload", "send an experiment tracked offline to an MLflow tracking server"),
}
WHERE = (
    "Where runs go: --tracking-uri/--experiment, else MLflow's MLFLOW_TRACKING_URI, MLFLOW_EXPERIMENT_NAME, "
    "MLFLOW_EXPERIMENT_ID, MLFLOW_REGISTRY_URI (and MLFLOW_RUN_ID), else sqlite:///mlflow.db."
)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="sparktag", description="Train, track and ship NER models on Spark.",
                                     epilog=f"{WHERE} {EPILOG}")  # fmt: skip
    parser.add_argument("--version", action="version", version=_version())
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    commands = {}
    for name, (module, help_text) in COMMANDS.items():
        commands[name] = sub.add_parser(name, help=help_text, description=help_text, epilog=EPILOG)
        importlib.import_module(module).add_parser(commands[name])
    # unknown flags are dotted overrides (--params.lr 0.002) for the commands that take them
    args, extra = parser.parse_known_args(argv)
    if args.command is None:
        parser.print_help()
        return USAGE
    command = commands[args.command]
    if extra and not hasattr(args, "overrides"):
        command.error(f"unrecognized arguments: {' '.join(extra)}")
    if hasattr(args, "overrides"):
        args.overrides = extra
    try:
        return int(args.run(args) or 0)
    except UsageError as err:
        print(f"sparktag {args.command}: error: {err}", file=sys.stderr)
        return USAGE


def _version() -> str:
    import sparktag

    return f"sparktag {sparktag.version()}"


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

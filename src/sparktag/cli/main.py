"""``sparktag`` command: one sub-command per module in this package; each parses args and calls the library."""

from __future__ import annotations

import argparse
import importlib
import sys

COMMANDS = {
    "demo": ("sparktag.cli.demo", "run the tracked NER experiment on the bundled sample data"),
    "train": ("sparktag.cli.train", "train, evaluate, log and register a NER model (one tracked experiment)"),
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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="sparktag", description="Train, track and ship NER models on Spark."
    )
    parser.add_argument("--version", action="version", version=_version())
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, (module, help_text) in COMMANDS.items():
        importlib.import_module(module).add_parser(
            sub.add_parser(name, help=help_text, description=help_text)
        )
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    return int(args.run(args) or 0)


def _version() -> str:
    import sparktag

    return f"sparktag {sparktag.version()}"


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

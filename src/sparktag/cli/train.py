"""``sparktag train``: the whole tracked experiment (train, save, evaluate, log, register) from flags or a config."""

from __future__ import annotations

import argparse

from sparktag.cli.status import NOT_TRACKED, OK, UsageError

# flag -> ExperimentConfig field; None defaults leave the config file's (or the dataclass's) value.
FLAGS: list[tuple[str, type, str]] = [
    ("train", str, "CoNLL training file"),
    ("test", str, "CoNLL test file (tagged and scored after training)"),
    ("embeddings", str, "local Hugging Face model folder or pretrained name (default all_minilm_l6_v2)"),
    ("max-epochs", int, "epochs (default 10)"),
    ("lr", float, "learning rate (default 0.003)"),
    ("batch-size", int, "sentences per batch (default 8)"),
    ("dropout", float, "probability to keep a unit (default 0.5)"),
    ("validation-split", float, "share of the training data held out for per-epoch scores (default 0.1)"),
    ("random-seed", int, "seed (default 0)"),
    ("experiment", str, "MLflow experiment (default: MLFLOW_EXPERIMENT_NAME / _ID, else sparktag)"),
    ("model-name", str, "register the model under this name"),
    ("alias", str, "registry alias of the new version (default champion)"),
    ("tracking-uri", str, "MLflow tracking URI (default: MLFLOW_TRACKING_URI, else sqlite:///mlflow.db)"),
    ("registry-uri", str, "MLflow registry URI (default: MLFLOW_REGISTRY_URI, else the tracking URI)"),
    ("artifact-location", str, "artifact folder or s3://bucket/prefix of a new experiment (default: the store's)"),
    ("output", str, "folder for every local file (default sparktag_output)"),
]  # fmt: skip
FIELDS = {"train": "train_path", "test": "test_path", "experiment": "experiment_name", "output": "output_dir"}
OVERRIDES = ("any config field or NerDLApproach param, spaCy style: --max_epochs 3, --params.lstmHidden 16, "
             "--params.lr=0.002 (after the other flags)")  # fmt: skip


def add_parser(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", help="JSON or TOML file with ExperimentConfig fields; flags override it")
    for flag, kind, help_text in FLAGS:
        parser.add_argument(f"--{flag}", type=kind, default=None, help=help_text)
    parser.add_argument("--param", action="append", default=[], metavar="NAME=JSON",
                        help="any other NerDLApproach param, e.g. --param useBestModel=true (repeatable)")  # fmt: skip
    parser.add_argument("--no-log-model", action="store_true", help="do not log the model to MLflow")
    parser.add_argument("--print-config", action="store_true",
                        help="print the resolved config as JSON (edit it, pass it back with --config) and exit")  # fmt: skip
    parser.epilog = f"overrides: {OVERRIDES}. {parser.epilog or ''}"
    parser.set_defaults(run=run, overrides=[])


def dotted(tokens: list[str]) -> dict[str, str]:
    """``["--params.lr", "0.002", "--max-epochs=3"]`` -> ``{"params.lr": "0.002", "max_epochs": "3"}``."""
    out: dict[str, str] = {}
    rest = list(tokens)
    while rest:
        token = rest.pop(0)
        if not token.startswith("--") or len(token) < 3:
            raise UsageError(f"unexpected argument {token!r}; overrides look like --params.lr 0.002")
        key, eq, value = token[2:].partition("=")
        if not eq:
            if not rest or rest[0].startswith("--"):
                raise UsageError(f"{token} needs a value, e.g. {token} 3")
            value = rest.pop(0)
        section, dot, name = key.partition(".")
        out[f"{section}.{name}" if dot else key.replace("-", "_")] = value
    return out


def config_from_args(args: argparse.Namespace) -> object:
    """The ExperimentConfig of a command line: --config file, then named flags, --param, dotted overrides."""
    import json

    from sparktag.tracking.experiment_config import ExperimentConfig

    values = {FIELDS.get(f, f.replace("-", "_")): getattr(args, f.replace("-", "_")) for f, _, _ in FLAGS}
    overrides: dict[str, object] = {k: v for k, v in values.items() if v is not None}
    if args.no_log_model:
        overrides["log_model"] = False
    for item in args.param:
        name, sep, raw = item.partition("=")
        if not sep:
            raise UsageError(f"--param {item!r}: expected NAME=VALUE, e.g. useBestModel=true")
        overrides[f"params.{name}"] = raw
    overrides.update(dotted(args.overrides))
    try:
        if args.config:
            return ExperimentConfig.from_file(args.config).with_overrides(overrides)
        if "train_path" not in overrides or "test_path" not in overrides:
            raise UsageError("give --train and --test, or --config FILE")
        base = ExperimentConfig(str(overrides.pop("train_path")), str(overrides.pop("test_path")))
        return base.with_overrides(overrides)
    except (OSError, ValueError, json.JSONDecodeError) as err:
        raise UsageError(str(err)) from None


def run(args: argparse.Namespace) -> int:
    import json
    import sys

    from sparktag.tracking.experiment import run_experiment
    from sparktag.tracking.preflight import check_config, printable_config

    config = config_from_args(args)
    if args.print_config:
        print(json.dumps(printable_config(config), indent=2))  # type: ignore[arg-type]
        return OK
    try:
        check_config(config)  # type: ignore[arg-type]
    except (OSError, ValueError) as err:  # bad input: seconds, before Spark starts
        raise UsageError(str(err)) from None
    result = run_experiment(config)  # type: ignore[arg-type]
    print(result.destination(), file=sys.stderr if result.tracking_error else sys.stdout)
    return NOT_TRACKED if result.tracking_error else OK

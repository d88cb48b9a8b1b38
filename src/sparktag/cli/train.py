"""``sparktag train``: the whole tracked experiment (train, save, evaluate, log, register) from flags or a config."""

from __future__ import annotations

import argparse

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
    ("experiment", str, "MLflow experiment name (default sparktag)"),
    ("model-name", str, "register the model under this name"),
    ("alias", str, "registry alias of the new version (default champion)"),
    ("tracking-uri", str, "MLflow tracking URI (default sqlite:///mlflow.db)"),
    (
        "artifact-location",
        str,
        "artifact folder or s3://bucket/prefix of a new experiment (default: the store's)",
    ),
    ("output", str, "folder for every local file (default sparktag_output)"),
]
FIELDS = {"train": "train_path", "test": "test_path", "experiment": "experiment_name", "output": "output_dir"}


def add_parser(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", help="JSON or TOML file with ExperimentConfig fields; flags override it")
    for flag, kind, help_text in FLAGS:
        parser.add_argument(f"--{flag}", type=kind, default=None, help=help_text)
    parser.add_argument("--param", action="append", default=[], metavar="NAME=JSON",
                        help="any other NerDLApproach param, e.g. --param useBestModel=true (repeatable)")  # fmt: skip
    parser.add_argument("--no-log-model", action="store_true", help="do not log the model to MLflow")
    parser.set_defaults(run=run)


def config_from_args(args: argparse.Namespace) -> object:
    import json

    from sparktag.tracking.experiment import ExperimentConfig

    values = {FIELDS.get(f, f.replace("-", "_")): getattr(args, f.replace("-", "_")) for f, _, _ in FLAGS}
    values = {k: v for k, v in values.items() if v is not None}
    if args.no_log_model:
        values["log_model"] = False
    extra = {}
    for item in args.param:
        name, sep, raw = item.partition("=")
        if not sep:
            raise SystemExit(f"--param {item!r}: expected NAME=VALUE, e.g. useBestModel=true")
        try:
            extra[name] = json.loads(raw)
        except json.JSONDecodeError:
            extra[name] = raw
    if args.config:
        config = ExperimentConfig.from_file(args.config, **values)
        config.params.update(extra)
        return config
    if "train_path" not in values or "test_path" not in values:
        raise SystemExit("sparktag train: give --train and --test, or --config FILE")
    return ExperimentConfig(**values, params=extra)


def run(args: argparse.Namespace) -> int:
    from sparktag.tracking.experiment import run_experiment

    result = run_experiment(config_from_args(args))  # type: ignore[arg-type]
    return 1 if result.tracking_error else 0

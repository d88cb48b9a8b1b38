"""``sparktag demo``: the README's main job: a tracked, registered NER model from the bundled sample data."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from sparktag.cli.status import NOT_TRACKED, OK

SAMPLE = Path(__file__).resolve().parents[1] / "data" / "sample"


def add_parser(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--tracking-uri", help="MLflow tracking URI (default: MLFLOW_TRACKING_URI, else sqlite:///mlflow.db)"
    )
    parser.add_argument("--experiment", help="MLflow experiment (default: MLFLOW_EXPERIMENT_NAME / _ID, else sparktag-demo)")  # fmt: skip
    parser.add_argument("--output", default="sparktag_demo_output", help="folder for every local file")
    parser.add_argument("--embeddings", default="all_minilm_l6_v2", help="model folder or pretrained name")
    parser.add_argument(
        "--max-epochs", type=int, default=8, help="epochs (default 8: a few minutes on 2 cores)"
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    import time

    from sparktag.tracking.experiment import run_experiment
    from sparktag.tracking.experiment_config import ExperimentConfig
    from sparktag.tracking.redact import redact_uri

    started = time.perf_counter()
    config = ExperimentConfig(
        train_path=str(SAMPLE / "train.conll"),
        test_path=str(SAMPLE / "test.conll"),
        embeddings=args.embeddings,
        max_epochs=args.max_epochs,
        lr=0.003,
        batch_size=16,
        validation_split=0.1,
        random_seed=0,
        experiment_name=args.experiment,
        model_name="sparktag_demo_ner",
        alias="champion",
        tracking_uri=args.tracking_uri,
        output_dir=args.output,
    )
    result = run_experiment(config, default_experiment="sparktag-demo")
    uri = redact_uri(result.settings.tracking_uri if result.settings else "sqlite:///mlflow.db")
    print(f"\ndone in {time.perf_counter() - started:.0f}s. Next:")
    if uri.startswith(("http://", "https://")):
        print(f"  open {uri} in a browser")
    else:
        print(f"  sparktag ui --backend-store-uri {uri}        # then open http://127.0.0.1:5000")
    print(
        f'  sparktag predict {result.model_uri} "Maria Lopez joined Northwind Bank in Lisbon." --tracking-uri {uri}'
    )
    # mlflow models serve execs `uvicorn` from PATH: this environment's bin folder goes first
    bin_dir = os.path.dirname(sys.executable)
    print(
        f'  PATH="{bin_dir}:$PATH" MLFLOW_TRACKING_URI={uri} mlflow models serve -m {result.model_uri} '
        "--env-manager local -p 5001"
    )
    print(result.destination())
    return NOT_TRACKED if result.tracking_error else OK

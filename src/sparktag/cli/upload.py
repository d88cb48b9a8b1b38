"""``sparktag upload``: send an experiment's output folder (tracked while MLflow was unreachable) to MLflow."""

from __future__ import annotations

import argparse


def add_parser(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("output", help="the experiment's output folder (or one mlflow_pending_*.json file)")
    parser.add_argument("--tracking-uri", required=True, help="MLflow tracking URI to upload to")
    parser.add_argument("--experiment", default="sparktag", help="experiment of the new run")
    parser.add_argument("--model-name", default=None, help="register the uploaded model under this name")
    parser.add_argument("--alias", default="champion", help="registry alias of the new version")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    import os

    from sparktag.tracking.redact import redact_uri

    if os.path.isfile(args.output):
        from sparktag.tracking.autolog import upload_pending

        run_id = upload_pending(args.output, args.tracking_uri, args.experiment)
    else:
        from sparktag.tracking.experiment import upload_experiment

        run_id = upload_experiment(
            args.output, args.tracking_uri, args.experiment, args.model_name, args.alias
        )
    print(f"uploaded {args.output} as run {run_id} to {redact_uri(args.tracking_uri)}")
    return 0

"""``sparktag upload``: send an experiment's output folder (tracked while MLflow was unreachable) to MLflow.

A folder that is in MLflow already (its run finished tracking, or an earlier upload) is refused, naming its
run, unless ``--force``.
"""

from __future__ import annotations

import argparse

from sparktag.cli.status import OK, UsageError


def add_parser(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("output", help="the experiment's output folder (or one mlflow_pending_*.json file)")
    parser.add_argument(
        "--tracking-uri", help="MLflow tracking URI (default: MLFLOW_TRACKING_URI, else sqlite:///mlflow.db)"
    )
    parser.add_argument(
        "--experiment",
        help="experiment of the new run (default: the folder's, else MLFLOW_EXPERIMENT_NAME, else sparktag)",
    )
    parser.add_argument("--model-name", default=None, help="register the uploaded model under this name")
    parser.add_argument("--alias", default="champion", help="registry alias of the new version")
    parser.add_argument(
        "--force", action="store_true", help="upload a folder that is tracked already (a second run)"
    )
    parser.set_defaults(run=run)  # fmt: skip


def run(args: argparse.Namespace) -> int:
    import os

    from sparktag.tracking.settings import resolve_settings

    if os.path.isfile(args.output):
        from sparktag.tracking.pending import upload_pending

        settings = resolve_settings(args.tracking_uri, args.experiment)
        run_id = upload_pending(args.output, settings.tracking_uri, settings.experiment_name)
        print(f"uploaded {args.output} as run {run_id} to {settings.describe()}")
        return OK
    from sparktag.tracking.output_folder import tracked_run
    from sparktag.tracking.upload import upload_experiment

    try:
        run_id = upload_experiment(args.output, args.tracking_uri, args.experiment, args.model_name, args.alias,
                                   force=args.force)  # fmt: skip
    except (FileExistsError, FileNotFoundError) as err:
        raise UsageError(str(err)) from None
    done = tracked_run(args.output) or {}
    print(f"uploaded {args.output} as run {run_id} to {done.get('tracking_uri')}, "
          f"experiment {done.get('experiment_name')!r}")  # fmt: skip
    return OK

"""``sparktag ui``: the MLflow UI on a tracking store (``mlflow ui``, one worker, no job execution)."""

from __future__ import annotations

import argparse


def add_parser(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--backend-store-uri",
                        help="tracking store to browse (default: MLFLOW_BACKEND_STORE_URI, else a database/folder "
                             "MLFLOW_TRACKING_URI, else sqlite:///mlflow.db; ./mlruns: file:./mlruns with "
                             "MLFLOW_ALLOW_FILE_STORE=true)")  # fmt: skip
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=5000, help="port (default 5000)")
    parser.add_argument("--dry-run", action="store_true", help="print the command instead of running it")
    parser.set_defaults(run=run)


def backend_store(flag: str | None) -> str:
    """The store to browse: the flag, else what ``mlflow ui`` reads, else the store runs are tracked to."""
    import os

    tracked = os.environ.get("MLFLOW_TRACKING_URI", "")
    if tracked.startswith(("http://", "https://")):
        tracked = ""  # a server has its own UI
    return flag or os.environ.get("MLFLOW_BACKEND_STORE_URI") or tracked or "sqlite:///mlflow.db"


def ui_command(args: argparse.Namespace) -> list[str]:
    import sys

    return [sys.executable, "-m", "mlflow", "ui", "--backend-store-uri", backend_store(args.backend_store_uri),
            "--host", args.host, "--port", str(args.port), "--workers", "1"]  # fmt: skip


def run(args: argparse.Namespace) -> int:
    from sparktag.cli.server import exec_mlflow

    return exec_mlflow(ui_command(args), f"http://{args.host}:{args.port}", args.dry_run)

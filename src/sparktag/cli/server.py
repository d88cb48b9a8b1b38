"""``sparktag server``: an MLflow tracking server with lean defaults, a thin shell over ``mlflow server``.

What it adds to ``mlflow server``: one worker instead of four and job execution off (~0.5 GB instead of ~3 GB
of RAM), loopback by default, the server's artifact proxy on by default (clients need no storage
credentials), and the exact ``mlflow`` command printed with passwords redacted. Every other option of
``mlflow server`` passes through after ``--``.
"""

from __future__ import annotations

import argparse
import os


def add_parser(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--backend-store-uri",
                        help="runs and registry (default: MLFLOW_BACKEND_STORE_URI, else sqlite:///mlflow.db); mysql+pymysql://USER:PASSWORD@HOST:3306/DB, "
                             "postgresql+psycopg2://USER:PASSWORD@HOST:5432/DB")  # fmt: skip
    parser.add_argument("--artifacts-destination",
                        help="where the server stores artifacts it proxies: a folder (default: "
                             "MLFLOW_ARTIFACTS_DESTINATION, else ./mlartifacts) or "
                             "s3://BUCKET/PREFIX (set MLFLOW_S3_ENDPOINT_URL and AWS_* for the server)")  # fmt: skip
    parser.add_argument("--default-artifact-root", default=os.environ.get("MLFLOW_DEFAULT_ARTIFACT_ROOT"),
                        help="with --no-serve-artifacts: where clients write artifacts themselves (s3://..., a shared folder)")  # fmt: skip
    parser.add_argument("--no-serve-artifacts", action="store_true",
                        help="clients write artifacts straight to --default-artifact-root (they need its credentials)")  # fmt: skip
    parser.add_argument(
        "--app-name", choices=["basic-auth"], help="basic-auth: MLflow's users and permissions"
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=5000, help="port (default 5000)")
    parser.add_argument("--workers", type=int, default=1, help="server worker processes (default 1)")
    parser.add_argument(
        "--dry-run", action="store_true", help="print the mlflow command instead of running it"
    )
    parser.add_argument("extra", nargs=argparse.REMAINDER, help="-- then any other `mlflow server` option")
    parser.set_defaults(run=run)


def server_command(args: argparse.Namespace) -> list[str]:
    """The ``mlflow server`` command line for ``args`` (unset flags: the ``MLFLOW_*`` variables ``mlflow server``
    reads, else sparktag's defaults)."""
    import sys

    backend = args.backend_store_uri or os.environ.get("MLFLOW_BACKEND_STORE_URI") or "sqlite:///mlflow.db"
    destination = (
        args.artifacts_destination or os.environ.get("MLFLOW_ARTIFACTS_DESTINATION") or "./mlartifacts"
    )
    command = [sys.executable, "-m", "mlflow", "server", "--backend-store-uri", backend,
               "--host", args.host, "--port", str(args.port), "--workers", str(args.workers)]  # fmt: skip
    if args.no_serve_artifacts:
        if not args.default_artifact_root:
            raise SystemExit(
                "sparktag server: --no-serve-artifacts needs --default-artifact-root (s3://... or a folder)"
            )
        command += ["--no-serve-artifacts", "--default-artifact-root", args.default_artifact_root]
    else:
        command += ["--serve-artifacts", "--artifacts-destination", destination]
        if args.default_artifact_root:
            command += ["--default-artifact-root", args.default_artifact_root]
    if args.app_name:
        command += ["--app-name", args.app_name]
    extra = list(args.extra or [])
    return command + (extra[1:] if extra[:1] == ["--"] else extra)


def exec_mlflow(command: list[str], url: str, dry_run: bool) -> int:
    """Print ``command`` (redacted) and replace this process with it, so signals reach MLflow directly."""
    import os
    import shlex

    from sparktag.tracking.redact import redact_uri

    shown = " ".join(shlex.quote(redact_uri(c)) for c in command)
    if dry_run:
        print(shown)
        return 0
    print(f"MLflow at {url} (Ctrl+C to stop): {shown}", flush=True)
    env = {**os.environ, "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"}
    os.execve(command[0], command, env)
    return 0  # pragma: no cover - execve does not return


def run(args: argparse.Namespace) -> int:
    return exec_mlflow(server_command(args), f"http://{args.host}:{args.port}", args.dry_run)

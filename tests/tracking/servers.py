"""Real tracking backends for tests: a fresh database on the running MariaDB / PostgreSQL, a local S3 endpoint
(moto), and MLflow tracking servers started with ``sparktag server``.

Where a database server is not reachable the test is skipped with the reason, except in CI (``CI=true``),
where every backend must be there and a missing one fails the test.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from processes import free_port, stop, wait_http

IN_CI = os.environ.get("CI") == "true"
# Server URIs without a database; a database of this test run is created under them.
MYSQL_SERVER = os.environ.get("SPARKTAG_TEST_MYSQL", "mysql+pymysql://root@127.0.0.1:3306")
POSTGRES_SERVER = os.environ.get("SPARKTAG_TEST_POSTGRES", "postgresql+psycopg2://postgres@127.0.0.1:5432")
S3_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
}


def unavailable(reason: str) -> None:
    """Skip, or fail in CI, where every backend must be running."""
    if IN_CI:
        pytest.fail(f"{reason} (CI=true: the tracking backends must be running; see .ci/run)")
    pytest.skip(reason)


def _url_parts(server_uri: str) -> tuple[str, int, str, str]:
    from urllib.parse import urlsplit

    parts = urlsplit(server_uri)
    return parts.hostname or "127.0.0.1", parts.port or 0, parts.username or "", parts.password or ""


@contextlib.contextmanager
def mysql_database() -> Iterator[str]:
    """A new, empty MariaDB/MySQL database; yields its SQLAlchemy URI and drops it afterwards."""
    import pymysql

    host, port, user, password = _url_parts(MYSQL_SERVER)
    try:
        conn = pymysql.connect(host=host, port=port or 3306, user=user, password=password, autocommit=True,
                               connect_timeout=3)  # fmt: skip
    except pymysql.err.OperationalError as err:
        unavailable(f"no MySQL/MariaDB server at {host}:{port or 3306} ({err})")
    name = f"sparktag_{uuid.uuid4().hex[:12]}"
    with conn.cursor() as cur:
        cur.execute(f"CREATE DATABASE {name} CHARACTER SET utf8mb4")
    try:
        yield f"{MYSQL_SERVER}/{name}"
    finally:
        with conn.cursor() as cur:
            cur.execute(f"DROP DATABASE IF EXISTS {name}")
        conn.close()


@contextlib.contextmanager
def postgres_database() -> Iterator[str]:
    """A new, empty PostgreSQL database; yields its SQLAlchemy URI and drops it afterwards."""
    import psycopg2

    host, port, user, password = _url_parts(POSTGRES_SERVER)
    try:
        conn = psycopg2.connect(host=host, port=port or 5432, user=user, password=password, dbname="postgres",
                                connect_timeout=3)  # fmt: skip
    except psycopg2.OperationalError as err:
        unavailable(f"no PostgreSQL server at {host}:{port or 5432} ({str(err).strip()})")
    conn.autocommit = True
    name = f"sparktag_{uuid.uuid4().hex[:12]}"
    with conn.cursor() as cur:
        cur.execute(f"CREATE DATABASE {name}")
    try:
        yield f"{POSTGRES_SERVER}/{name}"
    finally:
        with conn.cursor() as cur:
            cur.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        conn.close()


class S3:
    """A moto S3 endpoint on a free loopback port, with one bucket."""

    def __init__(self, workdir: Path) -> None:
        exe = shutil.which("moto_server", path=str(Path(sys.executable).parent)) or shutil.which(
            "moto_server"
        )
        if exe is None:
            unavailable("moto_server is not installed (pip install 'moto[server]')")
        self.port = free_port()
        self.endpoint = f"http://127.0.0.1:{self.port}"
        self.bucket = "sparktag-artifacts"
        self.env = {**S3_ENV, "MLFLOW_S3_ENDPOINT_URL": self.endpoint}
        self.log = workdir / "moto.log"
        with self.log.open("w") as out:  # the child keeps its own copy of the descriptor
            self.process = subprocess.Popen(
                [exe, "-H", "127.0.0.1", "-p", str(self.port)],
                stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
            )  # fmt: skip
        self.start_s = wait_http(f"{self.endpoint}/moto-api/", self.process, self.log)
        self.client().create_bucket(Bucket=self.bucket)

    def client(self):
        import boto3

        return boto3.client("s3", endpoint_url=self.endpoint, **_boto_credentials())

    def keys(self, prefix: str = "") -> list[str]:
        paginator = self.client().get_paginator("list_objects_v2")
        return [
            o["Key"]
            for page in paginator.paginate(Bucket=self.bucket, Prefix=prefix)
            for o in page.get("Contents", [])
        ]

    def close(self) -> None:
        stop(self.process)


def _boto_credentials() -> dict[str, str]:
    return {"aws_access_key_id": S3_ENV["AWS_ACCESS_KEY_ID"], "aws_secret_access_key": S3_ENV["AWS_SECRET_ACCESS_KEY"],
            "region_name": S3_ENV["AWS_DEFAULT_REGION"]}  # fmt: skip


class TrackingServer:
    """``sparktag server`` on a free loopback port; ``url`` is its tracking URI.

    Args:
        backend: the backend store URI (a database).
        workdir: folder for the log and, by default, the proxied artifacts.
        args: more ``sparktag server`` arguments (``--artifacts-destination s3://...``, ``--app-name basic-auth``).
        env: more environment for the server (S3 endpoint and credentials, auth config).
        port: listen there (a restarted server on its old port); a free port by default.
    """

    def __init__(self, backend: str, workdir: Path, args: list[str] | None = None,
                 env: dict[str, str] | None = None, port: int | None = None) -> None:  # fmt: skip
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = workdir / f"mlflow-server-{self.port}.log"
        args = list(args or [])
        if "--artifacts-destination" not in args and "--no-serve-artifacts" not in args:
            args += ["--artifacts-destination", str(workdir / "mlartifacts")]
        command = [sys.executable, "-m", "sparktag.cli.main", "server", "--backend-store-uri", backend,
                   "--port", str(self.port), *args]  # fmt: skip
        self.started = time.perf_counter()
        with self.log.open("w") as out:  # the child keeps its own copy of the descriptor
            self.process = subprocess.Popen(
                command, cwd=workdir, env={**os.environ, **(env or {})},
                stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
            )  # fmt: skip
        self.start_s = wait_http(f"{self.url}/health", self.process, self.log)

    def rss_mb(self) -> float:
        """Resident memory of the server and its worker processes, in MB (Linux /proc)."""
        out = subprocess.run(
            ["pgrep", "-g", str(self.process.pid)], capture_output=True, text=True
        ).stdout.split()
        total = 0
        for pid in out:
            with contextlib.suppress(OSError):
                for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1])
        return total / 1024

    def close(self) -> None:
        stop(self.process)


#: what the serving tests send: a sentence of the bundled train.conll, so the tiny model finds its entities
SENTENCE = "Halden Steel agreed to buy a stake in Fennick Motors for 58.27 billion euros ."  # in train.conll


def entities(predictions: list[dict]) -> list[tuple]:
    """(text_index, chunk, entity, begin, end) of every entity of a default answer (one prediction per text)."""
    return [
        (i, e["chunk"], e["entity"], e["begin"], e["end"])
        for i, prediction in enumerate(predictions)
        for e in prediction["entities"]
    ]


class ModelServer:
    """``mlflow models serve -m MODEL --env-manager local`` on a free loopback port; ``url`` is its base URL.

    Args:
        model_uri: what to serve (``models:/NAME@alias``).
        tracking_uri: where that model is registered.
        workdir: folder for the server's log (``<name>.log``).
        env: more environment for the server (e.g. ``MLFLOW_SCORING_SERVER_REQUEST_TIMEOUT``).
    """

    def __init__(self, model_uri: str, tracking_uri: str, workdir: Path, env: dict[str, str] | None = None,
                 name: str = "model-server") -> None:  # fmt: skip
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = workdir / f"{name}.log"
        # mlflow execs `uvicorn` by name: the interpreter's bin folder must be on PATH (a venv not activated)
        path = os.pathsep.join([os.path.dirname(sys.executable), os.environ.get("PATH", "")])
        full_env = {**os.environ, "MLFLOW_TRACKING_URI": tracking_uri, "PATH": path, "HF_HUB_OFFLINE": "1",
                    **(env or {})}  # fmt: skip
        command = [sys.executable, "-m", "mlflow", "models", "serve", "-m", model_uri, "--env-manager", "local",
                   "-h", "127.0.0.1", "-p", str(self.port)]  # fmt: skip
        # its own process group, so stopping it stops its uvicorn workers too
        with self.log.open("w") as out:
            self.process = subprocess.Popen(command, env=full_env, stdout=out, stderr=subprocess.STDOUT,
                                            start_new_session=True)  # fmt: skip
        # the machine may be busy; a healthy server answers /ping in a few seconds
        self.start_s = wait_http(f"{self.url}/ping", self.process, self.log, timeout_s=180)

    def close(self) -> None:
        stop(self.process)

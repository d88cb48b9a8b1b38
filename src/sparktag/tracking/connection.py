"""A quick check that a tracking server answers, so an unreachable one costs seconds, not minutes.

:func:`check_reachable` and :func:`fail_fast_if_unreachable` let the listener and ``run_experiment`` go offline
in seconds when the server is away, instead of waiting through MLflow's minutes of HTTP retries.
"""

from __future__ import annotations

import contextlib
import os
import socket
from collections.abc import Iterator
from urllib.parse import urlparse


def check_reachable(uri: str, timeout_s: float = 3.0) -> str | None:
    """None when an http(s) tracking server answers a TCP connect; else why not. Other stores: None.

    A quick check before training, so an unreachable server costs seconds, not MLflow's minutes of retries.
    """
    parsed = urlparse(uri)
    if parsed.scheme not in ("http", "https") or not parsed.hostname:
        return None
    port = parsed.port or (443 if parsed.scheme == "https" else 80)
    try:
        with socket.create_connection((parsed.hostname, port), timeout=timeout_s):
            return None
    except OSError as err:
        return f"cannot connect to {parsed.hostname}:{port} ({err.strerror or err})"


@contextlib.contextmanager
def fail_fast_if_unreachable(uri: str) -> Iterator[None]:
    """MLflow calls inside the block make one attempt with a short timeout when ``uri`` cannot be reached:
    ending a run on a server that went away must cost seconds, not MLflow's minutes of retries."""
    if check_reachable(uri) is None:
        yield
        return
    settings = {"MLFLOW_HTTP_REQUEST_MAX_RETRIES": "0", "MLFLOW_HTTP_REQUEST_TIMEOUT": "5"}
    saved = {k: os.environ.get(k) for k in settings}
    os.environ.update(settings)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value

"""The facts a tracked run records about where it ran, and a quick check that a tracking server answers.

:func:`environment_tags` (versions of sparktag, torch, pyspark, MLflow, Java, Python and the git commit) go on
every autologged run; :func:`check_reachable` and :func:`fail_fast_if_unreachable` let the listener go offline
in seconds when the server is away, instead of waiting through MLflow's minutes of HTTP retries.
"""

from __future__ import annotations

import contextlib
import os
import re
import socket
import subprocess
import sys
from collections.abc import Iterator
from urllib.parse import urlparse


def environment_tags() -> dict[str, str]:
    """Versions of sparktag, torch, pyspark, Java and Python, and the git commit of the working directory."""
    import platform

    import sparktag

    tags = {"sparktag.version": sparktag.version(), "python.version": platform.python_version()}
    for module in ("torch", "pyspark", "mlflow"):
        mod = sys.modules.get(module)
        if mod is None:
            with contextlib.suppress(ImportError):
                mod = __import__(module)
        if mod is not None:
            tags[f"{module}.version"] = str(getattr(mod, "__version__", "unknown"))
    java = java_version()
    if java:
        tags["java.version"] = java
    commit = git_commit()
    if commit:
        tags["mlflow.source.git.commit"] = commit
    return tags


def java_version() -> str | None:
    """``17.0.12`` from ``java -version`` (``$JAVA_HOME/bin/java`` first), or None when there is no Java."""
    home = os.environ.get("JAVA_HOME")
    java = os.path.join(home, "bin", "java") if home else "java"
    try:
        done = subprocess.run([java, "-version"], capture_output=True, text=True, timeout=20)
    except (OSError, subprocess.SubprocessError):
        return None
    match = re.search(r'version "([^"]+)"', done.stderr + done.stdout)
    return match.group(1) if match else None


def git_commit(folder: str | None = None) -> str | None:
    """The HEAD commit of the git repository holding ``folder`` (default: the working directory), or None."""
    try:
        done = subprocess.run(
            ["git", "rev-parse", "HEAD"], capture_output=True, text=True, timeout=10, cwd=folder
        )
    except (OSError, subprocess.SubprocessError):
        return None
    commit = done.stdout.strip()
    return commit if done.returncode == 0 and re.fullmatch(r"[0-9a-f]{40}", commit) else None


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

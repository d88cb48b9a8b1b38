"""Processes the tests start: a free port, waiting for a worker or server to be ready (failing loudly, with its
output, when it dies or times out), stopping it with its children, and its resident memory."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path

import pytest


def free_port() -> int:
    """A TCP port nothing listens on now (the OS's pick)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def rss_mb(pid: int | str = "self") -> float:
    """Resident memory of a process (this one by default), in MiB, from /proc."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS in /proc/{pid}/status")


def _tail(log: Path) -> str:
    return log.read_text(errors="replace")[-3000:] if log.exists() else f"({log} was not written)"


def wait_for(
    ready: Callable[[], bool], process: subprocess.Popen, log: Path, timeout_s: float, what: str = "worker"
) -> float:
    """Seconds until ``ready()``; fails the test with the end of ``log`` if the process exits first or time runs
    out (the process is killed then)."""
    started = time.monotonic()
    while not ready():
        if process.poll() is not None:
            pytest.fail(f"{what} exited with {process.returncode} before it was ready:\n{_tail(log)}")
        if time.monotonic() - started > timeout_s:
            process.kill()
            pytest.fail(f"{what} not ready after {timeout_s:.0f} s:\n{_tail(log)}")
        time.sleep(0.02)
    return time.monotonic() - started


def _answers(url: str, any_status: bool) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=3) as response:
            return any_status or response.status == 200
    except urllib.error.HTTPError:
        return any_status  # an answer, even 401/404
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        return False


def wait_http(
    url: str, process: subprocess.Popen, log: Path, timeout_s: float = 90.0, any_status: bool = False
) -> float:
    """Seconds until ``url`` answers 200 (any HTTP answer with ``any_status``: servers listen before they
    serve); fails with the process log if it dies or times out."""
    return wait_for(
        lambda: _answers(url, any_status), process, log, timeout_s, what=f"{process.args!r} ({url})"
    )


def wait_for_port(port: int, process: subprocess.Popen, log: Path, timeout_s: float = 120.0) -> float:
    """Seconds until something listens on ``port``; fails with the process log if it dies or times out."""

    def listening() -> bool:
        with socket.socket() as s:
            return s.connect_ex(("127.0.0.1", port)) == 0

    return wait_for(listening, process, log, timeout_s, what=f"the process for port {port}")


def stop(process: subprocess.Popen) -> None:
    """Stop a process started in its own session, children included."""
    if process.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()

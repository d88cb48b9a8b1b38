"""The facts a tracked run records about where it ran: versions and the git commit.

:func:`environment_tags` (versions of sparktag, torch, pyspark, MLflow, Java, Python and the git commit) go on
every autologged run, as tags.
"""

from __future__ import annotations

import contextlib
import os
import re
import subprocess
import sys


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

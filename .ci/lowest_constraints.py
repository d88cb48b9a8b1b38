"""Print pip constraints that pin every runtime dependency of pyproject.toml to its lowest supported version.

``make test-lowest`` installs sparktag with them (``pip install -c``), pip's answer to ``--resolution lowest``:
``pyspark>=3.5,<5`` becomes ``pyspark==3.5.0``. torch is left out: the only CPU build here is the local wheel
the Makefile installs first (any other torch is a multi-GB CUDA download). Extras (demo, server, test) are not
lowered; pip resolves them against the lowered runtime.

Usage: python .ci/lowest_constraints.py [pyproject.toml] > lowest.txt
"""

from __future__ import annotations

import sys
from pathlib import Path

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

from packaging.requirements import Requirement

SKIPPED = {"torch"}


def lowest_constraints(pyproject: Path) -> list[str]:
    """``name==lowest`` for each runtime dependency with a ``>=`` bound that applies to this interpreter.

    Args:
        pyproject: the project's pyproject.toml.

    Returns:
        Constraint lines, in the order of ``[project] dependencies``.

    Raises:
        ValueError: a dependency (other than torch) has no ``>=`` lower bound, so its lowest is unknown.
    """
    lines = []
    for spec in tomllib.loads(pyproject.read_text(encoding="utf-8"))["project"]["dependencies"]:
        req = Requirement(spec)
        if req.name in SKIPPED or (req.marker is not None and not req.marker.evaluate()):
            continue
        lower = [s.version for s in req.specifier if s.operator == ">="]
        if not lower:
            raise ValueError(f"{pyproject}: dependency {spec!r} has no '>=' lower bound; give it one")
        lines.append(f"{req.name}=={lower[0]}")
    return lines


if __name__ == "__main__":
    path = Path(sys.argv[1] if len(sys.argv) > 1 else "pyproject.toml")
    print("\n".join(lowest_constraints(path)))

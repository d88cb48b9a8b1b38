"""The standalone cluster of the tests in this folder: started once per test run, stopped at its end.

Where this machine cannot run it (not root, so no second OS user; no ``setfacl``; no Debian ``python3.X``) the
tests skip with the reason, except in CI (``CI=true``), where the cluster must run and they fail.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from standalone import ClusterUnavailableError, StandaloneCluster, standalone_cluster  # noqa: E402


@pytest.fixture(scope="session")
def cluster() -> Iterator[StandaloneCluster]:
    """A master and two 1-core workers running as another OS user (see standalone.py)."""
    try:
        with standalone_cluster(n_workers=2) as running:
            yield running
    except ClusterUnavailableError as err:
        if os.environ.get("CI") == "true":
            pytest.fail(f"the standalone cluster cannot run here: {err} (CI=true: it must; see .ci/run)")
        pytest.skip(f"the standalone cluster cannot run here: {err}")

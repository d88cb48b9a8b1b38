"""The cluster fixture is what it claims: executors on other processes, as another user, blind to the driver."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

JOBS = Path(__file__).parent / "jobs"

pytestmark = [pytest.mark.spark, pytest.mark.cluster]


def test_executors_cannot_read_the_driver_files(cluster, tmp_path: Path) -> None:
    private = tmp_path / "secret.txt"
    private.write_text("driver only")
    shared = cluster.shared / "hello.txt"
    shared.write_text("everyone")
    answer = tmp_path / "answer.json"

    cluster.run_driver([str(JOBS / "probe.py"), str(private), str(shared), str(answer)], cwd=tmp_path)

    seen = json.loads(answer.read_text())
    assert seen["master"] == cluster.master_url
    assert len(seen["executors"]) == 2
    assert len({e["cwd"] for e in seen["executors"]}) == 2, "both tasks ran on one executor"
    for executor in seen["executors"]:
        assert executor["user"] == cluster.user != os.environ.get("USER", "root")
        assert executor["python"] == cluster.python
        assert executor[str(private)] == "PermissionError"
        assert executor[str(shared)] == "everyone"
        assert not executor["cwd"].startswith(str(tmp_path))

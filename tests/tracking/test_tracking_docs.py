"""docs/tracking.md, run as a user would: every ``bash`` block in order, in one fresh folder.

Conventions of the page (stated on it): a block starting with ``# in another terminal`` is a server that keeps
running while later blocks use it (started in the background; the runner waits for its port); a non-shell
block whose first line is ``# NAME`` is a file the reader writes (``experiment.toml``, ``basic_auth.ini``).
``export`` lines carry over to later blocks, as in one terminal session.

What the runner changes, and only this: CoNLL-2003's ``eng.train``/``eng.testa`` become the bundled sample,
``--max-epochs 10``/``max_epochs = 10`` become 1 epoch, the servers' ports become free ones, the database name
``mlflow_db`` gets a per-run suffix (the databases are dropped afterwards), and ``$SPARKTAG_MODELS`` points
``all_minilm_l6_v2`` at a tiny BERT of the sample's words (the real MiniLM runs in the demo test of
tests/cli). The environment is the test run's (Spark's JVMs with C1 only: see tests/conftest.py).

The seconds each block took are printed at the end (shown on failure, or with ``pytest -rP``).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from processes import free_port, stop, wait_for_port, wait_http
from servers import unavailable

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "tracking.md"
SAMPLE = ROOT / "src" / "sparktag" / "data" / "sample"
BACKGROUND = "# in another terminal"

pytestmark = [pytest.mark.spark, pytest.mark.slow]


def blocks(markdown: str) -> list[tuple[str, str]]:
    """(language, body) of every fenced code block, in order."""
    return [(m.group(1), m.group(2)) for m in re.finditer(r"^```(\w*)\n(.*?)^```", markdown, re.S | re.M)]


@pytest.fixture
def databases():
    """Per-run database name; drops whatever the page created under it."""
    name = f"mlflow_db_{uuid.uuid4().hex[:8]}"
    yield name
    import psycopg2
    import pymysql

    try:
        conn = pymysql.connect(host="127.0.0.1", user="root", password="", autocommit=True)
        with conn.cursor() as cur:
            cur.execute(f"DROP DATABASE IF EXISTS {name}")
        conn.close()
    except pymysql.err.OperationalError:
        pass
    try:
        conn = psycopg2.connect(host="127.0.0.1", user="postgres", dbname="postgres")
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        conn.close()
    except psycopg2.OperationalError:
        pass


def test_every_command_of_the_tracking_guide_runs(tmp_path, databases):
    from tiny_bert import conll_words, save_tiny_bert

    for tool in ("mariadb", "createdb", "curl"):
        if not _on_path(tool):
            unavailable(f"docs/tracking.md uses `{tool}`, which is not installed")
    ports = _server_ports()
    port_pattern = re.compile(r"\b(" + "|".join(ports) + r")\b")
    # MiniLM stands in for a tiny BERT of the sample's words: same code path, seconds instead of minutes
    models = tmp_path / "models"
    save_tiny_bert(models / "all_minilm_l6_v2", conll_words(SAMPLE / "train.conll", SAMPLE / "test.conll"))

    def adapt(text: str) -> str:
        text = text.replace("eng.train", str(SAMPLE / "train.conll")).replace(
            "eng.testa", str(SAMPLE / "test.conll")
        )
        text = text.replace("--max-epochs 10", "--max-epochs 1").replace("max_epochs = 10", "max_epochs = 1")
        text = re.sub(r"\bmlflow_db\b", databases, text)
        return port_pattern.sub(lambda m: str(ports[m.group(1)]), text)

    bin_dir = str(Path(sys.executable).parent)
    env = {**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}", "PYTHONUNBUFFERED": "1",
           "SPARKTAG_MODELS": str(models)}  # fmt: skip
    env.pop("MLFLOW_TRACKING_URI", None)
    exports: list[str] = []
    background: list[subprocess.Popen] = []
    elapsed_s: list[tuple[float, str]] = []  # (seconds, first line) of each block run
    ran = 0
    try:
        for i, (language, body) in enumerate(blocks(DOC.read_text())):
            body = adapt(body)
            first = body.splitlines()[0] if body.strip() else ""
            if language not in ("bash", "sh"):
                name = first.removeprefix("#").strip()
                if first.startswith("#") and re.fullmatch(r"[\w.-]+\.(toml|json|ini)", name):
                    (tmp_path / name).write_text(body, encoding="utf-8")
                continue
            script = "set -euo pipefail\n" + "\n".join(exports) + "\n" + body
            exports += [line for line in body.splitlines() if line.startswith("export ")]
            log = tmp_path / f"block-{i}.log"
            started = time.monotonic()
            if first.startswith(BACKGROUND):
                port = int(re.findall(r"(?:--port|-p) (\d+)", body)[-1])
                process = subprocess.Popen(["bash", "-c", script], cwd=tmp_path, env=env, stdout=log.open("w"),
                                           stderr=subprocess.STDOUT, start_new_session=True)  # fmt: skip
                background.append(process)
                wait_for_port(port, process, log)
                wait_http(f"http://127.0.0.1:{port}/", process, log, timeout_s=120, any_status=True)
            else:
                done = subprocess.run(["bash", "-c", script], cwd=tmp_path, env=env, capture_output=True,
                                      text=True, timeout=900)  # fmt: skip
                log.write_text(done.stdout + done.stderr)
                assert done.returncode == 0, (
                    f"block {i} failed:\n{body}\n--- output ---\n{(done.stdout + done.stderr)[-4000:]}"
                )
                _check_output(body, done.stdout)
            elapsed_s.append((time.monotonic() - started, first))
            ran += 1
    finally:
        for process in background:
            stop(process)
        for seconds, first in elapsed_s:
            print(f"{seconds:7.1f} s  {first[:100]}")
    assert ran >= 15  # the page's bash blocks, all of them


def _server_ports() -> dict[str, int]:
    """The ports the page's servers listen on (not the databases' 3306/5432), each mapped to a free one."""
    found = set(re.findall(r"(?:--port |-p |127\.0\.0\.1:)(\d+)", DOC.read_text())) - {"3306", "5432"}
    return {port: free_port() for port in found}


def _check_output(body: str, out: str) -> None:
    """What the page promises each kind of command prints."""
    if body.startswith("curl"):
        assert '"entity"' in out and '"chunk"' in out, out
    if "sparktag train" in body or body.startswith("sparktag demo"):
        assert "WARNING" not in out, out  # tracked, not left for a later upload
    if "sparktag upload" in body:
        assert "uploaded " in out, out


def _on_path(tool: str) -> bool:
    from shutil import which

    return which(tool) is not None


def test_the_runner_sees_the_page_structure():
    """The page keeps the conventions the runner relies on (guards against a silently skipped block)."""
    found = blocks(DOC.read_text())
    bash = [b for lang, b in found if lang == "bash"]
    assert sum(b.startswith(BACKGROUND) for b in bash) >= 5
    assert any(lang == "toml" and b.startswith("# experiment.toml") for lang, b in found)
    assert any(lang == "ini" and b.startswith("# basic_auth.ini") for lang, b in found)
    assert any("--config experiment.toml" in b for b in bash)  # the config file is trained, not only shown
    for b in bash:
        if b.startswith(BACKGROUND):
            assert re.search(r"(?:--port|-p) \d+", b), f"a server block must name its port:\n{b}"

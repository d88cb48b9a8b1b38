"""docs/sweeps.md, run as a user would: every ``bash`` block in order, in one fresh folder.

What the runner changes, and only this: ``examples/`` is a copy whose experiment trains 3 epochs on the
bundled sample (paths made absolute), ``$SPARKTAG_MODELS`` points ``all_minilm_l6_v2`` at a tiny BERT of the
sample's words, and the database name ``mlflow_db`` gets a per-run suffix (dropped afterwards).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from test_tracking_docs import blocks

from servers import unavailable

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "sweeps.md"
SAMPLE = ROOT / "src" / "sparktag" / "data" / "sample"

pytestmark = [pytest.mark.spark, pytest.mark.slow]


@pytest.fixture
def database():
    """Per-run MariaDB database name; dropped afterwards, with the study's database beside it."""
    name = f"mlflow_db_{uuid.uuid4().hex[:8]}"
    yield name
    import pymysql

    try:
        conn = pymysql.connect(host="127.0.0.1", user="root", password="", autocommit=True)
        with conn.cursor() as cur:
            cur.execute(f"DROP DATABASE IF EXISTS {name}")
            cur.execute(f"DROP DATABASE IF EXISTS {name}_optuna")
        conn.close()
    except pymysql.err.OperationalError:
        pass


def test_every_command_of_the_sweep_guide_runs(tmp_path: Path, database: str) -> None:
    from tiny_bert import conll_words, save_tiny_bert

    if shutil.which("mariadb") is None:
        unavailable("docs/sweeps.md uses `mariadb`, which is not installed")
    models = tmp_path / "models"
    save_tiny_bert(models / "all_minilm_l6_v2", conll_words(SAMPLE / "train.conll", SAMPLE / "test.conll"))
    examples = tmp_path / "examples"
    examples.mkdir()
    shutil.copy(ROOT / "examples" / "sweep.toml", examples)
    experiment = (ROOT / "examples" / "experiment.toml").read_text()
    experiment = experiment.replace("../src/sparktag/data/sample", str(SAMPLE))
    experiment = re.sub(r"(?m)^max_epochs = \d+", "max_epochs = 3", experiment)
    (examples / "experiment.toml").write_text(experiment)

    bin_dir = str(Path(sys.executable).parent)
    env = {**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}", "PYTHONUNBUFFERED": "1",
           "SPARKTAG_MODELS": str(models)}  # fmt: skip
    env.pop("MLFLOW_TRACKING_URI", None)
    outputs, ran = [], 0
    for language, body in blocks(DOC.read_text()):
        if language != "bash":
            continue
        body = re.sub(r"\bmlflow_db\b", database, body)
        started = time.monotonic()
        done = subprocess.run(["bash", "-c", "set -euo pipefail\n" + body], cwd=tmp_path, env=env,
                              capture_output=True, text=True, timeout=900)  # fmt: skip
        assert done.returncode == 0, f"{body}\n--- output ---\n{(done.stdout + done.stderr)[-4000:]}"
        outputs.append((body, done.stdout, time.monotonic() - started))
        ran += 1
    assert ran == 4
    first, predict, more, server = (out for _, out, _ in outputs)
    assert "champion         models:/sparktag_sweep_ner@champion (version 1)" in first, first
    for out, budget in ((first, 6), (more, 8)):
        counts = re.search(r"trials\s+(\d+) complete, (\d+) pruned, 0 failed", out)
        assert counts and int(counts[1]) + int(counts[2]) == budget, out
    assert (
        "trial   6 " in more and "trial   7 " in more and "trial   0 " not in more
    )  # only the new trials ran
    assert "ORG" in predict or "PER" in predict or "LOC" in predict, predict
    assert "champion         models:/sparktag_sweep_ner@champion (version 1)" in server, server
    check_server_sweep(f"mysql+pymysql://root@127.0.0.1:3306/{database}")
    for body, _, seconds in outputs:
        print(f"{seconds:7.1f} s  {body.splitlines()[0][:100]}")


def check_server_sweep(uri: str) -> None:
    """The MariaDB sweep: 6 trials nested under one parent in MLflow, the study in ``<database>_optuna``."""
    import mlflow
    import sqlalchemy

    client = mlflow.tracking.MlflowClient(uri)
    runs = client.search_runs([client.get_experiment_by_name("sparktag").experiment_id], max_results=50)
    parent = next(r for r in runs if r.data.tags.get("sparktag.sweep") == "parent")
    trials = [r for r in runs if r.data.tags.get("mlflow.parentRunId") == parent.info.run_id]
    states = sorted(r.data.tags["sparktag.trial_state"] for r in trials)
    assert len(trials) == 6 and set(states) <= {"COMPLETE", "PRUNED"}, states
    engine = sqlalchemy.create_engine(uri + "_optuna")
    with engine.connect() as connection:
        assert connection.execute(sqlalchemy.text("SELECT COUNT(*) FROM trials")).scalar() == 6
    engine.dispose()


def test_the_page_shows_the_example_sweep_file_as_it_is() -> None:
    """The sweep file the page shows is examples/sweep.toml (its settings, comments aside)."""
    shown = next(body for language, body in blocks(DOC.read_text()) if language == "toml")
    assert shown.startswith("# sweep.toml")
    example = (ROOT / "examples" / "sweep.toml").read_text()

    def settings(text: str) -> list[str]:
        lines = [line.split("#", 1)[0].strip() for line in text.splitlines()]
        return [re.sub(r"\s+", " ", line) for line in lines if line]

    missing = [line for line in settings(shown) if line not in settings(example)]
    assert not missing, missing

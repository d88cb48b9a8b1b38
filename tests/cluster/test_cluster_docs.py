"""docs/cluster.md's standalone section, run as a user would, against the fixture's two-worker cluster.

The blocks that start the master and the workers (``# on the master machine``, ``# on every worker machine``)
are what the ``cluster`` fixture runs (the same ``spark-class`` main classes, as the cluster's own user); every
other ``bash`` block runs in order in one fresh folder, and a ``python`` block whose first line is ``# NAME`` is a
file the reader writes. ``export`` lines carry over, as in one terminal session.

What the runner changes, and only this: the master URL becomes the fixture's, ``/opt/sparktag-env/bin/python``
the fixture's executor Python (see standalone.py), ``/shared`` a folder of the fixture's shared storage,
CoNLL-2003's ``eng.train``/``eng.testa`` the bundled sample, ``./bert-base-cased`` a tiny BERT of the sample's
words in the driver's private folder, and ``setMaxEpochs(10)`` one epoch.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "cluster.md"
SAMPLE = ROOT / "src" / "sparktag" / "data" / "sample"
CLUSTER_SETUP = ("# on the master machine", "# on every worker machine")

pytestmark = [pytest.mark.spark, pytest.mark.cluster, pytest.mark.slow]


def blocks(markdown: str) -> list[tuple[str, str]]:
    """(language, body) of every fenced code block, in order."""
    return [(m.group(1), m.group(2)) for m in re.finditer(r"^```(\w*)\n(.*?)^```", markdown, re.S | re.M)]


def test_standalone_section_runs(cluster, tmp_path: Path, sample_bert_dir: Path) -> None:
    text = DOC.read_text(encoding="utf-8")
    shared = cluster.shared / "docs"
    shared.mkdir()
    for name, sample in (("eng.train", "train.conll"), ("eng.testa", "test.conll")):
        shutil.copy(SAMPLE / sample, tmp_path / name)
    replacements = [
        ("spark://master.example.com:7077", cluster.master_url),
        ("/opt/sparktag-env/bin/python", cluster.python),
        ("/shared/", f"{shared}/"),
        ("./bert-base-cased", str(sample_bert_dir)),
        ("setMaxEpochs(10)", "setMaxEpochs(1)"),
    ]
    setup = [body for lang, body in blocks(text) if lang == "bash" and body.startswith(CLUSTER_SETUP)]
    assert len(setup) == 2, "the page starts a master and workers"
    assert "org.apache.spark.deploy.master.Master" in setup[0] and "deploy.worker.Worker" in setup[1]

    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}:{os.environ.get('PATH', '')}"}
    env.pop("SPARK_MASTER", None)
    env.pop("PYSPARK_PYTHON", None)
    outputs = []
    for lang, body in blocks(text):
        for old, new in replacements:
            body = body.replace(old, new)
        first = body.splitlines()[0] if body else ""
        if lang == "python" and re.fullmatch(r"# [\w.]+", first):
            (tmp_path / first[2:]).write_text(body, encoding="utf-8")
            continue
        if lang != "bash" or body.startswith(CLUSTER_SETUP):
            continue
        exports = "".join(
            f'echo {name}="${name}" >> {tmp_path / ".env"}\n'
            for name in re.findall(r"^export (\w+)=", body, re.M)
        )
        result = subprocess.run(
            ["bash", "-euo", "pipefail", "-c", body + "\n" + exports],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=900,
        )
        assert result.returncode == 0, f"block failed:\n{body}\n--- stdout\n{result.stdout[-3000:]}\n" \
            f"--- stderr\n{result.stderr[-6000:]}\n{cluster.logs()}"  # fmt: skip
        outputs.append(result.stdout)
        if (tmp_path / ".env").exists():  # export lines carry over to later blocks
            for line in (tmp_path / ".env").read_text().splitlines():
                name, _, value = line.partition("=")
                env[name] = value
            (tmp_path / ".env").unlink()

    found = re.search(r"tagged (\d+) sentences on (\S+)", "".join(outputs))
    assert found, outputs
    assert found.group(2) == cluster.master_url
    assert int(found.group(1)) > 0
    assert (shared / "models" / "ner" / "metadata" / "_SUCCESS").is_file()
    assert len(list((shared / "models" / "ner" / "stages").iterdir())) == 5

"""The checks before Spark starts, on input they accept: the bundled sample passes in a fresh process that
imports neither pyspark, torch nor mlflow (what keeps them fast; no timing is asserted here)."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

CHECK_SAMPLE = textwrap.dedent(
    """
    import json, sys
    from sparktag.tracking.experiment_config import ExperimentConfig
    from sparktag.tracking.preflight import check_config

    sample = sys.argv[1]
    counts = check_config(ExperimentConfig(f"{sample}/train.conll", f"{sample}/test.conll"))
    heavy = sorted(m for m in ("pyspark", "torch", "mlflow", "transformers") if m in sys.modules)
    print(json.dumps({"counts": counts, "heavy": heavy}))
    """
)


def test_the_sample_passes_without_heavy_imports(sample_dir, tmp_path):
    done = subprocess.run([sys.executable, "-c", CHECK_SAMPLE, str(sample_dir)], capture_output=True, text=True,
                          cwd=tmp_path, timeout=120)  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    found = json.loads(done.stdout)
    assert found["counts"] == {"train_sentences": 400, "test_sentences": 120}
    assert found["heavy"] == []  # the default embeddings name is resolved without transformers or torch

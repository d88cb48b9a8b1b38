"""The whole workflow on a real standalone cluster gives the very tags it gives in local mode.

One driver job (jobs/workflow.py) runs every step on the cluster: CoNLL from shared storage, a BERT pipeline and
a WordEmbeddings pipeline whose weights come from files only the driver can read, NerDLApproach with and
without enableMemoryOptimizer, transform, save to shared storage and load, MLflow (mlflow.spark and
sparktag.mlflow) with a SQLite store on the driver and artifacts on shared storage. The same script in local[2]
is the reference, run at the same time as a plain subprocess.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest

JOBS = Path(__file__).parent / "jobs"
SAMPLE = Path(__file__).resolve().parents[2] / "src" / "sparktag" / "data" / "sample"

pytestmark = [pytest.mark.spark, pytest.mark.cluster, pytest.mark.slow]

TAG_STEPS = [
    "bert",
    "bert_memory_optimizer",
    "bert_reloaded",
    "glove",
    "glove_reloaded",
    "mlflow_spark",
    "sparktag_mlflow",
    "sparktag_mlflow_light",
]


def write_vectors(path: Path, words: list[str], dim: int = 12) -> Path:
    """A GloVe-style text file: a seeded random vector per word."""
    import numpy as np

    rng = np.random.default_rng(3)
    lines = [f"{w} {' '.join(f'{x:.5f}' for x in rng.standard_normal(dim))}\n" for w in words]
    path.write_text("".join(lines), encoding="utf-8")
    return path


def job_config(driver: Path, shared: Path, data: Path, bert: Path, vectors: Path) -> Path:
    config = {
        "train": str(data / "train.conll"),
        "test": str(data / "test.conll"),
        "private_conll": str(driver / "private.conll"),
        "bert": str(bert),
        "vectors": str(vectors),
        "shared": str(shared),
        "tracking_uri": f"sqlite:///{driver / 'mlflow.db'}",
        "answer": str(driver / "answer.json"),
    }
    shutil.copy(SAMPLE / "test.conll", driver / "private.conll")
    path = driver / "config.json"
    path.write_text(json.dumps(config))
    return path


@pytest.fixture(scope="module")
def answers(cluster, tmp_path_factory: pytest.TempPathFactory, sample_bert_dir: Path) -> dict[str, Any]:
    """The workflow's answers on the cluster and in local[2], the two drivers run side by side."""
    from tiny_bert import conll_words

    data = cluster.shared / "conll"
    data.mkdir(exist_ok=True)
    for name in ("train.conll", "test.conll"):
        shutil.copy(SAMPLE / name, data / name)
    # the driver's own files: pytest's tmp folders, out of the executors' reach
    vectors = write_vectors(
        tmp_path_factory.mktemp("vectors") / "vectors.txt",
        conll_words(SAMPLE / "train.conll", SAMPLE / "test.conll"),
    )
    on_cluster = tmp_path_factory.mktemp("driver_cluster")
    on_local = tmp_path_factory.mktemp("driver_local")
    shared = cluster.shared / "workflow"
    shared.mkdir()
    cluster_config = job_config(on_cluster, shared, data, sample_bert_dir, vectors)
    local_config = job_config(on_local, on_local / "storage", data, sample_bert_dir, vectors)

    local: dict[str, Any] = {}

    def run_local() -> None:
        env = {**os.environ, "SPARK_MASTER": "local[2]"}
        local["result"] = subprocess.run(
            [sys.executable, str(JOBS / "workflow.py"), str(local_config)],
            cwd=on_local,
            env=env,
            capture_output=True,
            text=True,
            timeout=900,
        )

    thread = threading.Thread(target=run_local)
    thread.start()
    try:
        cluster.run_driver([str(JOBS / "workflow.py"), str(cluster_config)], cwd=on_cluster, timeout_s=900)
    finally:
        thread.join()
    result = local["result"]
    assert result.returncode == 0, (
        f"local[2] workflow failed:\n{result.stdout[-3000:]}\n{result.stderr[-6000:]}"
    )
    return {
        "cluster": json.loads((on_cluster / "answer.json").read_text()),
        "local": json.loads((on_local / "answer.json").read_text()),
        "cluster_driver": on_cluster,
        "shared": shared,
    }


def test_the_cluster_ran_it(cluster, answers) -> None:
    assert answers["cluster"]["master"] == cluster.master_url
    assert answers["local"]["master"] == "local[2]"
    assert answers["cluster"]["rows"] == answers["local"]["rows"]


@pytest.mark.parametrize("step", TAG_STEPS)
def test_every_step_tags_as_local_mode(answers, step: str) -> None:
    cluster, local = answers["cluster"][step], answers["local"][step]
    assert len(cluster) == answers["local"]["rows"][1]
    assert cluster == local


def test_the_taggers_learned(answers) -> None:
    """Same tags would also hold for two untrained taggers: these tag entities, and reload as they were."""
    tags = answers["cluster"]
    for step in ("bert", "glove"):
        flat = [t for row in tags[step] for t in row]
        assert any(t != "O" for t in flat), f"{step}: every tag is O"
    for step in ("bert_reloaded", "mlflow_spark", "sparktag_mlflow", "sparktag_mlflow_light"):
        assert tags[step] == tags["bert"], step
    assert tags["glove_reloaded"] == tags["glove"]


def test_a_driver_only_path_is_refused_clearly(answers) -> None:
    assert answers["local"]["private_conll"] == "read"
    error = answers["cluster"]["private_conll"]
    assert error.startswith("FileNotFoundError: readDataset: the executors cannot read ")
    assert "storage every node reaches" in error


def test_weights_ship_once_per_executor_not_in_every_task(answers) -> None:
    """The fused BERT + NER function every task carries holds broadcast ids, not the weights."""
    shipped = answers["cluster"]["task_function_bytes"]
    assert shipped < 16 * 1024, f"{shipped} bytes per task"


def test_mlflow_store_on_the_driver_artifacts_on_shared_storage(answers) -> None:
    import mlflow

    store = answers["cluster_driver"] / "mlflow.db"
    assert store.is_file()
    client = mlflow.MlflowClient(f"sqlite:///{store}")
    run = client.get_run(answers["cluster"]["run_id"])
    assert run.info.artifact_uri.startswith("file://" + str(answers["shared"]))
    saved = list((answers["shared"] / "mlartifacts").rglob("MLmodel"))
    assert len(saved) == 2, saved


def test_spark_udf_scores_each_row_on_the_executors(answers) -> None:
    """mlflow.pyfunc.spark_udf of models:/NAME@champion on the cluster: one output row per input row, each with
    the entities the model finds in-process (LightPipeline + NerConverter), the same as in local mode."""
    cluster, local = answers["cluster"], answers["local"]
    n_in, n_out = cluster["spark_udf_rows"]
    assert n_in == n_out == cluster["rows"][1]
    assert cluster["spark_udf"] == cluster["light_chunks"]
    assert any(cluster["spark_udf"]), "no entity in any row: the comparison would prove little"
    assert cluster["spark_udf"] == local["spark_udf"]

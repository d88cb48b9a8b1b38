"""A tracking server that dies during training: the run finishes locally, nothing is lost, and once the
server is back the documented upload completes the SAME run with no duplicated metric steps."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from sparktag.ner.events import EpochEnded
from sparktag.tracking.experiment import run_experiment
from sparktag.tracking.experiment_config import ExperimentConfig

from servers import TrackingServer

pytestmark = [pytest.mark.spark, pytest.mark.slow]

EPOCHS = 3
KILL_AFTER_EPOCH = 1  # the server dies as epoch 2 ends: epoch 1 is on the server, the rest is not


class KillServer:
    """A training listener that stops the tracking server when an epoch ends (before MLflow hears of it)."""

    def __init__(self, server: TrackingServer) -> None:
        self.server = server
        self.killed_at: int | None = None

    def on_event(self, event: object) -> None:
        if isinstance(event, EpochEnded) and event.epoch == KILL_AFTER_EPOCH + 1 and self.killed_at is None:
            self.server.close()
            self.killed_at = event.epoch


def test_server_killed_mid_training_then_back(spark, sample_dir, sample_bert_dir, tmp_path, monkeypatch):
    import mlflow
    from mlflow.tracking import MlflowClient

    from sparktag.spark import ner_dl

    monkeypatch.chdir(tmp_path)
    backend = f"sqlite:///{tmp_path}/server.db"
    server = TrackingServer(backend, tmp_path)
    killer = KillServer(server)
    ner_dl.LISTENER_FACTORIES.append(lambda approach: killer)  # before the experiment's MLflow listener
    config = ExperimentConfig(
        train_path=str(sample_dir / "train.conll"),
        test_path=str(sample_dir / "test.conll"),
        embeddings=str(sample_bert_dir),
        max_epochs=EPOCHS,
        lr=0.01,
        batch_size=16,
        validation_split=0.2,
        random_seed=5,
        experiment_name="outage",
        model_name="outage_ner",
        tracking_uri=server.url,
        output_dir=str(tmp_path / "out"),
        params={"lstmHidden": 16},
    )
    lines: list[str] = []
    try:
        result = run_experiment(config, spark=spark, echo=lines.append)
    finally:
        ner_dl.LISTENER_FACTORIES.pop()
        server.close()
    assert killer.killed_at == KILL_AFTER_EPOCH + 1

    # training finished and everything is on local disk; the user is told what happened and what to run
    out = Path(result.output_dir)
    assert result.run_id and result.tracking_error
    assert "sparktag upload" in result.tracking_error
    assert any("sparktag upload" in line for line in lines)
    for name in ("model/pipeline", "scores.json", "classification_report.txt", "charts/confusion_matrix.png"):
        assert (out / name).exists(), name
    assert list(out.glob("mlflow_pending_*_charts/loss.png"))  # the per-epoch charts, kept for the upload
    pending = json.loads(next(out.glob("mlflow_pending_*.json")).read_text())
    assert pending["run_id"] == result.run_id
    assert {m["step"] for m in pending["metrics"] if m["key"] == "loss"} == set(range(1, EPOCHS + 1))

    # the server comes back on the same port and store; epoch 1 is all it has of the run
    server = TrackingServer(backend, tmp_path, port=server.port)
    try:
        client = MlflowClient(server.url)
        assert [m.step for m in client.get_metric_history(result.run_id, "loss")] == [1]
        assert client.get_run(result.run_id).info.status == "RUNNING"

        # the documented command, exactly as printed
        command = next(line for line in lines if "To upload it later: sparktag upload" in line).strip()
        command = command[command.rindex("sparktag upload") :].split(maxsplit=2)[2]
        done = subprocess.run([sys.executable, "-m", "sparktag.cli.main", "upload", *_split(command)],
                              capture_output=True, text=True, timeout=600)  # fmt: skip
        assert done.returncode == 0, done.stderr[-3000:]

        run = client.get_run(result.run_id)  # the same run, completed
        assert run.info.status == "FINISHED"
        for key in ("loss", "validation_entity_micro_f1", "validation_token_micro_f1"):
            assert [m.step for m in client.get_metric_history(result.run_id, key)] == list(
                range(1, EPOCHS + 1)
            )
        assert run.data.metrics["final_entity_micro_f1"] == pytest.approx(
            result.scores["final_entity_micro_f1"]
        )
        assert run.data.params["maxEpochs"] == str(EPOCHS)
        charts = {a.path for a in client.list_artifacts(result.run_id, "charts")}
        assert "charts/loss.png" in charts
        top = {a.path for a in client.list_artifacts(result.run_id)}
        assert {"error_analysis.html", "tagged_test_sentences.json"} <= top  # written locally, uploaded
        version = client.get_model_version_by_alias("outage_ner", "champion")
        assert version.run_id == result.run_id
        assert len(client.search_runs([run.info.experiment_id])) == 1  # no second run
    finally:
        server.close()
        mlflow.set_tracking_uri(None)


def _split(command: str) -> list[str]:
    import shlex

    return shlex.split(command)

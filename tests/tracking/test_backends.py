"""The one-call experiment against real tracking backends: MariaDB and PostgreSQL, directly and behind
``sparktag server``, with artifacts in a folder, in S3 written by the client, and in S3 behind the server's
artifact proxy (moto). For each: the run is complete, the model is registered with its alias, and a fresh
process loads ``models:/NAME@champion`` and tags text as the trained pipeline does.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pytest

from sparktag.tracking.experiment import run_experiment
from sparktag.tracking.experiment_config import ExperimentConfig

from servers import S3, TrackingServer, mysql_database, postgres_database

pytestmark = [pytest.mark.spark, pytest.mark.slow]

TEXTS = ["Halden Steel agreed to buy a stake in Fennick Motors .", "Estonian Peruvian talks open in Dakar ."]
SCENARIOS = {
    # name: (database, where artifacts go, through a server?)
    "mysql-direct-local-artifacts": ("mysql", "folder", False),
    "postgres-direct-s3-from-client": ("postgres", "s3-client", False),
    "mysql-server-s3-proxied": ("mysql", "s3-proxy", True),
    "postgres-server-proxied-folder": ("postgres", "folder", True),
}


@pytest.fixture(scope="module")
def s3(tmp_path_factory):
    endpoint = S3(tmp_path_factory.mktemp("s3"))
    yield endpoint
    endpoint.close()


@pytest.fixture(scope="module", params=list(SCENARIOS))
def tracked(request, spark, sample_dir, sample_bert_dir, tmp_path_factory, s3):
    """One experiment per scenario; yields (scenario, config, result, client environment, s3)."""
    import mlflow

    db_kind, artifacts, via_server = SCENARIOS[request.param]
    tmp = tmp_path_factory.mktemp(request.param)
    database = mysql_database() if db_kind == "mysql" else postgres_database()
    with database as backend:
        server = None
        client_env: dict[str, str] = {}
        artifact_location = None
        if via_server:
            args = (
                ["--artifacts-destination", f"s3://{s3.bucket}/{request.param}"]
                if artifacts == "s3-proxy"
                else []
            )
            server = TrackingServer(backend, tmp, args=args, env=s3.env if artifacts == "s3-proxy" else None)
            uri = server.url
        else:
            uri = backend
            if artifacts == "s3-client":
                client_env = dict(s3.env)
                artifact_location = f"s3://{s3.bucket}/{request.param}"
            else:
                artifact_location = (tmp / "artifacts").as_uri()
        config = ExperimentConfig(
            train_path=str(sample_dir / "train.conll"),
            test_path=str(sample_dir / "test.conll"),
            embeddings=str(sample_bert_dir),
            max_epochs=2,
            lr=0.01,
            batch_size=16,
            validation_split=0.2,
            random_seed=3,
            experiment_name=f"backends-{request.param}",
            model_name=f"ner_{request.param.replace('-', '_')}",
            tracking_uri=uri,
            artifact_location=artifact_location,
            output_dir=str(tmp / "out"),
            params={"lstmHidden": 16},
        )
        saved = {k: os.environ.get(k) for k in client_env}
        os.environ.update(client_env)
        before = mlflow.get_tracking_uri()
        try:
            result = run_experiment(config, spark=spark, echo=None)
            mlflow.set_tracking_uri(uri)
            yield request.param, config, result, client_env
        finally:
            mlflow.set_tracking_uri(before)
            for k, v in saved.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v
            if server is not None:
                server.close()


def test_run_is_complete(tracked):
    from mlflow.tracking import MlflowClient

    _, config, result, _ = tracked
    assert result.tracking_error is None, result.tracking_error
    client = MlflowClient()
    run = client.get_run(result.run_id)
    assert run.info.status == "FINISHED"
    assert run.data.params["maxEpochs"] == "2" and run.data.params["lstmHidden"] == "16"
    history = client.get_metric_history(result.run_id, "validation_entity_micro_f1")
    assert [m.step for m in history] == [1, 2]
    assert run.data.metrics["final_entity_micro_f1"] == pytest.approx(result.scores["final_entity_micro_f1"])
    names = {a.path for a in client.list_artifacts(result.run_id)}
    assert {"charts", "classification_report.txt", "entity_report.txt"} <= names
    charts = {a.path for a in client.list_artifacts(result.run_id, "charts")}
    assert "charts/loss.png" in charts
    png = client.download_artifacts(result.run_id, "charts/loss.png")
    with open(png, "rb") as f:
        assert f.read(8) == b"\x89PNG\r\n\x1a\n"


def test_model_is_registered_with_alias(tracked):
    from mlflow.tracking import MlflowClient

    _, config, result, _ = tracked
    version = MlflowClient().get_model_version_by_alias(config.model_name, config.alias)
    assert version.run_id == result.run_id and str(version.version) == "1"


def test_artifacts_land_where_configured(tracked, s3):
    from mlflow.tracking import MlflowClient

    name, _, result, _ = tracked
    artifact_uri = MlflowClient().get_run(result.run_id).info.artifact_uri
    if name == "postgres-direct-s3-from-client":
        assert artifact_uri.startswith(f"s3://{s3.bucket}/{name}/")
    elif "server" in name:
        assert artifact_uri.startswith(
            "mlflow-artifacts:"
        )  # the server proxies; the client holds no credentials
    else:
        assert artifact_uri.startswith("file:")
    keys = s3.keys(f"{name}/")  # each scenario keeps its S3 artifacts under its own prefix
    if "s3" in name:
        assert any(k.endswith("/MLmodel") for k in keys), keys[:20]
        assert any("charts/loss.png" in k for k in keys)
        assert any("/ner_dl/" in k for k in keys)  # the NerDL weights inside the logged pipeline
    else:
        assert keys == []


def test_fresh_process_loads_the_alias_and_tags_like_the_trained_pipeline(tracked):
    import mlflow.pyfunc
    from pyspark.ml import PipelineModel

    from sparktag.mlflow import save_model

    _, config, result, client_env = tracked
    local = os.path.join(config.output_dir, "pyfunc-reference")
    save_model(PipelineModel.load(os.path.join(config.output_dir, "model", "pipeline")), local)
    expected = mlflow.pyfunc.load_model(local).predict(TEXTS).to_dict(orient="records")
    script = textwrap.dedent(
        f"""
        import json
        import mlflow.pyfunc
        model = mlflow.pyfunc.load_model("models:/{config.model_name}@{config.alias}")
        print(json.dumps(model.predict({TEXTS!r}).to_dict(orient="records")))
        """
    )
    # the client process knows the tracking URI and, for client-side S3, the endpoint: nothing else
    env = {**os.environ, **client_env, "MLFLOW_TRACKING_URI": config.tracking_uri}
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=300
    )
    assert done.returncode == 0, done.stderr[-3000:]
    got = json.loads(done.stdout.strip().splitlines()[-1])
    assert got == expected

"""sparktag against MLflow's basic-auth app: ``sparktag server --app-name basic-auth`` on a MariaDB store,
users made through MLflow's auth client, every check over real HTTP.

Nobody gets in without a valid password; alice runs the one-call experiment with credentials taken only from
MLFLOW_TRACKING_USERNAME/MLFLOW_TRACKING_PASSWORD and her model is registered with its alias; bob, with no
grant (``default_permission = NO_PERMISSIONS``), can neither read nor write her experiment, and with READ can
read but still not write; and her password is found nowhere in what MLflow stores or sparktag prints.
"""

from __future__ import annotations

import contextlib
import json
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests

from sparktag.tracking.experiment import run_experiment
from sparktag.tracking.experiment_config import ExperimentConfig
from sparktag.tracking.experiment_result import ExperimentResult

from servers import TrackingServer, mysql_database, unavailable

pytestmark = [pytest.mark.spark, pytest.mark.slow]

EXPERIMENT = "alice-ner"
MODEL = "alice_ner"
API = "/api/2.0/mlflow"


@dataclass
class AuthServer:
    """A running basic-auth tracking server, its MariaDB store, and each user's password."""

    server: TrackingServer
    backend: str
    artifacts: Path
    passwords: dict[str, str]

    @property
    def url(self) -> str:
        return self.server.url

    def http(self, user: str | None, method: str, path: str, **kwargs: Any) -> requests.Response:
        """One REST call as ``user`` (``None``: no credentials at all)."""
        auth = (user, self.passwords[user]) if user else None
        return requests.request(method, self.url + path, auth=auth, timeout=30, **kwargs)


@contextlib.contextmanager
def as_user(auth: AuthServer, user: str) -> Iterator[None]:
    """MLflow's (and so sparktag's) clients act as ``user``: credentials only in the environment."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("MLFLOW_TRACKING_USERNAME", user)
        mp.setenv("MLFLOW_TRACKING_PASSWORD", auth.passwords[user])
        yield


@pytest.fixture(scope="module")
def auth_server(tmp_path_factory) -> Iterator[AuthServer]:
    """``sparktag server --app-name basic-auth`` with users alice and bob; stopped after the module."""
    try:
        import flask_wtf  # noqa: F401  # MLflow's auth app refuses to start without it
    except ImportError:
        unavailable(
            "Flask-WTF is not installed, MLflow's basic-auth app needs it (pip install 'mlflow[auth]')"
        )
    from mlflow.server import get_app_client

    tmp = tmp_path_factory.mktemp("auth")
    # Random passwords, so a search for one in stored data cannot hit anything by chance.
    passwords = {name: f"{name}-{secrets.token_urlsafe(18)}" for name in ("admin", "alice", "bob")}
    config = tmp / "basic_auth.ini"
    config.write_text(
        "[mlflow]\n"
        # NO_PERMISSIONS: a user sees only what they created or were granted (MLflow's default is READ)
        "default_permission = NO_PERMISSIONS\n"
        f"database_uri = sqlite:///{tmp / 'auth.db'}\n"
        "admin_username = admin\n"
        f"admin_password = {passwords['admin']}\n"
        "authorization_function = mlflow.server.auth:authenticate_request_basic_auth\n",
        encoding="utf-8",
    )
    env = {"MLFLOW_AUTH_CONFIG_PATH": str(config), "MLFLOW_FLASK_SERVER_SECRET_KEY": secrets.token_hex(32)}
    artifacts = tmp / "mlartifacts"
    args = ["--app-name", "basic-auth", "--artifacts-destination", str(artifacts)]
    with mysql_database() as backend:
        server = TrackingServer(backend, tmp, args=args, env=env)
        try:
            auth = AuthServer(server, backend, artifacts, passwords)
            with as_user(auth, "admin"):
                users = get_app_client("basic-auth", tracking_uri=server.url)
                for name in ("alice", "bob"):
                    users.create_user(name, passwords[name])
            yield auth
        finally:
            server.close()


@dataclass
class AliceRun:
    """Alice's experiment: its config, what run_experiment returned, and every line it printed."""

    config: ExperimentConfig
    result: ExperimentResult
    lines: list[str]


@pytest.fixture(scope="module")
def alice_run(auth_server, spark, sample_dir, sample_bert_dir, tmp_path_factory) -> Iterator[AliceRun]:
    """Alice's one-call experiment, tracked on the auth server; her URI carries no credentials."""
    tmp = tmp_path_factory.mktemp("alice")
    config = ExperimentConfig(
        train_path=str(sample_dir / "test.conll"),  # the small file: the point here is tracking, not accuracy
        test_path=str(sample_dir / "test.conll"),
        embeddings=str(sample_bert_dir),
        max_epochs=1,
        batch_size=16,
        experiment_name=EXPERIMENT,
        model_name=MODEL,
        tracking_uri=auth_server.url,
        output_dir=str(tmp / "out"),
        params={"lstmHidden": 16},
    )
    lines: list[str] = []
    with as_user(auth_server, "alice"), pytest.MonkeyPatch.context() as mp:
        mp.chdir(tmp)  # anything MLflow writes relative to the working directory stays in tmp
        result = run_experiment(config, spark=spark, echo=lines.append)
    yield AliceRun(config, result, lines)


def artifact_path(run: Any, name: str) -> str:
    """The artifact proxy's REST path of one file of ``run`` (its artifact URI is ``mlflow-artifacts:/...``)."""
    return f"/api/2.0/mlflow-artifacts/artifacts{urlsplit(run.info.artifact_uri).path}/{name}"


def test_unauthenticated_and_wrong_password_are_refused(auth_server):
    search = {"max_results": 10}
    for auth in (None, ("alice", "not-her-password"), ("nobody", auth_server.passwords["alice"])):
        for method, path, body in (
            ("POST", f"{API}/experiments/search", search),
            ("POST", f"{API}/experiments/create", {"name": "intruder"}),
            ("GET", f"{API}/registered-models/search", None),
        ):
            response = requests.request(method, auth_server.url + path, json=body, auth=auth, timeout=30)
            assert response.status_code == 401, (auth, path, response.text)
            assert response.headers["WWW-Authenticate"].startswith("Basic")
    # refused means nothing happened: the experiment was not created
    listed = auth_server.http("admin", "POST", f"{API}/experiments/search", json=search).json()
    assert "intruder" not in {e["name"] for e in listed.get("experiments", [])}
    assert auth_server.http("alice", "POST", f"{API}/experiments/search", json=search).status_code == 200


def test_wrong_password_keeps_the_experiment_local(auth_server, spark, sample_dir, sample_bert_dir, tmp_path,
                                                   monkeypatch):  # fmt: skip
    wrong = f"wrong-{secrets.token_urlsafe(12)}"
    monkeypatch.setenv("MLFLOW_TRACKING_USERNAME", "alice")
    monkeypatch.setenv("MLFLOW_TRACKING_PASSWORD", wrong)
    monkeypatch.chdir(tmp_path)
    config = ExperimentConfig(
        train_path=str(sample_dir / "test.conll"),
        test_path=str(sample_dir / "test.conll"),
        embeddings=str(sample_bert_dir),
        max_epochs=1,
        experiment_name="refused",
        model_name="refused",
        tracking_uri=auth_server.url,
        output_dir=str(tmp_path / "out"),
    )
    lines: list[str] = []
    result = run_experiment(config, spark=spark, echo=lines.append)
    assert result.run_id is None and result.tracking_error
    assert "401" in result.tracking_error and "sparktag upload" in result.tracking_error
    assert (Path(result.output_dir) / "model" / "pipeline").is_dir()  # training was not lost
    assert wrong not in result.tracking_error and wrong not in "\n".join(lines)
    listed = auth_server.http("admin", "POST", f"{API}/experiments/search", json={"max_results": 100}).json()
    assert "refused" not in {e["name"] for e in listed["experiments"]}


def test_alice_tracks_and_registers_with_credentials_from_the_environment(auth_server, alice_run):
    from mlflow.tracking import MlflowClient

    result = alice_run.result
    assert result.tracking_error is None, result.tracking_error
    assert "@" not in alice_run.config.tracking_uri  # the password came from the environment only
    with as_user(auth_server, "alice"):
        client = MlflowClient(auth_server.url)
        run = client.get_run(result.run_id)
        assert run.info.status == "FINISHED"
        assert run.data.params["maxEpochs"] == "1" and run.data.params["lstmHidden"] == "16"
        assert "final_entity_micro_f1" in run.data.metrics
        assert client.get_experiment(result.experiment_id).name == EXPERIMENT
        version = client.get_model_version_by_alias(MODEL, "champion")
        assert version.run_id == result.run_id and str(version.version) == result.model_version
        assert result.model_uri == f"models:/{MODEL}@champion"
    with as_user(auth_server, "admin"):
        from mlflow.server import get_app_client

        users = get_app_client("basic-auth", tracking_uri=auth_server.url)
        # the creator of an experiment and a registered model manages them; nobody else was granted anything
        assert permission(users, "alice", "experiment", result.experiment_id) == "MANAGE"
        assert permission(users, "alice", "registered_model", MODEL) == "MANAGE"
        assert permission(users, "bob", "experiment", result.experiment_id) == "NO_PERMISSIONS"


# MLflow's auth client named its permission calls per resource (get_experiment_permission(id, user), ...) and
# later generically (get_user_permission(user, kind, id), ...): the tests run on both (make test-lowest)


def grant(users, username: str, experiment_id: str, level: str) -> None:
    if hasattr(users, "grant_user_permission"):
        users.grant_user_permission(username, "experiment", experiment_id, level)
    else:
        users.create_experiment_permission(experiment_id, username, level)


def revoke(users, username: str, experiment_id: str) -> None:
    if hasattr(users, "revoke_user_permission"):
        users.revoke_user_permission(username, "experiment", experiment_id)
    else:
        users.delete_experiment_permission(experiment_id, username)


def permission(users, username: str, kind: str, resource: str) -> str:
    """A user's permission on an experiment or registered model, through the auth client of this MLflow."""
    if hasattr(users, "get_user_permission"):
        return users.get_user_permission(username, kind, resource).permission
    from mlflow.exceptions import MlflowException

    get = users.get_experiment_permission if kind == "experiment" else users.get_registered_model_permission
    try:
        return get(resource, username).permission
    except MlflowException as err:  # no grant: the server's default (NO_PERMISSIONS here)
        if err.error_code != "RESOURCE_DOES_NOT_EXIST":
            raise
        return "NO_PERMISSIONS"


def test_bob_without_a_grant_can_neither_read_nor_write(auth_server, alice_run):
    from mlflow.exceptions import MlflowException
    from mlflow.tracking import MlflowClient

    result = alice_run.result
    assert result.tracking_error is None, result.tracking_error
    with as_user(auth_server, "alice"):
        run = MlflowClient(auth_server.url).get_run(result.run_id)
    http = auth_server.http
    eid, rid = result.experiment_id, result.run_id
    assert http("alice", "GET", artifact_path(run, "experiment_config.json")).status_code == 200
    refused = {
        "get experiment": http("bob", "GET", f"{API}/experiments/get", params={"experiment_id": eid}),
        "get by name": http("bob", "GET", f"{API}/experiments/get-by-name", params={"experiment_name": EXPERIMENT}),
        "get run": http("bob", "GET", f"{API}/runs/get", params={"run_id": rid}),
        "artifact": http("bob", "GET", artifact_path(run, "experiment_config.json")),
        "model alias": http("bob", "GET", f"{API}/registered-models/alias", params={"name": MODEL, "alias": "champion"}),
        "log param": http("bob", "POST", f"{API}/runs/log-parameter", json={"run_id": rid, "key": "bob", "value": "1"}),
        "set tag": http("bob", "POST", f"{API}/runs/set-tag", json={"run_id": rid, "key": "bob", "value": "1"}),
        "create run": http("bob", "POST", f"{API}/runs/create", json={"experiment_id": eid}),
    }  # fmt: skip
    assert {what: r.status_code for what, r in refused.items()} == dict.fromkeys(refused, 403)
    # searches answer, but MLflow filters alice's experiment and runs out of them
    listed = http("bob", "POST", f"{API}/experiments/search", json={"max_results": 100})
    assert listed.status_code == 200
    assert EXPERIMENT not in {e["name"] for e in listed.json().get("experiments", [])}
    runs = http("bob", "POST", f"{API}/runs/search", json={"experiment_ids": [eid]})
    assert runs.status_code == 200 and runs.json().get("runs", []) == []
    assert http("alice", "POST", f"{API}/runs/search", json={"experiment_ids": [eid]}).json()["runs"]
    # the MLflow client sparktag uses, with bob's credentials in the environment, is refused the same way
    with as_user(auth_server, "bob"), pytest.raises(MlflowException) as refused_run:
        MlflowClient(auth_server.url).get_run(rid)
    assert refused_run.value.error_code == "PERMISSION_DENIED"
    with as_user(auth_server, "alice"):
        assert "bob" not in MlflowClient(auth_server.url).get_run(rid).data.params  # nothing was written


def test_bob_with_read_can_read_but_not_write(auth_server, alice_run):
    from mlflow.exceptions import MlflowException
    from mlflow.server import get_app_client
    from mlflow.tracking import MlflowClient

    result = alice_run.result
    assert result.tracking_error is None, result.tracking_error
    eid, rid = result.experiment_id, result.run_id
    with as_user(auth_server, "admin"):
        users = get_app_client("basic-auth", tracking_uri=auth_server.url)
        grant(users, "bob", eid, "READ")
    try:
        with as_user(auth_server, "bob"):
            client = MlflowClient(auth_server.url)
            run = client.get_run(rid)
            assert run.data.params["maxEpochs"] == "1"
            assert client.get_experiment_by_name(EXPERIMENT).experiment_id == eid
            assert EXPERIMENT in {e.name for e in client.search_experiments()}
            config = json.loads(Path(client.download_artifacts(rid, "experiment_config.json")).read_text())
            assert config["experiment_name"] == EXPERIMENT
            for write in (
                lambda: client.log_param(rid, "bob", "1"),
                lambda: client.log_metric(rid, "bob", 1.0),
                lambda: client.set_tag(rid, "bob", "1"),
                lambda: client.create_run(eid),
            ):
                with pytest.raises(MlflowException) as refused:
                    write()
                assert refused.value.error_code == "PERMISSION_DENIED"
        put = auth_server.http("bob", "PUT", artifact_path(run, "bob.txt"), data=b"bob was here")
        assert put.status_code == 403
        with as_user(auth_server, "alice"):
            data = MlflowClient(auth_server.url).get_run(rid).data
            assert "bob" not in data.params and "bob" not in data.metrics and "bob" not in data.tags
    finally:
        with as_user(auth_server, "admin"):
            revoke(users, "bob", eid)


def stored_text_cells(backend: str) -> Iterator[tuple[str, str]]:
    """(table, cell) for every text cell of every table of the MariaDB database behind ``backend``."""
    import pymysql

    parts = urlsplit(backend)
    conn = pymysql.connect(host=parts.hostname, port=parts.port or 3306, user=parts.username or "root",
                           password=parts.password or "", database=parts.path.lstrip("/"))  # fmt: skip
    try:
        with conn.cursor() as cur:
            cur.execute("SHOW TABLES")
            tables = [row[0] for row in cur.fetchall()]
            for table in tables:
                cur.execute(f"SELECT * FROM `{table}`")
                for row in cur.fetchall():
                    for cell in row:
                        if isinstance(cell, bytes):
                            cell = cell.decode("utf-8", "replace")
                        if isinstance(cell, str):
                            yield table, cell
    finally:
        conn.close()


def test_the_password_never_reaches_mlflow(auth_server, alice_run):
    from mlflow.tracking import MlflowClient

    result = alice_run.result
    assert result.tracking_error is None, result.tracking_error
    password = auth_server.passwords["alice"]

    # what a user of the run sees: params, tags, and the small text artifacts sparktag logs
    with as_user(auth_server, "alice"):
        client = MlflowClient(auth_server.url)
        run = client.get_run(result.run_id)
        assert run.data.params["tracking_uri"] == auth_server.url
        for key, value in {**run.data.params, **run.data.tags}.items():
            assert password not in value, key
        version = client.get_model_version_by_alias(MODEL, "champion")
        assert all(password not in v for v in version.tags.values())
        logs = [a.path for a in client.list_artifacts(result.run_id, "training_log")]
        assert logs, "the training log was not logged"
        for name in ("experiment_config.json", "scores.json", "classification_report.txt", *logs):
            text = Path(client.download_artifacts(result.run_id, name)).read_text(encoding="utf-8")
            assert text and password not in text, name

    # what the server stored: every text cell of every table, every artifact file (binary ones too)
    cells = list(stored_text_cells(auth_server.backend))
    assert any(result.run_id in cell for _, cell in cells)  # the scan does see alice's run
    assert [table for table, cell in cells if password in cell] == []
    stored = [p for p in auth_server.artifacts.rglob("*") if p.is_file()]
    assert any(p.name == "experiment_config.json" for p in stored)
    assert [str(p) for p in stored if password.encode() in p.read_bytes()] == []
    assert password not in auth_server.server.log.read_text(errors="replace")

    # what sparktag printed and kept locally
    assert alice_run.lines and password not in "\n".join(alice_run.lines)
    local = [p for p in Path(result.output_dir).rglob("*") if p.is_file()]
    assert [str(p) for p in local if password.encode() in p.read_bytes()] == []

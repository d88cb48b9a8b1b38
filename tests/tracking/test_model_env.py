"""A logged model carries what it needs: ``mlflow models serve`` with MLflow's DEFAULT environment manager.

MLflow 3's default is ``virtualenv``: pyenv provides the Python of the model's ``python_env.yaml`` and a fresh venv
gets ``pip install -r requirements.txt`` run from inside the model folder. sparktag is on no package index, so the
model's requirements list the sparktag wheel saved in its ``wheels/`` folder; everything else comes from the
package index (pip's own configuration applies: here torch resolves to the local CPU wheel). The server runs with
a PATH that lacks this test's venv, in a new MLFLOW_ENV_ROOT, so nothing of the current environment leaks in.

This builds a whole environment (torch, pyspark, mlflow, transformers, ...) once: a few minutes, most of it pip
unpacking wheels from its cache. The time is printed (``pytest -rP``).
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from processes import free_port, stop, wait_http
from servers import unavailable

pytestmark = [pytest.mark.spark, pytest.mark.slow]

SENTENCE = "Halden Steel agreed to buy a stake in Fennick Motors for 58.27 billion euros ."  # in train.conll


def entity_rows(entities: list[dict]) -> list[tuple[str, str, int, int]]:
    """(chunk, entity, begin, end) of one text's entities, as the pyfunc answers them (one row per text)."""
    return [(e["chunk"], e["entity"], e["begin"], e["end"]) for e in entities]


def test_default_env_manager_builds_the_model_env_from_the_model_alone(tiny_pipeline_path, spark, tmp_path):
    import mlflow

    from sparktag.mlflow import log_model
    from sparktag.spark.persistence import load_stage_local

    if shutil.which("pyenv") is None:
        unavailable("pyenv is not on PATH: MLflow's default (virtualenv) environment manager needs it")
    python = platform.python_version()  # what the model's python_env.yaml asks for
    versions = subprocess.run(["pyenv", "versions", "--bare"], capture_output=True, text=True).stdout.split()
    if python not in versions:
        unavailable(f"pyenv has no Python {python} (it has {versions}); MLflow would build it from source")
    uri = f"sqlite:///{tmp_path}/mlflow.db"
    before = mlflow.get_tracking_uri()
    mlflow.set_tracking_uri(uri)
    try:
        experiment = mlflow.create_experiment(
            "model-env", artifact_location=(tmp_path / "artifacts").as_uri()
        )
        with mlflow.start_run(experiment_id=experiment):
            log_model(load_stage_local(str(tiny_pipeline_path)), "model", registered_model_name="env_ner",
                      alias="champion")  # fmt: skip
        expected = mlflow.pyfunc.load_model("models:/env_ner@champion").predict([SENTENCE])
    finally:
        mlflow.set_tracking_uri(before)
    expected_rows = entity_rows(expected["entities"][0])
    assert expected_rows, "the tiny model finds no entity in a sentence it was trained on"

    venv_bin = str(Path(sys.executable).parent)
    path = os.pathsep.join(p for p in os.environ["PATH"].split(os.pathsep) if p != venv_bin)
    env_root = tmp_path / "envs"
    env = {**os.environ, "PATH": path, "MLFLOW_TRACKING_URI": uri, "MLFLOW_ENV_ROOT": str(env_root),
           "HF_HUB_OFFLINE": "1"}  # fmt: skip
    env.pop("VIRTUAL_ENV", None)
    port = free_port()
    log = tmp_path / "serve.log"
    started = time.monotonic()
    with log.open("w") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "mlflow", "models", "serve", "-m", "models:/env_ner@champion",
             "-h", "127.0.0.1", "-p", str(port)],
            env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
    try:
        wait_http(f"http://127.0.0.1:{port}/ping", process, log, timeout_s=1500)
        build_s = time.monotonic() - started
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/invocations",
            data=json.dumps({"inputs": [SENTENCE]}).encode(),
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=120) as response:
            predictions = json.loads(response.read())["predictions"]
    finally:
        stop(process)
    print(f"environment built and server answering after {build_s:.0f} s")

    assert len(predictions) == 1 and entity_rows(predictions[0]["entities"]) == expected_rows
    # the server ran in the environment MLflow built, with sparktag installed there from the model's wheel
    (env_dir,) = list((env_root).iterdir())
    env_python = env_dir / "bin" / "python"
    found = subprocess.run(
        [str(env_python), "-c", "import sparktag, torch; print(sparktag.__file__); print(torch.__version__)"],
        capture_output=True, text=True, check=True, env={"PATH": path, "HOME": os.environ.get("HOME", "/")},
    ).stdout.split()  # fmt: skip
    assert found[0].startswith(str(env_dir)) and "site-packages" in found[0], found
    assert found[1].endswith("+cpu"), f"torch in the model environment is {found[1]}, not the CPU build"


README = Path(__file__).resolve().parents[2] / "README.md"


def readme_serve_command() -> str:
    """The README's ``mlflow models serve`` command, its continuation lines joined, as a user pastes it."""
    lines = README.read_text(encoding="utf-8").splitlines()
    start = next(i for i, line in enumerate(lines) if "mlflow models serve" in line)
    command = []
    for line in lines[start:]:
        command.append(line)
        if not line.rstrip().endswith("\\"):
            break
    return "\n".join(command)


def test_the_readme_serve_line_works_without_an_activated_venv(tiny_pipeline_path, spark, tmp_path):
    """The README's serve command, run literally from a folder holding ``.venv`` and ``mlflow.db``, by a shell
    whose PATH lacks ``.venv/bin`` (a user who never activated the venv; mlflow starts ``uvicorn`` from PATH)."""
    import mlflow

    from sparktag.mlflow import log_model
    from sparktag.spark.persistence import load_stage_local

    command = readme_serve_command()
    assert "--env-manager local" in command and "-p 5001" in command, command
    before = mlflow.get_tracking_uri()
    mlflow.set_tracking_uri(f"sqlite:///{tmp_path}/mlflow.db")  # the demo's store: ./mlflow.db
    try:
        experiment = mlflow.create_experiment("demo", artifact_location=(tmp_path / "artifacts").as_uri())
        with mlflow.start_run(experiment_id=experiment):
            log_model(load_stage_local(str(tiny_pipeline_path)), "model",
                      registered_model_name="sparktag_demo_ner", alias="champion")  # fmt: skip
        expected = mlflow.pyfunc.load_model("models:/sparktag_demo_ner@champion").predict([SENTENCE])
    finally:
        mlflow.set_tracking_uri(before)
    venv = Path(sys.executable).parent.parent  # this test's venv is the project's .venv
    (tmp_path / ".venv").symlink_to(venv, target_is_directory=True)
    # no folder with a uvicorn (the venv's, or any other) on PATH: only the README's command may provide one
    path = os.pathsep.join(
        p
        for p in os.environ["PATH"].split(os.pathsep)
        if p and not os.path.exists(os.path.join(p, "uvicorn"))
    )
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "MLFLOW_TRACKING_URI")}
    env |= {"PATH": path, "HF_HUB_OFFLINE": "1"}
    port = free_port()
    log = tmp_path / "readme-serve.log"
    with log.open("w") as out:
        process = subprocess.Popen(
            ["bash", "-c", command.replace("-p 5001", f"-p {port}")], cwd=tmp_path, env=env,
            stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
    try:
        wait_http(f"http://127.0.0.1:{port}/ping", process, log, timeout_s=180)
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/invocations",
            data=json.dumps({"dataframe_records": [{"text": SENTENCE}]}).encode(),
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=60) as response:
            predictions = json.loads(response.read())["predictions"]
    finally:
        stop(process)
    assert len(predictions) == 1
    assert entity_rows(predictions[0]["entities"]) == entity_rows(expected["entities"][0])

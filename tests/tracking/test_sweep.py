"""Hyperparameter sweeps: a tiny search (tiny BERT, 6 trials, 2 worker processes) on a SQLite store, killed with
SIGKILL and resumed, and on MariaDB and PostgreSQL stores with the Optuna study beside MLflow's tables.

Each search enqueues two good points and then two hopeless ones (a learning rate of 1e-5 learns nothing in
five epochs), so the median pruner has something to prune whatever order the workers take trials in.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from sparktag.tracking.sweep_config import SweepConfig
from sparktag.tracking.sweep_storage import storage_url

from processes import wait_for
from servers import SENTENCE, postgres_database, unavailable

N_TRIALS = 6
# MLflow's assistant panel opens by itself on a first visit and hides part of the page (see test_ui.py)
SKIP_ASSISTANT = (
    "try { localStorage.setItem('mlflow.assistant.fab.autoOpenedOnFirstLoad_v1', 'true') } catch (e) {}"
)
EPOCHS = 5
HOPELESS_LR = 1e-5


def sweep_file(folder: Path, sample_dir: Path, bert_dir: Path, tracking_uri: str, **extra: Any) -> Path:
    """A sweep of the bundled sample with the tiny BERT: lr and lstmHidden searched, two good points first."""
    data = {
        "experiment": {
            "train_path": str(sample_dir / "train.conll"),
            "test_path": str(sample_dir / "test.conll"),
            "embeddings": str(bert_dir),
            "max_epochs": EPOCHS,
            "batch_size": 8,
            "validation_split": 0.2,
            "tracking_uri": tracking_uri,
            "experiment_name": "sweeps",
        },
        "study_name": "tiny-sweep",
        "n_trials": N_TRIALS,
        "pruner_startup_trials": 1,
        "model_name": "tiny_sweep_ner",
        "output_dir": str(folder / "sweep_out"),
        "heartbeat_s": 1,
        "enqueue": [
            {"params.lr": 0.01},
            {"params.lr": 0.02},
            {"params.lr": HOPELESS_LR},
            {"params.lr": HOPELESS_LR},
        ],  # fmt: skip
        "space": {
            "params.lr": {"low": HOPELESS_LR, "high": 0.03, "log": True},
            "params.lstmHidden": {"choices": [16, 32]},
        },  # fmt: skip
        **extra,
    }
    path = folder / "sweep.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def sweep_command(path: Path) -> list[str]:
    return [sys.executable, "-m", "sparktag.cli.main", "sweep", "--config", str(path), "--workers", "2"]


def study_of(path: Path) -> Any:
    import optuna

    config = SweepConfig.from_file(path)
    url = config.storage or storage_url(str(config.experiment.tracking_uri), config.output_dir)
    return optuna.load_study(study_name=config.study_name, storage=url)


def check_sweep(path: Path, killed: bool = False) -> None:
    """What every finished sweep must show, in Optuna and in MLflow (see the module doc)."""
    import mlflow
    from optuna.trial import TrialState

    config = SweepConfig.from_file(path)
    study = study_of(path)
    trials = study.get_trials()
    states = [t.state for t in trials]
    assert states.count(TrialState.COMPLETE) + states.count(TrialState.PRUNED) == N_TRIALS
    assert TrialState.RUNNING not in states and TrialState.WAITING not in states
    pruned = [t for t in trials if t.state == TrialState.PRUNED]
    assert pruned, "the hopeless points were not pruned"
    hopeless = [t for t in trials if t.params["params.lr"] == HOPELESS_LR and t.state != TrialState.FAIL]
    assert hopeless and all(t.state == TrialState.PRUNED for t in hopeless)
    failed = [t for t in trials if t.state == TrialState.FAIL]
    assert bool(failed) == killed
    for trial in failed:  # a killed trial's params ran again, once, to the end
        retries = [t for t in trials if t.system_attrs.get("failed_trial") == trial.number]
        assert len(retries) == 1 and retries[0].params == trial.params
        assert retries[0].state in (TrialState.COMPLETE, TrialState.PRUNED)

    client = mlflow.tracking.MlflowClient(
        config.experiment.tracking_uri
    )  # no global URI: it outlives the store
    experiment = client.get_experiment_by_name("sweeps")
    runs = client.search_runs([experiment.experiment_id], max_results=100)
    parents = [r for r in runs if r.data.tags.get("sparktag.sweep") == "parent"]
    assert len(parents) == 1
    parent = parents[0]
    assert parent.info.status == "FINISHED"
    children = [r for r in runs if r.data.tags.get("mlflow.parentRunId") == parent.info.run_id]
    trial_runs = [r for r in children if "sparktag.trial_number" in r.data.tags]
    # one run per trial that started, none run twice
    numbers = sorted(int(r.data.tags["sparktag.trial_number"]) for r in trial_runs)
    assert numbers == sorted(t.number for t in trials)
    by_number = {int(r.data.tags["sparktag.trial_number"]): r for r in trial_runs}
    for trial in trials:
        run = by_number[trial.number]
        assert run.info.run_id == trial.user_attrs["mlflow_run_id"]
        expected = {"COMPLETE": "FINISHED", "PRUNED": "FINISHED", "FAIL": "FAILED"}[trial.state.name]
        assert run.info.status == expected, trial.number
        assert run.data.tags["sparktag.trial_state"] == trial.state.name
        assert float(run.data.params["trial.params.lr"]) == pytest.approx(trial.params["params.lr"])
        if trial.state != TrialState.FAIL:  # autologging's params of the fit: the sampled value reached it
            assert float(run.data.params["lr"]) == pytest.approx(trial.params["params.lr"])
        # trials see validation data only: never a test score
        assert not [k for k in run.data.metrics if k.startswith("test")], run.data.metrics
        history = client.get_metric_history(run.info.run_id, "validation_entity_micro_f1")
        if trial.state == TrialState.PRUNED:
            assert len(history) < EPOCHS and len(history) == trial.last_step
        elif trial.state == TrialState.COMPLETE:
            assert [m.step for m in history] == list(range(1, EPOCHS + 1))
            assert run.data.metrics["trial_validation_entity_micro_f1"] == pytest.approx(trial.value)
    # the best trial is chosen on validation: the highest score of the completed trials
    best = max((t for t in trials if t.state == TrialState.COMPLETE), key=lambda t: t.value)
    metrics = parent.data.metrics
    assert metrics["best_validation_entity_micro_f1"] == pytest.approx(best.value)
    assert metrics["best_trial"] == best.number and best.value > 0.3, (
        best.value
    )  # the hopeless points score ~0.03
    assert parent.data.params["space.params.lr"] == f"[{HOPELESS_LR}, 0.03] log"
    assert {a.path for a in client.list_artifacts(parent.info.run_id, "charts")} >= {
        "charts/optimization_history.png",
        "charts/parallel_coordinate.png",
        "charts/param_importances.png",
    }
    # the champion: the best trial's model, registered, scored once on the test set, and it tags
    version = client.get_model_version_by_alias("tiny_sweep_ner", "champion")
    assert version.tags["sparktag.trial_number"] == str(best.number)
    assert metrics["test_entity_micro_f1"] > 0.3, metrics
    from sparktag.tracking import flavor
    from sparktag.tracking.settings import TrackingSettings, use_settings

    with use_settings(TrackingSettings(str(config.experiment.tracking_uri))):
        light = flavor.load_model("models:/tiny_sweep_ner@champion", kind="light")
    tagged = light.annotate(SENTENCE)
    assert tagged["ner"][0] != "O" and tagged["ner"][1] != "O", tagged["ner"]  # "Halden Steel" is an entity


@pytest.fixture(scope="module")
def resumed_sweep(sample_dir, sample_bert_dir, tmp_path_factory) -> Path:
    """``sparktag sweep --workers 2`` on SQLite, SIGKILLed (launcher, workers, their JVMs) while a trial trains,
    then run again to the end; the sweep file."""
    tmp_path = tmp_path_factory.mktemp("sweep")
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    path = sweep_file(tmp_path, sample_dir, sample_bert_dir, uri)
    env = {**os.environ, "MLFLOW_TRACKING_URI": ""}
    log = (tmp_path / "first.log").open("w")
    first = subprocess.Popen(sweep_command(path), cwd=tmp_path, stdout=log, stderr=subprocess.STDOUT, env=env,
                             start_new_session=True)  # fmt: skip

    def a_trial_mid_training() -> bool:  # two trials done, another one past its first epoch
        from optuna.trial import TrialState

        time.sleep(0.5)
        try:
            trials = study_of(path).get_trials()
        except Exception:
            return False
        done = [t for t in trials if t.state in (TrialState.COMPLETE, TrialState.PRUNED)]
        return len(done) >= 2 and any(t.state == TrialState.RUNNING and t.last_step for t in trials)

    wait_for(a_trial_mid_training, first, tmp_path / "first.log", timeout_s=300, what="the sweep")
    os.killpg(first.pid, signal.SIGKILL)
    first.wait()
    log.close()
    assert first.returncode == -signal.SIGKILL
    again = subprocess.run(
        sweep_command(path), cwd=tmp_path, capture_output=True, text=True, env=env, timeout=600
    )
    assert again.returncode == 0, again.stdout + again.stderr
    assert "champion         models:/tiny_sweep_ner@champion" in again.stdout
    return path


@pytest.mark.spark
@pytest.mark.slow
def test_a_sweep_killed_with_sigkill_resumes_and_registers_the_champion(resumed_sweep: Path) -> None:
    check_sweep(resumed_sweep, killed=True)


@pytest.mark.spark
@pytest.mark.slow
def test_the_mlflow_ui_shows_the_trials_nested_under_the_parent(resumed_sweep: Path, tmp_path: Path) -> None:
    """The experiment page lists the parent; expanding it shows its trials (screenshot: ui_sweep_nested.png)."""
    import mlflow

    from chromium import CHROMIUM, CHROMIUM_ARGS, artifacts_folder
    from servers import TrackingServer

    try:
        from playwright.sync_api import expect, sync_playwright
    except ImportError:
        unavailable("playwright is not installed (pip install -e '.[test]')")
    if not CHROMIUM.is_file():
        unavailable(f"no {CHROMIUM} (apt-get install -y chromium)")
    config = SweepConfig.from_file(resumed_sweep)
    client = mlflow.tracking.MlflowClient(config.experiment.tracking_uri)
    experiment_id = client.get_experiment_by_name("sweeps").experiment_id
    runs = client.search_runs([experiment_id], max_results=100)
    parent = next(r for r in runs if r.data.tags.get("sparktag.sweep") == "parent")
    trials = [r for r in runs if "sparktag.trial_number" in r.data.tags]
    server = TrackingServer(str(config.experiment.tracking_uri), tmp_path)
    shot = artifacts_folder() / "ui_sweep_nested.png"
    try:
        with sync_playwright() as playwright:
            context = playwright.chromium.launch_persistent_context(
                str(tmp_path / "profile"), executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS,
                viewport={"width": 1400, "height": 1000})  # fmt: skip
            context.set_default_timeout(60_000)
            context.add_init_script(SKIP_ASSISTANT)
            page = context.new_page()
            try:
                page.goto(f"{server.url}/#/experiments/{experiment_id}/runs")
                link = page.locator(f'a[href="#/experiments/{experiment_id}/runs/{parent.info.run_id}"]')
                expect(link).to_have_text("tiny-sweep")
                trial_links = [page.locator(f'a[href="#/experiments/{experiment_id}/runs/{r.info.run_id}"]')
                               for r in trials]  # fmt: skip
                expect(trial_links[0]).to_have_count(0)  # collapsed under the parent
                row = page.get_by_role("row").filter(has=link)
                row.locator("button[data-component-id*='runnamecellrenderer']").first.click()
                for locator, run in zip(trial_links, trials, strict=True):
                    expect(locator).to_have_text(run.info.run_name)
                page.screenshot(path=str(shot))
            except Exception:
                page.screenshot(path=str(shot.with_name("ui_sweep_nested_FAILED.png")), full_page=True)
                raise
            finally:
                context.close()
    finally:
        server.close()


@pytest.mark.spark
@pytest.mark.slow
def test_a_sweep_on_postgresql_keeps_its_study_beside_mlflow_and_retrains_the_champion(
    tmp_path, sample_dir, sample_bert_dir
):
    """(MariaDB: the last block of tests/tracking/test_sweep_docs.py.)"""
    import mlflow
    import sqlalchemy

    from sparktag.tracking.sweep import sweep

    with postgres_database() as uri:
        path = sweep_file(tmp_path, sample_dir, sample_bert_dir, uri, retrain=True)
        result = sweep(SweepConfig.from_file(path), workers=2, echo=None)
        assert result.model_uri == "models:/tiny_sweep_ner@champion" and not result.notes, result.notes
        check_sweep(path)
        # the study is in the schema "optuna" of the MLflow database, beside MLflow's own tables
        engine = sqlalchemy.create_engine(storage_url(uri, ""))
        with engine.connect() as connection:
            count = connection.execute(sqlalchemy.text("SELECT COUNT(*) FROM optuna.trials")).scalar()
        engine.dispose()
        assert count == len(study_of(path).get_trials())
        # retrain = true: the champion is the best params fit on all the training data, in a run of its own
        client = mlflow.tracking.MlflowClient(uri)
        version = client.get_model_version_by_alias("tiny_sweep_ner", "champion")
        run = client.get_run(version.run_id)
        assert run.info.run_name == "champion (retrained)" and run.data.params["validationSplit"] == "0.0"
        assert run.data.tags["mlflow.parentRunId"] == result.parent_run_id
        assert json.loads(run.data.tags["sparktag.trial_params"]) == result.best_params


def test_a_sweep_file_with_mistakes_is_refused_with_what_to_change(tmp_path, sample_dir) -> None:
    base = {
        "experiment": {"train_path": "a", "test_path": "b"},
        "space": {"params.lr": {"low": 0.001, "high": 0.01}},
    }
    cases = [
        ({"space": {}}, "[space] is empty"),
        ({"sampler": "bayes"}, "sampler must be one of 'tpe', 'random', 'grid'; got 'bayes'"),
        ({"space": {"params.nope": [1, 2]}}, "space.params.nope"),
        ({"space": {"params.lr": {"low": 0.1, "high": 0.01}}}, "needs numbers low < high"),
        ({"space": {"params.lr": {"low": 0, "high": 0.01, "log": True}}}, "a log range needs low > 0"),
        ({"space": {"params.lr": {"lo": 0.1}}}, "unknown keys ['lo']"),
        (
            {"experiment": {"train_path": "a", "test_path": "b", "validation_split": 0}},
            "validation_split > 0",
        ),
        ({"enqueue": [{"params.lstmHidden": 8}]}, "enqueue[0]: ['params.lstmHidden'] not in [space]"),
        ({"n_trial": 3}, "unknown keys ['n_trial']"),
    ]
    for change, message in cases:
        path = tmp_path / "sweep.json"
        path.write_text(json.dumps({**base, **change}))
        with pytest.raises(ValueError, match=None) as caught:
            SweepConfig.from_file(path)
        assert message in str(caught.value) and str(path) in str(caught.value)
    grid = SweepConfig.from_dict({**base, "sampler": "grid",
                                  "space": {"batch_size": {"low": 8, "high": 32, "step": 8}, "params.lr": [0.01, 0.1]}})  # fmt: skip
    assert grid.grid() == {"batch_size": [8, 16, 24, 32], "params.lr": [0.01, 0.1]}
    with pytest.raises(ValueError, match="grid sampler needs a finite set"):
        SweepConfig.from_dict({**base, "sampler": "grid"}).grid()


def test_the_study_lives_beside_the_mlflow_store() -> None:
    assert storage_url("sqlite:///mlflow.db", "out") == "sqlite:///mlflow.optuna.db"
    assert storage_url("sqlite:////data/runs/mlflow.db", "out") == "sqlite:////data/runs/mlflow.optuna.db"
    assert (
        storage_url("mysql+pymysql://root@db:3306/mlflow", "out")
        == "mysql+pymysql://root@db:3306/mlflow_optuna"
    )
    assert (storage_url("postgresql://u:p@db/mlflow?sslmode=require", "out")
            == "postgresql://u:p@db/mlflow?sslmode=require&options=-csearch_path%3Doptuna")  # fmt: skip
    assert storage_url("http://mlflow:5000", "/tmp/out") == "sqlite:////tmp/out/optuna.db"


def test_sweep_command_refuses_bad_input_before_anything_starts(
    tmp_path, sample_dir, capsys, monkeypatch
) -> None:
    from sparktag.cli.main import main

    monkeypatch.chdir(tmp_path)

    assert main(["sweep", "--config", str(tmp_path / "missing.toml")]) == 2
    assert "missing.toml" in capsys.readouterr().err
    path = tmp_path / "sweep.toml"
    path.write_text(f"""experiment = {{ train_path = "{sample_dir / 'nope.conll'}", test_path = "{sample_dir / 'test.conll'}" }}
[space]
"params.lr" = {{ low = 0.001, high = 0.01 }}
""")  # fmt: skip
    assert main(["sweep", "--config", str(path)]) == 2
    assert (
        "train_path" in capsys.readouterr().err
    )  # the missing training file, named, before Spark or a store
    assert main(["sweep", "--config", str(path), "--workers", "0"]) == 2
    assert "--workers must be at least 1" in capsys.readouterr().err
    assert not (tmp_path / "mlflow.db").exists() and not (tmp_path / "sparktag_sweep").exists()

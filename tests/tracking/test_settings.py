"""MLflow's precedence for where runs go: explicit value, then MLFLOW_* variables, then sparktag's default."""

from __future__ import annotations

import os

import pytest

from sparktag.tracking.experiment_config import ExperimentConfig
from sparktag.tracking.settings import open_experiment, resolve_settings, use_settings


def test_explicit_then_environment_then_default():
    env = {"MLFLOW_TRACKING_URI": "http://env:5000", "MLFLOW_EXPERIMENT_NAME": "env-exp",
           "MLFLOW_REGISTRY_URI": "sqlite:///reg.db"}  # fmt: skip
    s = resolve_settings(environ=env)
    assert (s.tracking_uri, s.experiment_name, s.registry_uri) == (
        "http://env:5000",
        "env-exp",
        "sqlite:///reg.db",
    )
    assert s.sources == {"tracking_uri": "MLFLOW_TRACKING_URI", "experiment_name": "MLFLOW_EXPERIMENT_NAME",
                         "registry_uri": "MLFLOW_REGISTRY_URI"}  # fmt: skip
    s = resolve_settings("sqlite:///flag.db", "flag-exp", environ=env)
    assert (s.tracking_uri, s.experiment_name, s.sources["tracking_uri"]) == (
        "sqlite:///flag.db",
        "flag-exp",
        "flag",
    )
    s = resolve_settings(environ={})
    assert (s.tracking_uri, s.experiment_name, s.registry_uri) == ("sqlite:///mlflow.db", "sparktag", None)
    assert s.describe() == "sqlite:///mlflow.db (default), experiment 'sparktag' (default)"
    s = resolve_settings(environ={"MLFLOW_TRACKING_URI": "http://u:pw@h:1", "MLFLOW_EXPERIMENT_ID": "7"})
    assert (s.experiment_name, s.experiment_id) == (None, "7")  # by id, as MLflow does
    assert (
        s.describe()
        == "http://u:***@h:1 (from MLFLOW_TRACKING_URI), experiment id 7 (from MLFLOW_EXPERIMENT_ID)"
    )
    assert resolve_settings(environ={"MLFLOW_RUN_ID": "abc"}).run_id == "abc"


def test_open_experiment_follows_mlflow_rules_on_a_real_store(tmp_path, monkeypatch):
    import mlflow

    monkeypatch.chdir(tmp_path)
    uri = f"sqlite:///{tmp_path}/mlflow.db"
    named = resolve_settings(uri, "team")
    with use_settings(named):
        team_id, name = open_experiment(named)
        assert name == "team"
        assert mlflow.get_experiment(team_id).tags["mlflow.experimentKind"] == "custom_model_development"
        other_id = mlflow.create_experiment("other")
        by_id = resolve_settings(uri, environ={"MLFLOW_EXPERIMENT_ID": other_id})
        assert open_experiment(by_id) == (other_id, "other")
        both = resolve_settings(
            uri, environ={"MLFLOW_EXPERIMENT_ID": other_id, "MLFLOW_EXPERIMENT_NAME": "team"}
        )
        with pytest.raises(
            ValueError, match=f"MLFLOW_EXPERIMENT_ID={other_id} does not match the id {team_id}"
        ):
            open_experiment(both)
        with pytest.raises(ValueError, match="MLFLOW_EXPERIMENT_ID=999 is not an experiment of"):
            open_experiment(resolve_settings(uri, environ={"MLFLOW_EXPERIMENT_ID": "999"}))
        run = mlflow.MlflowClient().create_run(other_id)
        env_run = resolve_settings(uri, environ={"MLFLOW_RUN_ID": run.info.run_id})
        assert open_experiment(env_run) == (other_id, "other")


def test_use_settings_puts_mlflow_back(tmp_path, monkeypatch):
    import mlflow

    monkeypatch.delenv("MLFLOW_REGISTRY_URI", raising=False)
    before, before_registry = mlflow.get_tracking_uri(), mlflow.get_registry_uri()
    settings = resolve_settings(f"sqlite:///{tmp_path}/a.db", registry_uri=f"sqlite:///{tmp_path}/r.db")
    with use_settings(settings):
        assert mlflow.get_tracking_uri() == settings.tracking_uri
        assert mlflow.get_registry_uri() == settings.registry_uri
    assert mlflow.get_tracking_uri() == before and "MLFLOW_REGISTRY_URI" not in os.environ
    assert mlflow.get_registry_uri() == before_registry  # unset again: it follows the tracking URI


def test_config_fields_and_overrides():
    config = ExperimentConfig("a", "b", params={"maxEpochs": 2, "lstmHidden": 8})
    assert (config.max_epochs, config.params) == (2, {"lstmHidden": 8})  # one place per setting
    assert (config.tracking_uri, config.experiment_name) == (None, None)  # MLflow's variables decide
    changed = config.with_overrides({"params.lr": "0.002", "dropout": "0.3", "model_name": "null",
                                     "params.useBestModel": "true", "experiment_name": "2024"})  # fmt: skip
    assert (changed.lr, changed.dropout, changed.experiment_name) == (0.002, 0.3, "2024")
    assert changed.params == {"lstmHidden": 8, "useBestModel": True} and changed.model_name is None
    with pytest.raises(ValueError, match="unknown setting 'epochs'"):
        config.with_overrides({"epochs": "3"})
    with pytest.raises(ValueError, match="log_model: expected true or false, got 'maybe'"):
        config.with_overrides({"log_model": "maybe"})

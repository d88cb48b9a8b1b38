"""Where a sweep's Optuna study lives: beside the MLflow store, so every worker that reaches one reaches both.

Optuna and MLflow each keep their schema version in a table named ``alembic_version``, so the two cannot share
one schema. :func:`storage_url` puts the study

* on PostgreSQL in the MLflow database, in its own schema ``optuna`` (created if missing);
* on MySQL/MariaDB on the same server, in the database ``<mlflow database>_optuna`` (created if missing);
* for a SQLite store, in ``<store>.optuna.db`` beside the store's file;
* for a tracking server (``http(s)://``) or a file store, in ``optuna.db`` in the sweep's output folder:
  workers on other machines then need ``storage`` set to a database they all reach.

:func:`open_storage` adds the heartbeat that lets a killed worker's trial be failed (and tried again).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from sparktag.tracking.redact import redact_uri

OPTUNA_SCHEMA = "optuna"  # PostgreSQL schema of the study, in the MLflow database
MYSQL_SUFFIX = "_optuna"  # MySQL/MariaDB database of the study: the MLflow database's name + this


def storage_url(tracking_uri: str, output_dir: str) -> str:
    """The Optuna storage URL for a sweep tracked at ``tracking_uri`` (see the module doc).

    Example:
        >>> storage_url("postgresql://postgres@127.0.0.1:5432/mlruns", "out")
        'postgresql://postgres@127.0.0.1:5432/mlruns?options=-csearch_path%3Doptuna'
        >>> storage_url("sqlite:////data/mlflow.db", "out")
        'sqlite:////data/mlflow.optuna.db'
    """
    parts = urlsplit(tracking_uri)
    scheme = parts.scheme.split("+")[0]
    if scheme == "sqlite" and tracking_uri.startswith("sqlite:///"):
        path = Path(tracking_uri[len("sqlite:///") :].split("?")[0])  # relative, or /absolute
        return "sqlite:///" + str(path.with_suffix(".optuna.db"))
    if scheme in ("postgresql", "postgres"):
        query = dict(parse_qsl(parts.query))
        query["options"] = f"-csearch_path={OPTUNA_SCHEMA}"
        return urlunsplit(parts._replace(query=urlencode(query)))
    if scheme == "mysql":
        database = parts.path.lstrip("/")
        return urlunsplit(parts._replace(path="/" + database + MYSQL_SUFFIX))
    return "sqlite:///" + os.path.abspath(os.path.join(output_dir, "optuna.db"))


def prepare_storage(url: str) -> None:
    """Create the PostgreSQL schema or MySQL database of :func:`storage_url` if missing (idempotent)."""
    import sqlalchemy

    parts = urlsplit(url)
    scheme = parts.scheme.split("+")[0]
    if scheme in ("postgresql", "postgres"):
        query = dict(parse_qsl(parts.query))
        schema = query.pop("options", "").removeprefix("-csearch_path=") or OPTUNA_SCHEMA
        engine = sqlalchemy.create_engine(urlunsplit(parts._replace(query=urlencode(query))))
        statement = f'CREATE SCHEMA IF NOT EXISTS "{schema}"'
    elif scheme == "mysql":
        database = parts.path.lstrip("/")
        engine = sqlalchemy.create_engine(urlunsplit(parts._replace(path="/")))
        statement = f"CREATE DATABASE IF NOT EXISTS `{database}`"
    else:
        if url.startswith("sqlite:///"):
            Path(url[len("sqlite:///") :]).parent.mkdir(parents=True, exist_ok=True)
        return
    try:
        with engine.begin() as connection:
            connection.execute(sqlalchemy.text(statement))
    except Exception as err:
        raise RuntimeError(
            f"could not prepare the sweep's Optuna storage {redact_uri(url)}: {redact_uri(str(err))}; give the "
            "user the right to create it, or set storage = ... in the sweep file to a database that exists"
        ) from err
    finally:
        engine.dispose()


def open_storage(url: str, heartbeat_s: int, on_stale: Callable[[Any, Any], None] | None = None) -> Any:
    """Optuna's RDB storage at ``url`` with a heartbeat: a trial silent for ``3 * heartbeat_s`` is failed,
    then ``on_stale(study, trial)`` is called (the workers': end its MLflow run, enqueue its params again)."""
    import warnings

    import optuna

    engine_kwargs: dict[str, Any] = {}
    if url.startswith("sqlite"):
        engine_kwargs["connect_args"] = {"timeout": 60}  # workers write one at a time; wait, do not fail
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        return optuna.storages.RDBStorage(
            url,
            engine_kwargs=engine_kwargs,
            heartbeat_interval=heartbeat_s,
            grace_period=3 * heartbeat_s,
            heartbeat_stale_trial_callback=on_stale,
        )

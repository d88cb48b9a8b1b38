"""Secrets never reach MLflow: URIs with passwords, credential query params, secret-looking param names."""

from __future__ import annotations

import pytest

from sparktag.tracking.redact import is_secret_key, redact_params, redact_uri


@pytest.mark.parametrize(
    ("uri", "expected"),
    [
        (
            "mysql+pymysql://root:hunter2@localhost:3306/mlflow",
            "mysql+pymysql://root:***@localhost:3306/mlflow",
        ),
        (
            "postgresql://bob:p%40ss@db/mlflow?sslmode=require",
            "postgresql://bob:***@db/mlflow?sslmode=require",
        ),
        ("https://user:hunter2@mlflow.example.com", "https://user:***@mlflow.example.com"),
        ("http://127.0.0.1:5000", "http://127.0.0.1:5000"),
        ("sqlite:///mlflow.db", "sqlite:///mlflow.db"),
        ("file:./mlruns", "file:./mlruns"),
        ("http://h/x?token=abc&x=1&password=p", "http://h/x?token=***&x=1&password=***"),
        ("s3://b/k?X-Amz-Signature=abc&api_key=k", "s3://b/k?X-Amz-Signature=***&api_key=***"),
        ("see mysql://a:hunter2@h/db and http://u:pw@h2", "see mysql://a:***@h/db and http://u:***@h2"),
    ],
)
def test_redact_uri(uri, expected):
    assert redact_uri(uri) == expected


def test_secret_keys_by_word_not_substring():
    for key in (
        "password",
        "dbPassword",
        "api_key",
        "MLFLOW_TRACKING_TOKEN",
        "AWS_SECRET_ACCESS_KEY",
        "token",
    ):
        assert is_secret_key(key), key
    for key in ("tokenCol", "max_tokens", "keyword", "storageRef", "inputCols", "author", "labelColumn"):
        assert not is_secret_key(key), key


def test_redact_params_masks_values_and_nested_uris():
    params = {
        "tracking_uri": "mysql://root:hunter2@db/mlflow",
        "api_token": "hunter2",
        "paths": ["http://u:hunter2@h/x", "/tmp/y"],
        "nested": {"password": "hunter2", "lr": 0.1},
        "lr": 0.003,
        "tokenCol": "token",
    }
    out = redact_params(params)
    assert "hunter2" not in repr(out)
    assert out["lr"] == 0.003 and out["tokenCol"] == "token" and out["paths"][1] == "/tmp/y"
    assert out["api_token"] == "***" and out["nested"] == {"password": "***", "lr": 0.1}

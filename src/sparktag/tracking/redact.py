"""Keep secrets out of what is tracked: passwords in URIs, tokens in query strings, secret-looking params.

Everything sparktag logs to MLflow (params, tags, summaries, error messages) goes through these functions;
a tracking URI such as ``mysql+pymysql://jsl:passpass@db:3306/mlflow`` (the Spark NLP guide's connection
string) is logged as ``mysql+pymysql://jsl:***@db:3306/mlflow``.

    >>> redact_uri("postgresql://bob:s3cret@db:5432/mlflow?sslmode=require&password=x")
    'postgresql://bob:***@db:5432/mlflow?sslmode=require&password=***'
    >>> redact_params({"tracking_uri": "http://u:p@host", "api_token": "abc", "lr": 0.01})
    {'tracking_uri': 'http://u:***@host', 'api_token': '***', 'lr': 0.01}
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

MASK = "***"

# scheme://user:password@  ->  scheme://user:***@   (any scheme, SQLAlchemy's dialect+driver included)
_USERINFO = re.compile(r"(?P<head>[A-Za-z][A-Za-z0-9+.\-]*://[^/@:\s?#]*):(?P<secret>[^@\s/?#]*)@")
# scheme://token@host (a bare credential, as in https://<token>@github.com)
_BARE_TOKEN = re.compile(r"(?P<head>https?://)(?P<secret>[^/@:\s?#]{16,})@")
# ?password=...&token=... in a query string (also access_token, client_secret, api_key, sig, ...)
_QUERY = re.compile(
    r"(?P<head>[?&;](?:[A-Za-z0-9_\-]*(?:password|passwd|pwd|token|secret|key|signature|sig|credential)s?)=)"
    r"(?P<secret>[^&;#\s]*)",
    re.IGNORECASE,
)
# Words of a param name that mark a secret; a name is split on _ - . and camelCase ("dbPassword",
# "MLFLOW_TRACKING_TOKEN", "aws.secret_access_key"), so "tokenCol" or "keyword" are not secrets.
_SECRET_WORDS = frozenset(
    {"password", "passwd", "pwd", "secret", "token", "credential", "credentials", "apikey"}
)
_KEY_PREFIXES = frozenset({"api", "access", "secret", "private", "account", "master", "signing"})
_WORD = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|[0-9]+")


def redact_uri(uri: str) -> str:
    """``uri`` (or any text holding URIs) with passwords and credential query values replaced by ``***``.

    Args:
        uri: a URL, an SQLAlchemy URI (``dialect+driver://user:password@host/db``) or free text with some.

    Returns:
        The same text; ``user:password@`` becomes ``user:***@`` and the values of query params such as
        ``password=``, ``token=``, ``secret=``, ``*key=`` become ``***``.
    """
    if not isinstance(uri, str) or not uri:
        return uri
    text = _USERINFO.sub(lambda m: f"{m['head']}:{MASK}@" if m["secret"] else m[0], uri)
    text = _BARE_TOKEN.sub(lambda m: f"{m['head']}{MASK}@", text)
    return _QUERY.sub(lambda m: f"{m['head']}{MASK}" if m["secret"] else m[0], text)


def is_secret_key(key: str) -> bool:
    """Whether a param/tag name looks like it holds a secret (``password``, ``api_key``, ``token``, ...)."""
    words = [w.lower() for w in _WORD.findall(key)]
    if any(w in _SECRET_WORDS for w in words):
        return not (
            words[-1] in ("col", "cols", "column", "columns", "type", "count", "length") and "token" in words
        )
    return any(a in _KEY_PREFIXES and b == "key" for a, b in zip(words, words[1:], strict=False))


def redact_value(key: str, value: Any) -> Any:
    """``value`` masked when ``key`` looks secret; strings (and lists of them) with URI credentials redacted."""
    if value is None:
        return None
    if is_secret_key(key) and value != "":
        return MASK
    if isinstance(value, str):
        return redact_uri(value)
    if isinstance(value, (list, tuple)):
        return type(value)(redact_value("", v) for v in value)
    if isinstance(value, Mapping):
        return redact_params(value)
    return value


def redact_params(params: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of ``params`` safe to log: secret-looking keys masked, credentials removed from URI values.

    Args:
        params: names to values (any JSON-able values; nested dicts and lists are redacted too).

    Returns:
        A new dict with the same keys.
    """
    return {str(k): redact_value(str(k), v) for k, v in params.items()}

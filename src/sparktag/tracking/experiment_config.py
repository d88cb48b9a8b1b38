"""What one experiment trains on and where it is tracked: :class:`ExperimentConfig`, a JSON or TOML file.

>>> config = ExperimentConfig.from_file("experiment.toml", max_epochs=2)  # doctest: +SKIP
>>> config.with_overrides({"params.lstmHidden": "64"}).params  # doctest: +SKIP
{'lstmHidden': 64}
"""

from __future__ import annotations

import dataclasses
import json
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

#: NerDLApproach params that are ExperimentConfig fields: ``params={"maxEpochs": 2}`` sets ``max_epochs``
PARAM_FIELDS = {
    "maxEpochs": "max_epochs",
    "lr": "lr",
    "batchSize": "batch_size",
    "dropout": "dropout",
    "validationSplit": "validation_split",
    "randomSeed": "random_seed",
}


@dataclass
class ExperimentConfig:
    """Everything one experiment needs; field names are the keys of a JSON or TOML config file.

    Args:
        train_path: CoNLL training file (or folder/glob).
        test_path: CoNLL test file, tagged after training and scored.
        embeddings: a local Hugging Face model folder, or a model name for ``BertEmbeddings.pretrained``.
        max_epochs, lr, batch_size, dropout, validation_split, random_seed: NerDLApproach's params.
        experiment_name: the MLflow experiment (created if missing); ``None``: ``MLFLOW_EXPERIMENT_NAME``,
            else ``MLFLOW_EXPERIMENT_ID``, else ``sparktag``.
        model_name: register the model under this name (``None``: log it without registering).
        alias: registry alias set on the new version (``champion``), when ``model_name`` is set.
        tracking_uri: MLflow tracking URI; ``None``: ``MLFLOW_TRACKING_URI``, else ``sqlite:///mlflow.db``.
        registry_uri: MLflow model registry URI; ``None``: ``MLFLOW_REGISTRY_URI``, else the tracking URI's.
        artifact_location: where a new experiment keeps its artifacts (``s3://bucket/prefix``, a folder);
            ``None``: the tracking store's default. An existing experiment keeps its own.
        output_dir: folder of every local file (model, predictions, reports, logs, charts).
        log_model: log the fitted pipeline with sparktag's MLflow flavor.
        params: any other NerDLApproach params by name (``{"useBestModel": true, "lstmHidden": 64}``);
            one that is a field above (``maxEpochs``, ``lr``, ``batchSize``, ...) sets that field.
        embeddings_params: BertEmbeddings params by name (``{"maxSentenceLength": 128, "batchSize": 16}``).
    """

    train_path: str
    test_path: str
    embeddings: str = "all_minilm_l6_v2"
    max_epochs: int = 10
    lr: float = 0.003
    batch_size: int = 8
    dropout: float = 0.5
    validation_split: float = 0.1
    random_seed: int = 0
    experiment_name: str | None = None
    model_name: str | None = None
    alias: str = "champion"
    tracking_uri: str | None = None
    registry_uri: str | None = None
    artifact_location: str | None = None
    output_dir: str = "sparktag_output"
    log_model: bool = True
    params: dict[str, Any] = field(default_factory=dict)
    embeddings_params: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        # one place per setting: a field's NerDLApproach name in params (--params.maxEpochs 2) sets the field
        self.params = dict(self.params)
        for name, key in PARAM_FIELDS.items():
            if name in self.params:
                setattr(self, key, self.params.pop(name))

    @classmethod
    def from_file(cls, path: str | os.PathLike[str], **overrides: Any) -> ExperimentConfig:
        """Read a ``.toml`` or ``.json`` config file; ``overrides`` win over the file.

        Relative ``train_path``/``test_path``/``embeddings`` folders are taken relative to the file.
        """
        file = Path(path)
        data = read_config_file(file)
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"{file}: unknown config keys {unknown}; known keys: {sorted(known)}")
        data.update({k: v for k, v in overrides.items() if v is not None})
        for key in ("train_path", "test_path", "embeddings"):
            value = data.get(key)
            if isinstance(value, str) and value and not os.path.isabs(value):
                candidate = file.parent / value
                if candidate.exists():
                    data[key] = str(candidate)
        missing = [k for k in ("train_path", "test_path") if k not in data]
        if missing:
            raise ValueError(f"{file}: missing required keys {missing}")
        return cls(**data)

    def to_dict(self) -> dict[str, Any]:
        """The fields as a JSON-able dict (what :meth:`from_file` reads back)."""
        return dataclasses.asdict(self)

    def with_overrides(self, overrides: dict[str, Any]) -> ExperimentConfig:
        """A copy with ``overrides`` applied, spaCy style: field names, ``params.NAME`` for NerDLApproach,
        ``embeddings_params.NAME`` for BertEmbeddings.

        Text values (from a command line) are converted to the field's type; a ``params.NAME`` text is read
        as JSON when it parses (``2``, ``true``, ``[1, 2]``), else kept as a string.

        Raises:
            ValueError: an unknown name, or a value of the wrong type; the message lists the known names.

        Example:
            >>> ExperimentConfig("a", "b").with_overrides({"params.maxEpochs": "2", "lr": "0.01"}).max_epochs
            2
        """
        sections = ("params", "embeddings_params")
        fields = {f.name: f for f in dataclasses.fields(self) if f.name not in sections}
        values = self.to_dict()
        for key, value in overrides.items():
            section, dot, name = key.partition(".")
            if dot and section in sections and name:
                values[section][name] = _from_text(value) if isinstance(value, str) else value
            elif key in fields:
                values[key] = _convert(key, str(fields[key].type), value)
            else:
                raise ValueError(
                    f"unknown setting {key!r}; known: {', '.join(sorted(fields))}, params.NAME for any "
                    "NerDLApproach param (params.maxEpochs, params.lstmHidden, ...), or embeddings_params.NAME "
                    "for any BertEmbeddings param (embeddings_params.maxSentenceLength, ...)"
                )
        return type(self)(**values)


def read_config_file(file: Path) -> dict[str, Any]:
    """The keys of a ``.toml`` file, else of a JSON file; a syntax error names the file, line and column."""
    text = file.read_text(encoding="utf-8")
    if file.suffix.lower() == ".toml":
        if sys.version_info >= (3, 11):
            import tomllib
        else:  # Python 3.10: the tomli backport, a dependency of sparktag there
            import tomli as tomllib

        try:
            return tomllib.loads(text)
        except tomllib.TOMLDecodeError as err:
            raise ValueError(f"{file}: not valid TOML: {err}") from err
    try:
        data = json.loads(text)
    except json.JSONDecodeError as err:
        raise ValueError(f"{file}:{err.lineno}:{err.colno}: not valid JSON: {err.msg}") from err
    if not isinstance(data, dict):
        raise ValueError(f"{file}: expected a JSON object of settings, got {type(data).__name__}")
    return data


def _from_text(text: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def _convert(key: str, kind: str, value: Any) -> Any:
    """``value`` (text from a command line, or already typed) as the type ``kind`` of field ``key``."""
    if not isinstance(value, str):
        return value
    if "None" in kind and value.lower() in ("null", "none", ""):
        return None
    try:
        if kind.startswith("int"):
            return int(value)
        if kind.startswith("float"):
            return float(value)
    except ValueError:
        raise ValueError(f"{key}: expected {kind.split()[0]}, got {value!r}") from None
    if kind.startswith("bool"):
        if value.lower() not in ("true", "false", "1", "0"):
            raise ValueError(f"{key}: expected true or false, got {value!r}")
        return value.lower() in ("true", "1")
    return value

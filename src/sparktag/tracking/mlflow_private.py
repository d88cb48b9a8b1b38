"""Every private MLflow function sparktag calls, in one place, each with why no public API replaces it.

MLflow's own flavors (``mlflow.sklearn``, ``mlflow.spacy``) save their models with these helpers, and a flavor
written outside MLflow has no public equivalent of them: ``mlflow.pyfunc.save_model`` does the same work but
writes its own ``python_function``-only layout. They are checked against the MLflow versions in
:data:`CHECKED_WITH` (the lowest that ``pyproject.toml`` allows, which ``make test-lowest`` runs, and the pinned
one in ``constraints.txt``); tests/test_packaging.py imports this module, so a release that moves one fails there
first, and scans the rest of sparktag for private MLflow names, so this stays the only place that uses them.
Everything else the flavor uses is public (``mlflow.artifacts.download_artifacts``, ``mlflow.pyfunc.add_to_model``,
``mlflow.models.Model``).
"""

from __future__ import annotations

# input_example.json + serving_input_example.json and the MLmodel's saved_input_example_info
from mlflow.models.utils import _save_example as save_example

# the module global behind mlflow.set_registry_uri (registry_uri_set / restore_registry_uri below)
from mlflow.tracking._model_registry import utils as model_registry_utils

# requirements.txt / constraints.txt / conda.yaml from defaults + pip_requirements/extra_pip_requirements, with
# MLflow's de-duplication and `-c constraints.txt` handling; python_env.yaml of this interpreter
from mlflow.utils.environment import _process_conda_env as process_conda_env
from mlflow.utils.environment import _process_pip_requirements as process_pip_requirements
from mlflow.utils.environment import _PythonEnv as PythonEnv
from mlflow.utils.environment import _validate_env_arguments as validate_env_arguments

# the `code_paths=` copy into <model>/code, with MLflow's checks and error messages
from mlflow.utils.model_utils import _validate_and_copy_code_paths as validate_and_copy_code_paths

#: the MLflow versions whose signatures and behaviour of the functions below were read and tested
CHECKED_WITH = ("3.12.0", "3.17.2")


def registry_uri_set() -> str | None:
    """The registry URI ``mlflow.set_registry_uri`` set in this process; ``None``: never set.

    The public ``mlflow.get_registry_uri()`` resolves an unset one (to ``MLFLOW_REGISTRY_URI`` or the tracking
    URI), so only this module global tells "unset" apart, and only writing it back restores it.
    """
    return model_registry_utils._registry_uri


def restore_registry_uri(uri: str | None) -> None:
    """Put back what :func:`registry_uri_set` returned (``mlflow.set_registry_uri`` cannot set ``None``)."""
    model_registry_utils._registry_uri = uri  # type: ignore[assignment]  # MLflow declares it as None


__all__ = [
    "CHECKED_WITH",
    "PythonEnv",
    "process_conda_env",
    "process_pip_requirements",
    "registry_uri_set",
    "restore_registry_uri",
    "save_example",
    "validate_and_copy_code_paths",
    "validate_env_arguments",
]

"""The environment a saved model needs: ``requirements.txt``, ``conda.yaml``, ``python_env.yaml``, the wheel.

sparktag is not on a package index, so the model carries it: ``wheels/`` holds a wheel of the sparktag that
saved it (:mod:`sparktag.tracking.wheel`), and ``requirements.txt`` lists that wheel by its model-relative path
beside pinned torch, transformers, pyspark (imported for its ``Params`` classes only), pyarrow, pandas, numpy
and mlflow (:func:`get_default_pip_requirements`). MLflow's own helpers (:mod:`sparktag.tracking.mlflow_private`)
merge the user's ``pip_requirements``/``extra_pip_requirements``/``conda_env`` as they do for MLflow's flavors.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from typing import Any

# The files of MLflow's model format (documented names; MLflow keeps them as private constants).
CONDA_ENV_FILE_NAME = "conda.yaml"
PYTHON_ENV_FILE_NAME = "python_env.yaml"
REQUIREMENTS_FILE_NAME = "requirements.txt"
CONSTRAINTS_FILE_NAME = "constraints.txt"


def get_default_pip_requirements(sparktag_wheel: str | None = None) -> list[str]:
    """What a saved sparktag model needs to load and predict, pinned to this environment's versions.

    Args:
        sparktag_wheel: the model-relative path of the sparktag wheel saved in the model (:func:`~sparktag.tracking.flavor.save_model`
            writes ``wheels/sparktag-<version>-<build>-py3-none-any.whl``). Without it sparktag is pinned by
            version, which only an index that has sparktag can install.

    Returns:
        Requirement lines: sparktag first, then ``name==version`` of its serving dependencies.
    """
    from importlib.metadata import version

    import sparktag

    # A local version label (torch's "+cpu") is not installable from PyPI: pin the public version.
    pinned = [
        f"{name}=={version(name).split('+', 1)[0]}"
        for name in (
            "torch",
            "transformers",
            "safetensors",
            "pyspark",
            "pyarrow",
            "pandas",
            "numpy",
            "mlflow",
        )
    ]
    return [sparktag_wheel or f"sparktag=={sparktag.__version__}", *pinned]


def write_model_env(
    path: str,
    conda_env: Any = None,
    pip_requirements: Sequence[str] | str | None = None,
    extra_pip_requirements: Sequence[str] | str | None = None,
) -> None:
    """Write the environment files of the model folder ``path`` (and the sparktag wheel, when needed).

    Args:
        path: the model folder.
        conda_env: a conda environment (dict or YAML path) instead of pip requirements.
        pip_requirements: replaces :func:`get_default_pip_requirements`; the model's sparktag wheel is still
            put first unless a line names sparktag itself.
        extra_pip_requirements: added to the default requirements.
    """
    import yaml

    from sparktag.tracking import mlflow_private as private
    from sparktag.tracking.wheel import WHEELS_DIR, write_sparktag_wheel

    if conda_env is None:
        # sparktag is on no package index: the model carries it as a wheel, installed from the model's folder
        user_reqs = (
            list(pip_requirements) if isinstance(pip_requirements, (list, tuple)) else pip_requirements
        )
        wheel = None
        if user_reqs is None or (
            isinstance(user_reqs, list) and not any(_names_sparktag(r) for r in user_reqs)
        ):
            wheel = f"{WHEELS_DIR}/{write_sparktag_wheel(os.path.join(path, WHEELS_DIR))}"
        if isinstance(user_reqs, list) and wheel is not None:
            user_reqs = [wheel, *user_reqs]
        conda_env, pip_reqs, constraints = private.process_pip_requirements(
            get_default_pip_requirements(wheel) if user_reqs is None else None,
            user_reqs,
            list(extra_pip_requirements)
            if isinstance(extra_pip_requirements, (list, tuple))
            else extra_pip_requirements,
        )
    else:
        conda_env, pip_reqs, constraints = private.process_conda_env(conda_env)
    with open(os.path.join(path, CONDA_ENV_FILE_NAME), "w", encoding="utf-8") as f:
        yaml.safe_dump(conda_env, stream=f, default_flow_style=False)
    if constraints:
        _write_text(os.path.join(path, CONSTRAINTS_FILE_NAME), "\n".join(constraints))
    _write_text(os.path.join(path, REQUIREMENTS_FILE_NAME), "\n".join(pip_reqs))
    private.PythonEnv.current().to_yaml(os.path.join(path, PYTHON_ENV_FILE_NAME))


def _names_sparktag(requirement: str) -> bool:
    """Whether a requirement line installs sparktag (``sparktag==0.1.0``, ``./sparktag-0.1.0-...whl``, ...)."""
    line = requirement.strip()
    return bool(
        re.match(r"sparktag\s*([\[=<>!~;@]|$)", line, re.I)
        or re.search(r"(^|[/\\])sparktag-[^/\\]*\.whl$", line, re.I)
    )


def _write_text(path: str, text: str) -> None:
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)

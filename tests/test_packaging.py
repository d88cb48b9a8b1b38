"""Packaging: pyproject's ranges hold the pinned versions CI tests, the lowest-versions run pins what the ranges
say, MLflow's private helpers are the ones checked against this MLflow, and the wheel a model carries installs."""

from __future__ import annotations

import ast
import base64
import hashlib
import importlib.util
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from packaging.requirements import Requirement

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))


def pins() -> dict[str, str]:
    """constraints.txt as {normalized name: version}."""
    out = {}
    for line in (ROOT / "constraints.txt").read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            name, version = line.split("==")
            out[re.sub(r"[-_.]+", "-", name).lower()] = version.strip()
    return out


def lowest_module():
    spec = importlib.util.spec_from_file_location(
        "lowest_constraints", ROOT / ".ci" / "lowest_constraints.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_constraints_pins_fall_inside_the_ranges():
    """Every pinned runtime, demo and server dependency satisfies pyproject's range (torch is installed first)."""
    pinned = pins()
    project = PYPROJECT["project"]
    checked = 0
    for spec in [*project["dependencies"], *project["optional-dependencies"]["demo"],
                 *project["optional-dependencies"]["server"]]:  # fmt: skip
        req = Requirement(spec)
        if req.name == "torch" or (req.marker is not None and not req.marker.evaluate()):
            continue
        name = re.sub(r"[-_.]+", "-", req.name).lower()
        assert name in pinned, f"{req.name} is a dependency but constraints.txt does not pin it"
        assert req.specifier.contains(pinned[name], prereleases=True), (
            f"constraints.txt pins {req.name}=={pinned[name]}, outside pyproject's {req.specifier}"
        )
        checked += 1
    assert checked >= 12


def test_the_lowest_versions_run_pins_every_lower_bound():
    lines = lowest_module().lowest_constraints(ROOT / "pyproject.toml")
    pinned = dict(line.split("==") for line in lines)
    assert pinned["pyspark"] == "3.5" and pinned["mlflow"] == "3.12.0"
    assert "torch" not in pinned  # the local CPU wheel; any other torch is a CUDA download
    runtime = {Requirement(s).name for s in PYPROJECT["project"]["dependencies"]}
    assert set(pinned) == runtime - {"torch", "tomli"}


def test_the_lowest_versions_refuse_a_dependency_without_lower_bound(tmp_path):
    bad = tmp_path / "pyproject.toml"
    bad.write_text('[project]\nname = "x"\ndependencies = ["torch>=2", "numpy"]\n', encoding="utf-8")
    with pytest.raises(ValueError, match="'numpy' has no '>=' lower bound"):
        lowest_module().lowest_constraints(bad)


def test_the_readme_reports_the_lowest_versions_it_ran():
    """The README's last `make test-lowest` result names the versions the lower bounds pin."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    found = re.search(r"last run: (.*?)\.(?=\s|$)", readme, re.S)
    assert found, "README.md has no 'last run:' line for make test-lowest"
    result = found.group(1)
    assert re.search(r"\d{4}-\d\d-\d\d", result) and re.search(r"\d+ passed", result), result
    from packaging.version import Version

    lowest = dict(line.split("==") for line in lowest_module().lowest_constraints(ROOT / "pyproject.toml"))
    for name in ("pyspark", "mlflow", "transformers", "pandas", "pyarrow"):
        # the versions `make test-lowest` installs now (pip's 3.5.0 for ==3.5): a raised bound needs a new run
        ran = re.search(rf"\b{name} (\S+?),", result)
        assert ran and Version(ran.group(1)) == Version(lowest[name]), (
            f"README's lowest run: {name} {lowest[name]}?"
        )


def test_mlflow_private_helpers_were_checked_against_this_mlflow(monkeypatch):
    import mlflow

    from sparktag.tracking import mlflow_private

    assert mlflow.__version__ in mlflow_private.CHECKED_WITH, (
        f"MLflow {mlflow.__version__} runs here; check the private helpers of sparktag/tracking/mlflow_private.py "
        f"against it and add it to CHECKED_WITH {mlflow_private.CHECKED_WITH}"
    )
    for name in mlflow_private.__all__:
        assert getattr(mlflow_private, name) is not None
    before = mlflow_private.registry_uri_set()
    # set_registry_uri also exports MLFLOW_REGISTRY_URI: monkeypatch takes it back after
    monkeypatch.setenv("MLFLOW_REGISTRY_URI", "sqlite:///checked.db")
    mlflow.set_registry_uri("sqlite:///checked.db")
    try:
        assert mlflow_private.registry_uri_set() == "sqlite:///checked.db"
    finally:
        mlflow_private.restore_registry_uri(before)
    assert mlflow_private.registry_uri_set() == before


def _private(dotted: str) -> bool:
    return any(part.startswith("_") for part in dotted.split("."))


def _mlflow_imports(tree: ast.AST) -> tuple[set[str], list[str]]:
    """The names an MLflow import binds, and the imports of private MLflow modules or names."""
    names, found = set(), []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in (a for a in node.names if a.name.split(".")[0] == "mlflow"):
                names.add(alias.asname or "mlflow")
                if _private(alias.name):
                    found.append(f"{node.lineno}: import {alias.name}")
        elif isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "mlflow":
            for alias in node.names:
                names.add(alias.asname or alias.name)
                if _private(f"{node.module}.{alias.name}"):
                    found.append(f"{node.lineno}: from {node.module} import {alias.name}")
    return names, found


def private_mlflow_uses(source: str) -> list[str]:
    """Every private MLflow module or name ``source`` imports or reaches through an imported MLflow name."""
    tree = ast.parse(source)
    mlflow_names, found = _mlflow_imports(tree)
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and node.attr.startswith("_"):
            root = node.value
            while isinstance(root, ast.Attribute):
                root = root.value
            if isinstance(root, ast.Name) and root.id in mlflow_names:
                found.append(f"{node.lineno}: {ast.unparse(node)}")
    return found


def test_mlflow_privates_are_used_only_through_mlflow_private():
    """No module of sparktag but mlflow_private imports or reaches a private MLflow module or name."""
    assert private_mlflow_uses("from mlflow.tracking import _model_registry\nimport mlflow\n"
                               "mlflow.tracking.fluent._active_run_stack\n"
                               "from mlflow.models import utils as u\nu._save_example") == [
        "1: from mlflow.tracking import _model_registry", "3: mlflow.tracking.fluent._active_run_stack",
        "5: u._save_example"]  # fmt: skip
    package = ROOT / "src" / "sparktag"
    found = {
        str(path.relative_to(package)): uses
        for path in sorted(package.rglob("*.py"))
        if path != package / "tracking" / "mlflow_private.py"
        and (uses := private_mlflow_uses(path.read_text(encoding="utf-8")))
    }
    assert not found, f"use MLflow privates through sparktag/tracking/mlflow_private.py only: {found}"


def test_the_sparktag_wheel_is_reproducible_complete_and_installs(tmp_path):
    import sparktag
    from sparktag.tracking.wheel import write_sparktag_wheel

    name = write_sparktag_wheel(tmp_path / "a")
    assert re.fullmatch(
        rf"sparktag-{re.escape(sparktag.__version__)}-0[0-9a-f]{{12}}-py3-none-any\.whl", name
    )
    again = write_sparktag_wheel(tmp_path / "b")
    assert again == name and (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()

    with zipfile.ZipFile(tmp_path / "a" / name) as wheel:
        names = set(wheel.namelist())
        package = Path(sparktag.__file__).parent
        modules = {f"sparktag/{p.relative_to(package).as_posix()}" for p in package.rglob("*.py")}
        assert modules <= names and not [n for n in names if "__pycache__" in n]
        dist_info = f"sparktag-{sparktag.__version__}.dist-info"
        metadata = wheel.read(f"{dist_info}/METADATA").decode()
        assert f"Version: {sparktag.__version__}" in metadata and "Requires-Dist: pyspark" in metadata
        for row in wheel.read(f"{dist_info}/RECORD").decode().splitlines():
            path, digest, size = row.split(",")
            if digest:  # RECORD lists itself without a hash
                data = wheel.read(path)
                expected = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
                assert digest == f"sha256={expected}" and int(size) == len(data), path

    # pip accepts it and the installed copy is importable on its own (no dependencies needed for the import)
    target = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-index", "--target",
                    str(target), str(tmp_path / "a" / name)], check=True, capture_output=True)  # fmt: skip
    out = subprocess.run([sys.executable, "-c", "import sparktag; print(sparktag.__file__, sparktag.version())"],
                         env={"PYTHONPATH": str(target), "PATH": "/usr/bin:/bin"}, check=True,
                         capture_output=True, text=True).stdout.split()  # fmt: skip
    assert out[0].startswith(str(target)) and out[1] == sparktag.__version__
    assert (target / "bin" / "sparktag").exists()  # the console script from entry_points.txt


def test_autologging_names_the_versions_it_is_tested_with():
    """Autologging's tested range runs from the versions `make test-lowest` installs to the ones CI pins."""
    from packaging.version import Version

    from sparktag.tracking.autolog import SUPPORTED_VERSIONS

    def minor(version: str) -> tuple[int, ...]:
        return (Version(version).release + (0,))[:2]

    lowest = dict(line.split("==") for line in lowest_module().lowest_constraints(ROOT / "pyproject.toml"))
    pinned = pins()
    for name, (low, high) in SUPPORTED_VERSIONS.items():
        assert minor(lowest[name]) == minor(low), (
            f"{name}: tested from {low}, the lowest allowed is {lowest[name]}"
        )
        assert minor(pinned[name]) == minor(high), f"{name}: tested up to {high}, CI pins {pinned[name]}"

"""The house's rules, checked on the source: rooms of at most 400 lines, no import circle (imports inside
functions count), core/ free of torch, Spark and MLflow, ner/ free of Spark and MLflow."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "sparktag"
MAX_LINES = 400
FORBIDDEN = {"core": ("torch", "pyspark", "mlflow"), "ner": ("pyspark", "mlflow")}


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def imports(path: Path) -> set[str]:
    """Every module ``path`` imports, anywhere in it except under ``if TYPE_CHECKING:``."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    typing_only = {
        id(n)
        for node in ast.walk(tree)
        if isinstance(node, ast.If) and ast.unparse(node.test) in ("TYPE_CHECKING", "typing.TYPE_CHECKING")
        for n in ast.walk(node)
    }
    found: set[str] = set()
    for node in ast.walk(tree):
        if id(node) in typing_only:
            continue
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


def internal_imports(path: Path) -> set[str]:
    return {name for name in imports(path) if name in MODULES and name != module_name(path)}


def test_no_module_is_over_the_limit():
    long = {name: n for name, p in MODULES.items() if (n := len(p.read_text().splitlines())) > MAX_LINES}
    assert not long, f"split these by idea (at most {MAX_LINES} lines each): {long}"


def test_no_import_circle():
    graph = {name: internal_imports(path) for name, path in MODULES.items()}
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    circles: list[list[str]] = []

    def visit(name: str, trail: list[str]) -> None:
        state[name] = 1
        for other in sorted(graph[name]):
            if state.get(other) == 1:
                circles.append([*trail[trail.index(other) :], other])
            elif other not in state:
                visit(other, [*trail, other])
        state[name] = 2

    for name in sorted(graph):
        if name not in state:
            visit(name, [name])
    assert not circles, "import circles: " + "; ".join(" -> ".join(c) for c in circles)


@pytest.mark.parametrize("room", sorted(FORBIDDEN))
def test_a_room_imports_only_what_it_may(room):
    bad = {
        name: sorted(i for i in imports(path) if i.split(".")[0] in FORBIDDEN[room])
        for name, path in MODULES.items()
        if name.startswith(f"sparktag.{room}.")
    }
    assert not {k: v for k, v in bad.items() if v}, f"{room}/ must not import {FORBIDDEN[room]}: {bad}"


def test_the_checks_see_what_they_check(tmp_path):
    """The scan finds a function-level import and skips a TYPE_CHECKING one (else the tests above prove little)."""
    source = tmp_path / "m.py"
    source.write_text(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import torch\n"
        "def f():\n    from sparktag.ner import train\n    import pyspark.sql\n"
    )
    assert imports(source) == {
        "typing",
        "typing.TYPE_CHECKING",
        "sparktag.ner",
        "sparktag.ner.train",
        "pyspark.sql",
    }

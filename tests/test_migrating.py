"""docs/migrating.md: every class in its table imports from the module it names, and every param, setter and
argument it lists exists; its Python example runs."""

from __future__ import annotations

import importlib
import inspect
import re
from pathlib import Path
from typing import Any

import pytest

DOC = Path(__file__).resolve().parents[1] / "docs" / "migrating.md"
VERDICTS = {"same", "different", "no effect"}


def table_rows() -> list[dict[str, str]]:
    """The migration table as dicts keyed by its header cells."""
    lines = [line for line in DOC.read_text(encoding="utf-8").splitlines() if line.startswith("|")]
    header = [cell.strip() for cell in lines[0].strip("|").split("|")]
    assert re.fullmatch(r"\|(-+\|)+", lines[1].replace(" ", "")), (
        "the second table line must be the separator"
    )
    rows = []
    for line in lines[2:]:
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        assert len(cells) == len(header), f"{line!r} has {len(cells)} cells, the header {len(header)}"
        rows.append(dict(zip(header, cells, strict=True)))
    return rows


def names(cell: str) -> list[str]:
    return re.findall(r"`([^`]+)`", cell)


def resolve(dotted: str) -> Any:
    """``package.module.Name`` (or a module) -> the object, imported the way a notebook would."""
    try:
        return importlib.import_module(dotted)
    except ImportError:
        module, _, attribute = dotted.rpartition(".")
        return getattr(importlib.import_module(module), attribute)


def has_member(target: Any, name: str) -> bool:
    """A method/attribute of a class or module, or an argument of a function or of a class's constructor."""
    if hasattr(target, name):
        return True
    function = target.__init__ if inspect.isclass(target) else target
    return callable(function) and name in inspect.signature(function).parameters


ROWS = table_rows()


def test_the_table_covers_a_typical_ner_notebook():
    sparktag_names = {names(row["sparktag"])[0].rsplit(".", 1)[-1] for row in ROWS}
    for name in (
        "start",
        "version",
        "DocumentAssembler",
        "SentenceDetector",
        "Tokenizer",
        "BertEmbeddings",
        "WordEmbeddingsModel",
        "NerDLApproach",
        "NerDLModel",
        "NerConverter",
        "Finisher",
        "EmbeddingsFinisher",
        "LightPipeline",
        "CoNLL",
        "mlflow",
    ):
        assert name in sparktag_names, f"docs/migrating.md has no row for {name}"


@pytest.mark.parametrize("row", ROWS, ids=[row["Spark NLP"] for row in ROWS])
def test_every_listed_class_and_param_exists(row):
    (dotted,) = names(row["sparktag"])
    assert dotted.startswith("sparktag"), f"{dotted} is not a sparktag import path"
    target = resolve(dotted)
    missing = [name for name in names(row["Params, setters, arguments"]) if not has_member(target, name)]
    assert not missing, f"{dotted} has none of {missing} (docs/migrating.md says it has)"
    assert row["Same?"] in VERDICTS, f"'Same?' of {dotted} is {row['Same?']!r}; use one of {sorted(VERDICTS)}"
    assert row["What sparktag does, and why"] or row["Same?"] == "same", f"say why {dotted} differs"


def test_the_table_is_checked_for_real():
    """The checks above fail for a name that does not exist (so a typo in the table cannot pass)."""
    from sparktag.annotator import NerDLApproach

    assert not has_member(NerDLApproach, "setLearningRate")
    assert has_member(resolve("sparktag.start"), "memory")
    assert has_member(resolve("sparktag.training.CoNLL"), "delimiter")


def test_the_python_example_runs():
    blocks = re.findall(r"```python\n(.*?)```", DOC.read_text(encoding="utf-8"), flags=re.S)
    assert blocks
    for block in blocks:
        exec(compile(block, str(DOC), "exec"), {})

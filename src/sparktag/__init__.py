"""sparktag: Spark NLP's NER training workflow in Python (PySpark ML stages, PyTorch, MLflow).

Importing sparktag is cheap: Spark, torch and MLflow are imported by the functions that need them.
"""

from __future__ import annotations

from sparktag.session import start

__version__ = "0.1.0"


def version() -> str:
    """sparktag's version, as ``sparknlp.version()`` gives Spark NLP's."""
    return __version__


__all__ = ["__version__", "start", "version"]

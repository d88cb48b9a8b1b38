"""Spark NLP-style import path: ``from sparktag.training import CoNLL`` (re-exports only)."""

from sparktag.spark.conll import CoNLL

__all__ = ["CoNLL"]

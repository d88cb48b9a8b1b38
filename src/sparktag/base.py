"""Spark NLP-style import path: ``from sparktag.base import *`` (re-exports only)."""

from sparktag.light import LightPipeline
from sparktag.spark.document_assembler import DocumentAssembler

__all__ = ["DocumentAssembler", "LightPipeline"]

"""Spark NLP-style import path: ``from sparktag.base import *`` (re-exports only)."""

from sparktag.light import LightPipeline
from sparktag.spark.document_assembler import DocumentAssembler
from sparktag.spark.finisher import EmbeddingsFinisher, Finisher

__all__ = ["DocumentAssembler", "EmbeddingsFinisher", "Finisher", "LightPipeline"]

"""Spark NLP-style import path: ``from sparktag.annotator import *`` (re-exports only)."""

from sparktag.spark.sentence_detector import SentenceDetector
from sparktag.spark.tokenizer import Tokenizer, TokenizerModel

__all__ = ["SentenceDetector", "Tokenizer", "TokenizerModel"]

"""Spark NLP-style import path: ``from sparktag.annotator import *`` (re-exports only)."""

from sparktag.spark.bert_embeddings import BertEmbeddings
from sparktag.spark.ner_converter import NerConverter
from sparktag.spark.ner_dl import NerDLApproach, NerDLModel
from sparktag.spark.sentence_detector import SentenceDetector
from sparktag.spark.tokenizer import Tokenizer, TokenizerModel
from sparktag.spark.word_embeddings import WordEmbeddings, WordEmbeddingsModel

__all__ = [
    "BertEmbeddings",
    "NerConverter",
    "NerDLApproach",
    "NerDLModel",
    "SentenceDetector",
    "Tokenizer",
    "TokenizerModel",
    "WordEmbeddings",
    "WordEmbeddingsModel",
]

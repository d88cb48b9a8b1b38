"""Tokenizer (Estimator) -> TokenizerModel: sentences -> ``token`` annotations, Spark NLP's rules and params."""

from __future__ import annotations

import os
from typing import Any

from pyspark import keyword_only
from pyspark.ml import Estimator
from pyspark.ml.param import TypeConverters

from sparktag.annotation import AnnotatorType
from sparktag.core.tokens import TokenizerConfig, tokenize
from sparktag.spark.params import DeclaredParams, HasInputCols, HasOutputCol, ParamSpec, field_param
from sparktag.spark.persistence import ParamsReadWrite
from sparktag.spark.stage import AnnotateFn, AnnotatorApproach, AnnotatorModel


def _row(name: str, field: str, converter: Any, doc: str) -> ParamSpec:
    return field_param(TokenizerConfig, name, field, converter, doc)


class _TokenizerParams(DeclaredParams):
    # Unset prefix/suffix/infix patterns are derived from contextChars, as in Spark NLP.
    param_table: tuple[ParamSpec, ...] = (
        _row("targetPattern", "target_pattern", TypeConverters.toString,
             "regex of the candidate tokens before splitting"),
        _row("prefixPattern", "prefix_pattern", TypeConverters.toString,
             "regex of what is split off the front of a candidate"),
        _row("suffixPattern", "suffix_pattern", TypeConverters.toString,
             "regex of what is split off the end of a candidate"),
        _row("infixPatterns", "infix_patterns", TypeConverters.toListString,
             "regexes whose groups become separate tokens"),
        _row("contextChars", "context_chars", TypeConverters.toListString,
             "characters split off the front and back of words"),
        _row("splitChars", "split_chars", TypeConverters.toListString, "characters that split a word inside"),
        _row("splitPattern", "split_pattern", TypeConverters.toString, "regex that splits a word inside"),
        _row("exceptions", "exceptions", TypeConverters.toListString, "tokens never split (may contain spaces)"),
        _row("caseSensitiveExceptions", "case_sensitive_exceptions", TypeConverters.toBoolean,
             "whether exceptions match case-sensitively"),
        _row("minLength", "min_length", TypeConverters.toInt, "drop tokens shorter than this"),
        _row("maxLength", "max_length", TypeConverters.toInt, "drop tokens longer than this"),
    )  # fmt: skip

    def addInfixPattern(self, value: str) -> Any:
        current = self.getOrDefault(self.infixPatterns) if self.isDefined(self.infixPatterns) else []
        return self._set(infixPatterns=[value, *current])

    def addContextChars(self, value: str) -> Any:
        return self._set(contextChars=[*self.getOrDefault(self.contextChars), value])

    def addSplitChars(self, value: str) -> Any:
        return self._set(splitChars=[*self.getOrDefault(self.splitChars), value])

    def addException(self, value: str) -> Any:
        return self._set(exceptions=[*self.getOrDefault(self.exceptions), value])

    def config(self) -> TokenizerConfig:
        """The params as the core function's config."""
        return TokenizerConfig(**self.field_values())


class TokenizerModel(AnnotatorModel, _TokenizerParams, ParamsReadWrite):
    """Splits sentence (``document``) annotations into ``token`` annotations."""

    inputAnnotatorTypes = (AnnotatorType.DOCUMENT,)
    outputAnnotatorType = AnnotatorType.TOKEN

    def __init__(self) -> None:
        super().__init__()
        self._init_params({})

    def _annotator(self) -> AnnotateFn:
        config = self.config()

        def annotate(columns: list[list[Any]]) -> list[list[Any]]:
            return [tokenize(sentences, config) for sentences in columns[0]]

        return annotate


class Tokenizer(Estimator, HasInputCols, HasOutputCol, _TokenizerParams, AnnotatorApproach, ParamsReadWrite):
    """Spark NLP's Tokenizer: an Estimator whose ``fit`` gives a :class:`TokenizerModel` with the same params.

    Example:
        >>> Tokenizer().setInputCols(["sentence"]).setOutputCol("token")  # doctest: +ELLIPSIS
        Tokenizer_...
    """

    param_table: tuple[ParamSpec, ...] = (
        ParamSpec(
            "exceptionsPath",
            "text file of exceptions, one per line; fit adds them to exceptions",
            TypeConverters.toString,
        ),
    )

    @keyword_only
    def __init__(
        self, *, inputCols: list[str] | None = None, outputCol: str | None = None, **kwargs: Any
    ) -> None:
        super().__init__()
        self._init_params(self._input_kwargs)

    def setExceptionsPath(
        self, path: str, read_as: str = "TEXT", options: dict[str, str] | None = None
    ) -> Any:
        """A text file of exceptions, one per line (Spark NLP's signature); ``fit`` reads it into ``exceptions``.

        Args:
            path: a local path, a ``file:`` URI, or any Hadoop path (read with Spark).
            read_as: ``"TEXT"`` or ``"SPARK"`` (Spark NLP's ``ReadAs``); both read the file's lines.
            options: Spark NLP's ``{"format": "text"}``; only the text format exists.
        """
        how = str(getattr(read_as, "value", read_as)).upper()
        if how not in ("TEXT", "SPARK"):
            raise ValueError(f"setExceptionsPath: read_as must be 'TEXT' or 'SPARK'; got {read_as!r}")
        fmt = (options or {}).get("format", "text")
        if fmt != "text":
            raise ValueError(
                f"setExceptionsPath: only format 'text' (one exception per line) exists; got {fmt!r}"
            )
        return self._set(exceptionsPath=path)

    def _fit(self, dataset: Any) -> TokenizerModel:
        model = TokenizerModel()
        for param in self.params:
            if self.isSet(param) and model.hasParam(param.name):
                model._set(**{param.name: self.getOrDefault(param)})
        if self.isDefined(self.exceptionsPath):
            # as Spark NLP: the file's lines join the exceptions, and the model carries them (not the path)
            from_file = read_exceptions(self.getOrDefault(self.exceptionsPath))
            current = list(self.getOrDefault(self.exceptions))
            model._set(exceptions=current + [e for e in from_file if e not in current])
        return model


def read_exceptions(path: str) -> list[str]:
    """The non-empty lines of an exceptions file (trailing whitespace removed), in file order.

    Raises:
        FileNotFoundError: the file does not exist, with what to do.
    """
    from sparktag.spark.persistence import is_local_path, local_path

    if is_local_path(path):
        local = local_path(path)
        if not os.path.isfile(local):
            raise FileNotFoundError(
                f"Tokenizer.setExceptionsPath: {path} is not a file; give a text file with one exception per line"
            )
        with open(local, encoding="utf-8") as handle:
            lines = handle.read().splitlines()
    else:
        from pyspark.sql import SparkSession

        lines = [row[0] for row in SparkSession.active().read.text(path).collect()]
    return [line.rstrip() for line in lines if line.strip()]

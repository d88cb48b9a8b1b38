"""Tokenizer (Estimator) -> TokenizerModel: sentences -> ``token`` annotations, Spark NLP's rules and params."""

from __future__ import annotations

import os
from typing import Any

from pyspark import keyword_only
from pyspark.ml import Estimator
from pyspark.ml.param import Param, Params, TypeConverters

from sparktag.annotation import AnnotatorType
from sparktag.core.tokens import TokenizerConfig, tokenize
from sparktag.spark.params import HasInputCols, HasOutputCol, set_from_kwargs
from sparktag.spark.persistence import ParamsReadWrite
from sparktag.spark.stage import AnnotateFn, AnnotatorApproach, AnnotatorModel

_DEFAULTS = TokenizerConfig()


class _TokenizerParams(Params):
    targetPattern: Param[str] = Param(
        Params._dummy(),
        "targetPattern",
        "regex of the candidate tokens before splitting",
        typeConverter=TypeConverters.toString,
    )
    prefixPattern: Param[str] = Param(
        Params._dummy(),
        "prefixPattern",
        "regex of what is split off the front of a candidate",
        typeConverter=TypeConverters.toString,
    )
    suffixPattern: Param[str] = Param(
        Params._dummy(),
        "suffixPattern",
        "regex of what is split off the end of a candidate",
        typeConverter=TypeConverters.toString,
    )
    infixPatterns: Param[list[str]] = Param(
        Params._dummy(),
        "infixPatterns",
        "regexes whose groups become separate tokens",
        typeConverter=TypeConverters.toListString,
    )
    contextChars: Param[list[str]] = Param(
        Params._dummy(),
        "contextChars",
        "characters split off the front and back of words",
        typeConverter=TypeConverters.toListString,
    )
    splitChars: Param[list[str]] = Param(
        Params._dummy(),
        "splitChars",
        "characters that split a word inside",
        typeConverter=TypeConverters.toListString,
    )
    splitPattern: Param[str] = Param(
        Params._dummy(),
        "splitPattern",
        "regex that splits a word inside",
        typeConverter=TypeConverters.toString,
    )
    exceptions: Param[list[str]] = Param(
        Params._dummy(),
        "exceptions",
        "tokens never split (may contain spaces)",
        typeConverter=TypeConverters.toListString,
    )
    caseSensitiveExceptions: Param[bool] = Param(
        Params._dummy(),
        "caseSensitiveExceptions",
        "whether exceptions match case-sensitively",
        typeConverter=TypeConverters.toBoolean,
    )
    minLength: Param[int] = Param(
        Params._dummy(), "minLength", "drop tokens shorter than this", typeConverter=TypeConverters.toInt
    )
    maxLength: Param[int] = Param(
        Params._dummy(), "maxLength", "drop tokens longer than this", typeConverter=TypeConverters.toInt
    )

    def _set_tokenizer_defaults(self) -> None:
        self._setDefault(
            targetPattern=_DEFAULTS.target_pattern,
            contextChars=list(_DEFAULTS.context_chars),
            splitChars=list(_DEFAULTS.split_chars),
            splitPattern=_DEFAULTS.split_pattern,
            exceptions=list(_DEFAULTS.exceptions),
            caseSensitiveExceptions=_DEFAULTS.case_sensitive_exceptions,
            minLength=_DEFAULTS.min_length,
            maxLength=_DEFAULTS.max_length,
        )

    def setTargetPattern(self, value: str) -> Any:
        return self._set(targetPattern=value)

    def setPrefixPattern(self, value: str) -> Any:
        return self._set(prefixPattern=value)

    def setSuffixPattern(self, value: str) -> Any:
        return self._set(suffixPattern=value)

    def setInfixPatterns(self, value: list[str]) -> Any:
        return self._set(infixPatterns=value)

    def addInfixPattern(self, value: str) -> Any:
        current = self.getOrDefault(self.infixPatterns) if self.isDefined(self.infixPatterns) else []
        return self._set(infixPatterns=[value, *current])

    def setContextChars(self, value: list[str]) -> Any:
        return self._set(contextChars=value)

    def addContextChars(self, value: str) -> Any:
        return self._set(contextChars=[*self.getOrDefault(self.contextChars), value])

    def setSplitChars(self, value: list[str]) -> Any:
        return self._set(splitChars=value)

    def addSplitChars(self, value: str) -> Any:
        return self._set(splitChars=[*self.getOrDefault(self.splitChars), value])

    def setSplitPattern(self, value: str) -> Any:
        return self._set(splitPattern=value)

    def setExceptions(self, value: list[str]) -> Any:
        return self._set(exceptions=value)

    def addException(self, value: str) -> Any:
        return self._set(exceptions=[*self.getOrDefault(self.exceptions), value])

    def getExceptions(self) -> list[str]:
        return self.getOrDefault(self.exceptions)

    def setCaseSensitiveExceptions(self, value: bool) -> Any:
        return self._set(caseSensitiveExceptions=value)

    def setMinLength(self, value: int) -> Any:
        return self._set(minLength=value)

    def setMaxLength(self, value: int) -> Any:
        return self._set(maxLength=value)

    def config(self) -> TokenizerConfig:
        """The params as the core function's config."""
        get = self.getOrDefault

        def optional(param: Param[Any]) -> Any:
            # unset prefix/suffix/infix patterns are derived from contextChars, as in Spark NLP
            return get(param) if self.isDefined(param) else None

        infixes = optional(self.infixPatterns)
        return TokenizerConfig(
            target_pattern=get(self.targetPattern),
            prefix_pattern=optional(self.prefixPattern),
            suffix_pattern=optional(self.suffixPattern),
            infix_patterns=list(infixes) if infixes is not None else None,
            context_chars=list(get(self.contextChars)),
            split_chars=list(get(self.splitChars)),
            split_pattern=get(self.splitPattern),
            exceptions=list(get(self.exceptions)),
            case_sensitive_exceptions=get(self.caseSensitiveExceptions),
            min_length=get(self.minLength),
            max_length=get(self.maxLength),
        )


class TokenizerModel(AnnotatorModel, _TokenizerParams, ParamsReadWrite):
    """Splits sentence (``document``) annotations into ``token`` annotations."""

    inputAnnotatorTypes = (AnnotatorType.DOCUMENT,)
    outputAnnotatorType = AnnotatorType.TOKEN

    def __init__(self) -> None:
        super().__init__()
        self._set_tokenizer_defaults()

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

    exceptionsPath: Param[str] = Param(
        Params._dummy(),
        "exceptionsPath",
        "text file of exceptions, one per line; fit adds them to exceptions",
        typeConverter=TypeConverters.toString,
    )

    @keyword_only
    def __init__(
        self, *, inputCols: list[str] | None = None, outputCol: str | None = None, **kwargs: Any
    ) -> None:
        super().__init__()
        self._set_tokenizer_defaults()
        set_from_kwargs(self, self._input_kwargs)

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

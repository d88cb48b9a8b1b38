"""SentenceDetector: ``document`` -> ``document`` annotations, one per sentence (rule-based, Spark NLP's params)."""

from __future__ import annotations

from typing import Any

from pyspark import keyword_only
from pyspark.ml.param import Param, Params, TypeConverters

from sparktag.annotation import AnnotatorType
from sparktag.core.sentences import SentenceDetectorConfig, detect_sentences
from sparktag.spark.params import set_from_kwargs
from sparktag.spark.persistence import ParamsReadWrite
from sparktag.spark.stage import AnnotateFn, AnnotatorModel


class SentenceDetector(AnnotatorModel, ParamsReadWrite):
    """Splits documents into sentences; each sentence's metadata ``sentence`` is its 0-based index.

    Example:
        >>> SentenceDetector().setInputCols(["document"]).setOutputCol("sentence")  # doctest: +ELLIPSIS
        SentenceDetector_...
    """

    inputAnnotatorTypes = (AnnotatorType.DOCUMENT,)
    outputAnnotatorType = AnnotatorType.DOCUMENT

    useAbbreviations: Param[bool] = Param(
        Params._dummy(),
        "useAbbreviations",
        "whether to keep known abbreviations (Mr., U.S.) inside sentences",
        typeConverter=TypeConverters.toBoolean,
    )
    detectLists: Param[bool] = Param(
        Params._dummy(),
        "detectLists",
        "whether to split enumerated lists into sentences",
        typeConverter=TypeConverters.toBoolean,
    )
    customBounds: Param[list[str]] = Param(
        Params._dummy(),
        "customBounds",
        "extra sentence boundaries, as regular expressions",
        typeConverter=TypeConverters.toListString,
    )
    useCustomBoundsOnly: Param[bool] = Param(
        Params._dummy(),
        "useCustomBoundsOnly",
        "split on customBounds only, not on the built-in rules",
        typeConverter=TypeConverters.toBoolean,
    )
    customBoundsStrategy: Param[str] = Param(
        Params._dummy(),
        "customBoundsStrategy",
        "what happens to a matched custom bound: 'none' drops it, 'prepend' starts the next sentence with it, "
        "'append' ends the previous sentence with it",
        typeConverter=TypeConverters.toString,
    )
    splitLength: Param[int] = Param(
        Params._dummy(),
        "splitLength",
        "cut longer sentences at spaces into pieces of at most this many characters (unset: no cutting)",
        typeConverter=TypeConverters.toInt,
    )
    explodeSentences: Param[bool] = Param(
        Params._dummy(),
        "explodeSentences",
        "emit one row per sentence instead of one per document",
        typeConverter=TypeConverters.toBoolean,
    )
    minLength: Param[int] = Param(
        Params._dummy(),
        "minLength",
        "drop sentences shorter than this many characters",
        typeConverter=TypeConverters.toInt,
    )
    maxLength: Param[int] = Param(
        Params._dummy(),
        "maxLength",
        "longest sentence kept whole, in characters",
        typeConverter=TypeConverters.toInt,
    )

    @keyword_only
    def __init__(
        self,
        *,
        inputCols: list[str] | None = None,
        outputCol: str | None = None,
        useAbbreviations: bool | None = None,
        detectLists: bool | None = None,
        customBounds: list[str] | None = None,
        useCustomBoundsOnly: bool | None = None,
        customBoundsStrategy: str | None = None,
        splitLength: int | None = None,
        explodeSentences: bool | None = None,
        minLength: int | None = None,
        maxLength: int | None = None,
    ) -> None:
        super().__init__()
        self._setDefault(
            useAbbreviations=True,
            detectLists=True,
            customBounds=[],
            useCustomBoundsOnly=False,
            customBoundsStrategy="none",
            explodeSentences=False,
            minLength=0,
            maxLength=99999,
        )
        set_from_kwargs(self, self._input_kwargs)

    def setUseAbbreviations(self, value: bool) -> SentenceDetector:
        return self._set(useAbbreviations=value)

    def setDetectLists(self, value: bool) -> SentenceDetector:
        return self._set(detectLists=value)

    def setCustomBounds(self, value: list[str]) -> SentenceDetector:
        return self._set(customBounds=value)

    def setUseCustomBoundsOnly(self, value: bool) -> SentenceDetector:
        return self._set(useCustomBoundsOnly=value)

    def setCustomBoundsStrategy(self, value: str) -> SentenceDetector:
        """``"none"`` (default: drop the matched bound), ``"prepend"`` or ``"append"``, as in Spark NLP."""
        from sparktag.core.sentences import CUSTOM_BOUNDS_STRATEGIES

        if value not in CUSTOM_BOUNDS_STRATEGIES:
            raise ValueError(
                f"SentenceDetector.setCustomBoundsStrategy: {value!r} is not one of "
                f"{', '.join(CUSTOM_BOUNDS_STRATEGIES)}"
            )
        return self._set(customBoundsStrategy=value)

    def getCustomBoundsStrategy(self) -> str:
        return self.getOrDefault(self.customBoundsStrategy)

    def setSplitLength(self, value: int) -> SentenceDetector:
        """Cut sentences longer than ``value`` characters at spaces (a single longer word stays whole)."""
        if value < 1:
            raise ValueError(f"SentenceDetector.setSplitLength: must be >= 1; got {value}")
        return self._set(splitLength=value)

    def getSplitLength(self) -> int | None:
        return self.getOrDefault(self.splitLength) if self.isDefined(self.splitLength) else None

    def setExplodeSentences(self, value: bool) -> SentenceDetector:
        return self._set(explodeSentences=value)

    def setMinLength(self, value: int) -> SentenceDetector:
        return self._set(minLength=value)

    def setMaxLength(self, value: int) -> SentenceDetector:
        return self._set(maxLength=value)

    def config(self) -> SentenceDetectorConfig:
        """The params as the core function's config."""
        return SentenceDetectorConfig(
            use_abbreviations=self.getOrDefault(self.useAbbreviations),
            detect_lists=self.getOrDefault(self.detectLists),
            custom_bounds=list(self.getOrDefault(self.customBounds)),
            use_custom_bounds_only=self.getOrDefault(self.useCustomBoundsOnly),
            custom_bounds_strategy=self.getOrDefault(self.customBoundsStrategy),
            split_length=self.getSplitLength(),
            min_length=self.getOrDefault(self.minLength),
            max_length=self.getOrDefault(self.maxLength),
        )

    def _explode(self) -> bool:
        return bool(self.getOrDefault(self.explodeSentences))

    def _annotator(self) -> AnnotateFn:
        config = self.config()

        def annotate(columns: list[list[Any]]) -> list[list[Any]]:
            return [detect_sentences(docs, config) for docs in columns[0]]

        return annotate

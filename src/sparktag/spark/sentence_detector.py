"""SentenceDetector: ``document`` -> ``document`` annotations, one per sentence (rule-based, Spark NLP's params)."""

from __future__ import annotations

from typing import Any

from pyspark import keyword_only
from pyspark.ml.param import TypeConverters

from sparktag.annotation import AnnotatorType
from sparktag.core.sentences import CUSTOM_BOUNDS_STRATEGIES, SentenceDetectorConfig, detect_sentences
from sparktag.spark.params import ParamSpec, field_param, one_of
from sparktag.spark.persistence import ParamsReadWrite
from sparktag.spark.stage import AnnotateFn, AnnotatorModel


def _split_length_check(value: int) -> str | None:
    return None if value >= 1 else f"SentenceDetector.setSplitLength: must be >= 1; got {value}"


class SentenceDetector(AnnotatorModel, ParamsReadWrite):
    """Splits documents into sentences; each sentence's metadata ``sentence`` is its 0-based index.

    Example:
        >>> SentenceDetector().setInputCols(["document"]).setOutputCol("sentence")  # doctest: +ELLIPSIS
        SentenceDetector_...
    """

    inputAnnotatorTypes = (AnnotatorType.DOCUMENT,)
    outputAnnotatorType = AnnotatorType.DOCUMENT

    # fmt: off
    param_table: tuple[ParamSpec, ...] = (
        field_param(SentenceDetectorConfig, "useAbbreviations", "use_abbreviations", TypeConverters.toBoolean,
                    "whether to keep known abbreviations (Mr., U.S.) inside sentences"),
        field_param(SentenceDetectorConfig, "detectLists", "detect_lists", TypeConverters.toBoolean,
                    "whether to split enumerated lists into sentences"),
        field_param(SentenceDetectorConfig, "customBounds", "custom_bounds", TypeConverters.toListString,
                    "extra sentence boundaries, as regular expressions"),
        field_param(SentenceDetectorConfig, "useCustomBoundsOnly", "use_custom_bounds_only",
                    TypeConverters.toBoolean, "split on customBounds only, not on the built-in rules"),
        field_param(SentenceDetectorConfig, "customBoundsStrategy", "custom_bounds_strategy",
                    TypeConverters.toString,
                    "what happens to a matched custom bound: 'none' drops it, 'prepend' starts the next sentence "
                    "with it, 'append' ends the previous sentence with it",
                    check=one_of("customBoundsStrategy", CUSTOM_BOUNDS_STRATEGIES)),
        field_param(SentenceDetectorConfig, "splitLength", "split_length", TypeConverters.toInt,
                    "cut longer sentences at spaces into pieces of at most this many characters (unset: no "
                    "cutting)", check=_split_length_check),
        ParamSpec("explodeSentences", "emit one row per sentence instead of one per document",
                  TypeConverters.toBoolean, False),
        field_param(SentenceDetectorConfig, "minLength", "min_length", TypeConverters.toInt,
                    "drop sentences shorter than this many characters"),
        field_param(SentenceDetectorConfig, "maxLength", "max_length", TypeConverters.toInt,
                    "longest sentence kept whole, in characters"),
    )
    # fmt: on

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
        self._init_params(self._input_kwargs)

    def getSplitLength(self) -> int | None:
        return self.getOrDefault(self.splitLength) if self.isDefined(self.splitLength) else None

    def config(self) -> SentenceDetectorConfig:
        """The params as the core function's config."""
        return SentenceDetectorConfig(**self.field_values())

    def _explode(self) -> bool:
        return bool(self.getOrDefault(self.explodeSentences))

    def _annotator(self) -> AnnotateFn:
        config = self.config()

        def annotate(columns: list[list[Any]]) -> list[list[Any]]:
            return [detect_sentences(docs, config) for docs in columns[0]]

        return annotate

"""NerConverter: sentence + token + tags -> ``chunk`` annotations, one per entity (Spark NLP's params)."""

from __future__ import annotations

from typing import Any

from pyspark import keyword_only
from pyspark.ml.param import TypeConverters

from sparktag.annotation import AnnotatorType
from sparktag.core.ner_converter import ner_converter
from sparktag.spark.params import ParamSpec
from sparktag.spark.persistence import ParamsReadWrite
from sparktag.spark.stage import AnnotateFn, AnnotatorModel


class NerConverter(AnnotatorModel, ParamsReadWrite):
    """Merges IOB1, IOB2 or BIOES tags into entity chunks with metadata ``entity``, ``sentence``, ``chunk``
    and ``confidence`` (when the tagger gave confidences).

    Example:
        >>> NerConverter().setInputCols(["sentence", "token", "ner"]).setOutputCol("ner_chunk")  # doctest: +ELLIPSIS
        NerConverter_...
    """

    inputAnnotatorTypes = (AnnotatorType.DOCUMENT, AnnotatorType.TOKEN, AnnotatorType.NAMED_ENTITY)
    outputAnnotatorType = AnnotatorType.CHUNK

    param_table: tuple[ParamSpec, ...] = (
        ParamSpec("whiteList", "entity types to keep (all when empty)", TypeConverters.toListString, []),
        ParamSpec(
            "preservePosition",
            "take each chunk's text from the sentence (True) or from its first token (False)",
            TypeConverters.toBoolean,
            True,
        ),
        ParamSpec(
            "nerHasNoSchema",
            "tags carry no B-/I- prefix: each tag is an entity type",
            TypeConverters.toBoolean,
            False,
        ),
    )

    @keyword_only
    def __init__(
        self,
        *,
        inputCols: list[str] | None = None,
        outputCol: str | None = None,
        whiteList: list[str] | None = None,
        preservePosition: bool | None = None,
        nerHasNoSchema: bool | None = None,
    ) -> None:
        super().__init__()
        self._init_params(self._input_kwargs)

    def _annotator(self) -> AnnotateFn:
        white_list = list(self.getOrDefault(self.whiteList)) or None
        preserve = bool(self.getOrDefault(self.preservePosition))
        no_schema = bool(self.getOrDefault(self.nerHasNoSchema))

        def annotate(columns: list[list[Any]]) -> list[list[Any]]:
            return [
                ner_converter(
                    s, t, n, white_list=white_list, preserve_position=preserve, ner_has_no_schema=no_schema
                )
                for s, t, n in zip(*columns, strict=True)
            ]

        return annotate

"""DocumentAssembler: a text column -> one ``document`` annotation per row (Spark NLP's entry point)."""

from __future__ import annotations

from typing import Any

from pyspark import keyword_only
from pyspark.ml.param import TypeConverters

from sparktag.annotation import AnnotatorType
from sparktag.core.documents import CLEANUP_MODES, assemble_document
from sparktag.spark.params import HasInputCol, ParamSpec, one_of
from sparktag.spark.persistence import ParamsReadWrite
from sparktag.spark.stage import AnnotateFn, AnnotatorStage


class DocumentAssembler(AnnotatorStage, HasInputCol, ParamsReadWrite):
    """Turns raw text into a ``document`` annotation column.

    Example:
        >>> DocumentAssembler().setInputCol("text").setOutputCol("document")  # doctest: +ELLIPSIS
        DocumentAssembler_...
    """

    outputAnnotatorType = AnnotatorType.DOCUMENT

    param_table: tuple[ParamSpec, ...] = (
        ParamSpec("idCol", "column with an id for each row", TypeConverters.toString),
        ParamSpec(
            "metadataCol",
            "map<string,string> column whose entries are added to each document's metadata",
            TypeConverters.toString,
        ),
        ParamSpec(
            "cleanupMode",
            "how to clean the text: " + ", ".join(CLEANUP_MODES),
            TypeConverters.toString,
            "disabled",
            check=one_of("cleanupMode", CLEANUP_MODES),
        ),
    )
    param_defaults = {"inputCol": "text", "outputCol": "document"}

    @keyword_only
    def __init__(
        self,
        *,
        inputCol: str | None = None,
        outputCol: str | None = None,
        idCol: str | None = None,
        metadataCol: str | None = None,
        cleanupMode: str | None = None,
    ) -> None:
        super().__init__()
        self._init_params(self._input_kwargs)

    def _input_columns(self) -> list[str]:
        cols = [self.getInputCol()]
        if self.isDefined(self.metadataCol):
            cols.append(self.getOrDefault(self.metadataCol))
        return cols

    def _annotator(self) -> AnnotateFn:
        mode = self.getCleanupMode()
        with_metadata = self.isDefined(self.metadataCol)

        def annotate(columns: list[list[Any]]) -> list[list[Any]]:
            texts = columns[0]
            metas = columns[1] if with_metadata else [None] * len(texts)
            return [
                assemble_document(text, mode, _as_dict(meta)) for text, meta in zip(texts, metas, strict=True)
            ]

        return annotate


def _as_dict(value: Any) -> dict[str, str] | None:
    if value is None:
        return None
    items = value.items() if isinstance(value, dict) else value  # Arrow gives a map as (key, value) pairs
    return {str(k): str(v) for k, v in items}

"""LightPipeline: run a fitted pipeline on Python strings in-process, with no Spark job and no JVM.

It calls the very functions the Spark stages map over Arrow batches (``stage._annotator()``), so a parity
test can compare the two paths annotation for annotation. A pipeline saved with
``write().overwrite().save(path)`` loads here with pyarrow and json alone: ``LightPipeline.load(path)``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sparktag.annotation import Annotation
from sparktag.spark.stage import AnnotateFn, AnnotatorStage

# texts per call of a stage function: enough for length-sorted batches, memory still bounded
CHUNK_ROWS = 1024


class LightPipeline:
    """In-process annotation with a fitted pipeline.

    Args:
        pipeline: a fitted ``PipelineModel``, a list of fitted stages, or the path of a saved PipelineModel.
        parse_embeddings: keep embedding vectors in :meth:`fullAnnotate`'s annotations (they are dropped
            otherwise, as in Spark NLP, to keep results small).

    Example:
        >>> light = LightPipeline(pipeline_model)  # doctest: +SKIP
        >>> light.annotate("Maria works in Lisbon.")["token"]  # doctest: +SKIP
        ['Maria', 'works', 'in', 'Lisbon', '.']
    """

    def __init__(self, pipeline: Any, parse_embeddings: bool = False) -> None:
        if isinstance(pipeline, str):
            from sparktag.spark.persistence import load_stage_local

            pipeline = load_stage_local(pipeline)
        self.pipeline_model = pipeline
        stages = list(getattr(pipeline, "stages", pipeline))
        self.stages: list[AnnotatorStage] = []
        for i, stage in enumerate(flatten_stages(stages)):
            if not isinstance(stage, AnnotatorStage):
                raise TypeError(
                    f"LightPipeline: stage {i} ({type(stage).__name__}) is not a sparktag annotator; "
                    "LightPipeline runs sparktag stages only (run other stages with pipeline.transform)"
                )
            self.stages.append(stage)
        if not self.stages:
            raise ValueError("LightPipeline: the pipeline has no stages")
        self.parse_embeddings = parse_embeddings
        self._functions: list[AnnotateFn] | None = None

    @classmethod
    def load(cls, path: str, parse_embeddings: bool = False) -> LightPipeline:
        """Load a saved PipelineModel from ``path`` without Spark."""
        return cls(path, parse_embeddings=parse_embeddings)

    @property
    def input_column(self) -> str:
        """The text column the first stage reads (``DocumentAssembler``'s inputCol)."""
        first = self.stages[0]
        return first.getOrDefault("inputCol") if first.hasParam("inputCol") else "text"

    def _fns(self) -> list[AnnotateFn]:
        if self._functions is None:  # built once: stages with weights load them here
            self._functions = [stage._annotator() for stage in self.stages]
        return self._functions

    def _run(self, texts: Sequence[str]) -> list[dict[str, list[Annotation]]]:
        rows: list[dict[str, list[Annotation]]] = []
        for start in range(0, len(texts), CHUNK_ROWS):
            chunk = list(texts[start : start + CHUNK_ROWS])
            columns: dict[str, list[Any]] = {self.input_column: chunk}
            outputs: list[str] = []
            for stage, fn in zip(self.stages, self._fns(), strict=True):
                needed = stage._input_columns()
                missing = [c for c in needed if c not in columns]
                if missing:
                    raise ValueError(
                        f"LightPipeline: {type(stage).__name__} reads {missing}, which no earlier stage "
                        f"makes (available: {sorted(columns)})"
                    )
                out = stage.getOutputCol()
                columns[out] = fn([columns[c] for c in needed])
                outputs.append(out)
            rows.extend({out: columns[out][i] for out in outputs} for i in range(len(chunk)))
        return rows

    def fullAnnotate(self, target: str | Sequence[str]) -> list[dict[str, list[Annotation]]]:
        """Annotations per output column, one dict per text (a single text gives a one-item list)."""
        texts = [target] if isinstance(target, str) else list(target)
        _check_texts(texts)
        rows = self._run(texts)
        if not self.parse_embeddings:
            for row in rows:
                for anns in row.values():
                    for a in anns:
                        a.embeddings = []
        return rows

    def annotate(self, target: str | Sequence[str]) -> dict[str, list[str]] | list[dict[str, list[str]]]:
        """Results (strings) per output column: a dict for one text, a list of dicts for a list."""
        rows = self.fullAnnotate(target)
        simple = [{col: [a.result for a in anns] for col, anns in row.items()} for row in rows]
        return simple[0] if isinstance(target, str) else simple

    def transform(self, dataframe: Any) -> Any:
        """Spark transform with the underlying PipelineModel (Spark NLP's LightPipeline offers it too)."""
        return self.pipeline_model.transform(dataframe)


def flatten_stages(stages: list[Any]) -> list[Any]:
    """Stages in order, with nested PipelineModels' stages spliced in."""
    out: list[Any] = []
    for stage in stages:
        inner = getattr(stage, "stages", None)
        out.extend(flatten_stages(list(inner)) if isinstance(inner, list) else [stage])
    return out


def _check_texts(texts: list[Any]) -> None:
    for i, text in enumerate(texts):
        if not isinstance(text, str):
            raise TypeError(f"LightPipeline: item {i} is {type(text).__name__}, not str; pass text strings")

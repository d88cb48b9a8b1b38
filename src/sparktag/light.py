"""LightPipeline: run a fitted pipeline on Python strings in-process, with no Spark job and no JVM.

It calls the very functions the Spark stages map over Arrow batches (``stage._annotator()``), so a parity
test can compare the two paths annotation for annotation. A pipeline saved with
``write().overwrite().save(path)`` loads here with pyarrow and json alone: ``LightPipeline.load(path)``.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any

from sparktag.annotation import Annotation
from sparktag.spark.stage import AnnotateFn, AnnotatorStage

# texts per call of a stage function: enough for length-sorted batches, memory still bounded
CHUNK_ROWS = 1024


class LightPipeline:
    """In-process annotation with a fitted pipeline.

    Args:
        pipelineModel: a fitted ``PipelineModel``, a list of fitted stages, or the path of a saved PipelineModel.
        parse_embeddings: keep embedding vectors in :meth:`fullAnnotate`'s annotations, and give them (values
            joined by spaces) as :meth:`annotate`'s results of embedding columns; as in Spark NLP, they are
            dropped otherwise to keep results small.

    A ``Finisher`` stage keeps only its input columns in the results (as Spark NLP's LightPipeline does);
    :meth:`finish` gives the values the Finisher / EmbeddingsFinisher columns hold after a Spark ``transform``.
    Any other stage that is not a sparktag annotator raises a TypeError unless ``setIgnoreUnsupported(True)``,
    which skips it with a warning.

    Example:
        >>> light = LightPipeline(pipeline_model)  # doctest: +SKIP
        >>> light.annotate("Maria works in Lisbon.")["token"]  # doctest: +SKIP
        ['Maria', 'works', 'in', 'Lisbon', '.']
    """

    def __init__(self, pipelineModel: Any, parse_embeddings: bool = False) -> None:
        if isinstance(pipelineModel, str):
            from sparktag.spark.persistence import load_stage_local

            pipelineModel = load_stage_local(pipelineModel)
        self.pipeline_model = pipelineModel
        self.all_stages: list[Any] = flatten_stages(list(getattr(pipelineModel, "stages", pipelineModel)))
        #: the sparktag annotators, in order (what runs; finishers and skipped stages are not in it)
        self.stages: list[AnnotatorStage] = [s for s in self.all_stages if isinstance(s, AnnotatorStage)]
        if not self.stages:
            raise ValueError("LightPipeline: the pipeline has no sparktag annotator stages")
        self.parse_embeddings = parse_embeddings
        self._ignore_unsupported = False
        self._warned_skips = False
        self._functions: list[AnnotateFn] | None = None

    @classmethod
    def load(cls, path: str, parse_embeddings: bool = False) -> LightPipeline:
        """Load a saved PipelineModel from ``path`` without Spark."""
        return cls(path, parse_embeddings=parse_embeddings)

    def setIgnoreUnsupported(self, value: bool) -> LightPipeline:
        """Skip stages LightPipeline cannot run (any stage that is not a sparktag annotator or finisher), with a
        warning, instead of raising a TypeError (Spark NLP's ``setIgnoreUnsupported``)."""
        self._ignore_unsupported = bool(value)
        return self

    def getIgnoreUnsupported(self) -> bool:
        """Whether unsupported stages are skipped (see :meth:`setIgnoreUnsupported`)."""
        return self._ignore_unsupported

    @property
    def input_column(self) -> str:
        """The text column the first stage reads (``DocumentAssembler``'s inputCol)."""
        first = self.stages[0]
        return first.getOrDefault("inputCol") if first.hasParam("inputCol") else "text"

    def _fns(self) -> list[AnnotateFn]:
        if self._functions is None:  # built once: stages with weights load them here
            self._functions = [stage._annotator() for stage in self.stages]
        return self._functions

    def _plan(self) -> list[Any]:
        """The stages to run in order: annotators (with their function), finishers; others skipped or refused."""
        from sparktag.spark.finisher import EmbeddingsFinisher, Finisher

        functions = dict(zip((id(s) for s in self.stages), self._fns(), strict=True))
        plan: list[Any] = []
        skipped = []
        for i, stage in enumerate(self.all_stages):
            if id(stage) in functions:
                plan.append((stage, functions[id(stage)]))
            elif isinstance(stage, (Finisher, EmbeddingsFinisher)):
                plan.append((stage, None))
            elif self._ignore_unsupported:
                skipped.append(f"{i} ({type(stage).__name__})")
            else:
                raise TypeError(
                    f"LightPipeline: stage {i} ({type(stage).__name__}) is not a sparktag annotator; "
                    "LightPipeline runs sparktag stages only: call setIgnoreUnsupported(True) to skip it, or run "
                    "the pipeline with pipeline.transform"
                )
        if skipped and not self._warned_skips:
            self._warned_skips = True
            warnings.warn(
                f"LightPipeline skips the stages it cannot run: {', '.join(skipped)} (setIgnoreUnsupported(True))",
                UserWarning,
                stacklevel=4,
            )
        return plan

    def _run(self, texts: Sequence[str]) -> tuple[list[dict[str, list[Annotation]]], list[dict[str, Any]]]:
        """Annotations per output column, and finished values per finisher output column, for each text."""
        rows: list[dict[str, list[Annotation]]] = []
        finished_rows: list[dict[str, Any]] = []
        plan = self._plan()
        for start in range(0, len(texts), CHUNK_ROWS):
            chunk = list(texts[start : start + CHUNK_ROWS])
            columns: dict[str, list[Any]] = {self.input_column: chunk}
            outputs: list[str] = []
            finished: list[dict[str, Any]] = [{} for _ in chunk]
            for stage, fn in plan:
                needed = stage.getInputCols() if fn is None else stage._input_columns()
                missing = [c for c in needed if c not in columns]
                if missing:
                    raise ValueError(
                        f"LightPipeline: {type(stage).__name__} reads {missing}, which no earlier stage "
                        f"makes (available: {sorted(columns)})"
                    )
                if fn is None:  # a finisher: its values, and (Finisher) only its inputs stay in the results
                    for i, values in enumerate(finished):
                        values.update(stage.finish_row({c: columns[c][i] for c in needed}))
                    if not stage.hasParam("outputAsVector"):
                        outputs = [o for o in outputs if o in needed]
                    continue
                out = stage.getOutputCol()
                columns[out] = fn([columns[c] for c in needed])
                outputs = [o for o in outputs if o != out] + [out]
            rows.extend({out: columns[out][i] for out in outputs} for i in range(len(chunk)))
            finished_rows.extend(finished)
        return rows, finished_rows

    def fullAnnotate(
        self, target: str | Sequence[str], optional_target: str | Sequence[str] = ""
    ) -> list[dict[str, list[Annotation]]]:
        """Annotations per output column, one dict per text (a single text gives a one-item list).

        Args:
            target: a text or a list of texts.
            optional_target: Spark NLP's second input of question-answering pipelines; sparktag has no such
                stages, so it must stay empty.
        """
        texts = _texts(target, optional_target, "fullAnnotate")
        rows, _ = self._run(texts)
        if not self.parse_embeddings:
            for row in rows:
                for anns in row.values():
                    for a in anns:
                        a.embeddings = []
        return rows

    def annotate(
        self, target: str | Sequence[str], optional_target: str | Sequence[str] = ""
    ) -> dict[str, list[str]] | list[dict[str, list[str]]]:
        """Results (strings) per output column: a dict for one text, a list of dicts for a list.

        With ``parse_embeddings``, an embedding annotation's result is its vector, values joined by spaces, as
        in Spark NLP.
        """
        texts = _texts(target, optional_target, "annotate")
        rows, _ = self._run(texts)
        simple = [{col: [self._result(a) for a in anns] for col, anns in row.items()} for row in rows]
        return simple[0] if isinstance(target, str) else simple

    def _result(self, a: Annotation) -> str:
        from sparktag.core.finishing import annotation_result

        return annotation_result(a, " ", self.parse_embeddings)

    def finish(self, target: str | Sequence[str]) -> dict[str, Any] | list[dict[str, Any]]:
        """The columns the pipeline's Finisher / EmbeddingsFinisher stages write, with the values Spark gives.

        sparktag only (Spark NLP's LightPipeline leaves finishers out): a dict per text (a single text gives a
        dict), output column -> value, e.g. ``{"finished_ner": ["B-PER", "O"]}``; vectors as
        ``pyspark.ml.linalg.DenseVector`` with ``outputAsVector``.

        Raises:
            ValueError: the pipeline has no finisher.
        """
        from sparktag.spark.finisher import EmbeddingsFinisher, Finisher

        finishers = [s for s in self.all_stages if isinstance(s, (Finisher, EmbeddingsFinisher))]
        if not finishers:
            raise ValueError("LightPipeline.finish: the pipeline has no Finisher or EmbeddingsFinisher stage")
        texts = _texts(target, "", "finish")
        _, finished = self._run(texts)
        vector_cols = [
            col
            for s in finishers
            if isinstance(s, EmbeddingsFinisher) and s.getOutputAsVector()
            for col in s.getOutputCols()
        ]
        if vector_cols:
            from pyspark.ml.linalg import DenseVector

            for row in finished:
                for col in vector_cols:
                    row[col] = [DenseVector(v) for v in row[col]]
        return finished[0] if isinstance(target, str) else finished

    def fullAnnotateImage(self, path_to_image: str | Sequence[str], text: Any = None) -> Any:
        """Spark NLP annotates images with it; sparktag has no image stages, so it raises."""
        raise NotImplementedError(
            "LightPipeline.fullAnnotateImage: sparktag annotates text only (no ImageAssembler or vision "
            "models); pass texts to fullAnnotate(...) or annotate(...)"
        )

    def transform(self, dataframe: Any) -> Any:
        """Spark transform with the underlying PipelineModel (Spark NLP's LightPipeline offers it too)."""
        return self.pipeline_model.transform(dataframe)


def _texts(target: Any, optional_target: Any, method: str) -> list[str]:
    """The texts to annotate, after Spark NLP's argument checks, in sparktag's terms."""
    if isinstance(optional_target, str) and optional_target == "":
        pass
    elif optional_target is not None and len(optional_target) > 0:
        raise ValueError(
            f"LightPipeline.{method}: optional_target is the second input of Spark NLP's question-answering "
            "pipelines (MultiDocumentAssembler); sparktag has no such stages: pass texts as target only"
        )
    if isinstance(target, str):
        return [target]
    if not isinstance(target, (list, tuple)):
        raise TypeError(
            f"LightPipeline.{method}: target must be a str or a list of str; got {type(target).__name__}"
        )
    texts = list(target)
    first = texts[0] if texts else None
    if isinstance(first, float) or (isinstance(first, list) and first and isinstance(first[0], float)):
        raise TypeError(
            f"LightPipeline.{method}: target looks like audio samples (floats); sparktag annotates text only"
        )
    _check_texts(texts)
    return texts


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

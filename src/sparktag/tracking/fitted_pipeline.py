"""A fitted pipeline as the flavor sees it: its stages, whether it runs on text, where its entities come from.

:func:`~sparktag.tracking.flavor.save_model` saves only fitted stages, adds the ``python_function`` flavor
only when :func:`runs_on_text` says LightPipeline can run the stages from raw text, and records
:func:`entity_source` in the MLmodel for :class:`~sparktag.tracking.pyfunc_model.SparktagModel`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sparktag.tracking.signature import INPUT_COLUMN


def fitted_stages(pipeline_model: Any) -> list[Any]:
    """The fitted stages of ``pipeline_model`` (a PipelineModel, a list of stages or one), flattened."""
    from pyspark.ml import Estimator, Pipeline, Transformer

    if isinstance(pipeline_model, (Pipeline, Estimator)):
        raise TypeError(
            f"{type(pipeline_model).__name__} is not fitted: save the model fit() returns "
            "(pipeline.fit(df)), not the estimator"
        )
    if isinstance(pipeline_model, (list, tuple)):
        stages = list(pipeline_model)
    elif isinstance(getattr(pipeline_model, "stages", None), list):
        stages = list(pipeline_model.stages)
    else:
        stages = [pipeline_model]
    from sparktag.light import flatten_stages

    flat = flatten_stages(stages)
    if not flat:
        raise ValueError("the pipeline has no stages: nothing to save")
    for i, stage in enumerate(flat):
        if isinstance(stage, Estimator) or not isinstance(stage, Transformer):
            raise TypeError(
                f"stage {i} ({type(stage).__name__}) is not a fitted Transformer; fit the pipeline first"
            )
    return flat


def is_pipeline_model(value: Any) -> bool:
    """Whether ``value`` is a Spark ``PipelineModel`` (whose uid the saved pipeline keeps)."""
    from pyspark.ml import PipelineModel

    return isinstance(value, PipelineModel)


def runs_on_text(stages: list[Any]) -> tuple[bool, str]:
    """Whether LightPipeline can run ``stages`` from raw text, and if not, why."""
    from sparktag.spark.stage import AnnotatorStage

    for i, stage in enumerate(stages):
        if not isinstance(stage, AnnotatorStage):
            return False, f"stage {i} ({type(stage).__name__}) is not a sparktag stage"
    first = stages[0]
    available = {first.getOrDefault("inputCol") if first.hasParam("inputCol") else INPUT_COLUMN}
    for stage in stages:
        missing = [c for c in stage._input_columns() if c not in available]
        if missing:
            return False, (
                f"{type(stage).__name__} reads {missing}, which no earlier stage makes from text; "
                "save the whole pipeline (DocumentAssembler ... NerDLModel) to serve it"
            )
        available.add(stage.getOutputCol())
    if entity_source(stages) is None:
        return False, "no stage makes named_entity or chunk annotations"
    return True, ""


def entity_source(stages: Sequence[Any]) -> dict[str, Any] | None:
    """Where the entities come from: the last chunk column, else the last named_entity column's tags."""
    for stage in reversed(stages):
        if getattr(stage, "outputAnnotatorType", "") == "chunk":
            return {"kind": "chunk", "column": stage.getOutputCol()}
    for stage in reversed(stages):
        if getattr(stage, "outputAnnotatorType", "") == "named_entity" and stage.hasParam("inputCols"):
            sentence, token = stage.getInputCols()[:2]
            return {"kind": "named_entity", "columns": [sentence, token, stage.getOutputCol()]}
    return None

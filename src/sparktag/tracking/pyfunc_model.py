"""The pyfunc model: texts in, their entities out, all in-process through LightPipeline (no JVM).

:class:`SparktagModel` is what ``mlflow.pyfunc.load_model`` returns for a sparktag model (through the flavor's
``_load_pyfunc``), what ``mlflow models serve`` answers requests with and what ``mlflow.pyfunc.spark_udf`` runs
in Spark's Python workers. Two environment variables tune it: :data:`THREADS_ENV` (torch threads per request,
default 1) and :data:`PRECISION_ENV` (``bfloat16`` matrix products, opt-in).
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from sparktag.tracking.fitted_pipeline import entity_source
from sparktag.tracking.signature import (
    DEFAULT_INPUT_EXAMPLE,
    DEFAULT_OUTPUT,
    ENTITY_FIELDS,
    FLAT_COLUMNS,
    INPUT_COLUMN,
    OUTPUT_COLUMNS,
    OUTPUT_LAYOUTS,
    OUTPUT_PARAM,
)

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

    from sparktag.light import LightPipeline

#: torch intra-op threads while the pyfunc predicts; one thread gives the lowest latency for the small
#: batches a server sees (7 ms vs 200 ms p50 measured on a busy 2-core box); "0" leaves torch as it is.
THREADS_ENV = "SPARKTAG_TORCH_THREADS"
#: when set, the precision of every BertEmbeddings stage while the pyfunc serves: "float32" or "bfloat16"
#: (opt-in, BERT models: about a quarter less CPU per request on CPUs with native bfloat16). Unset keeps the
#: saved stage's own setting (float32 unless set otherwise).
PRECISION_ENV = "SPARKTAG_ENCODER_PRECISION"


class SparktagModel:
    """The pyfunc model: texts in, their entities out, all in-process through LightPipeline (no JVM).

    ``predict`` accepts a pandas DataFrame with a ``text`` column, a list of strings, or one string. By
    default (inference param ``output="nested"``) it returns one row per input text, in input order, with
    one column, ``entities``: a list of ``{"chunk", "entity", "begin", "end", "confidence"}`` dicts, where
    ``chunk`` is the entity's text, ``entity`` its type, ``begin``/``end`` inclusive character offsets into
    that text and ``confidence`` None when the tagger gave none. A text without entities gets an empty list.
    This is the shape ``mlflow.pyfunc.spark_udf`` (a struct column per row), ``mlflow.models.evaluate`` and
    batch scoring assume: the n-th prediction belongs to the n-th input.

    With ``params={"output": "flat"}`` it returns the flat entity table instead, one row per entity, the
    columns of :data:`FLAT_COLUMNS`: ``text_index`` (the input row) then the same five fields
    (``confidence`` NaN when missing). It suits a REST client that wants a table
    (``{"inputs": [...], "params": {"output": "flat"}}``), not a Spark UDF, which must return one row per
    input row: inside a Spark task ``"flat"`` is refused with an error saying so.

    Example:
        >>> model = mlflow.pyfunc.load_model("models:/ner@champion")  # doctest: +SKIP
        >>> model.predict(["Maria Lopez lives in Lisbon."])["entities"][0]  # doctest: +SKIP
        [{'chunk': 'Maria Lopez', 'entity': 'PER', 'begin': 0, 'end': 10, 'confidence': 0.98}, ...]
        >>> model.predict(["Maria Lopez lives in Lisbon."], params={"output": "flat"})  # doctest: +SKIP
    """

    def __init__(self, light: LightPipeline, entities: dict[str, Any] | None = None) -> None:
        self.light = light
        self.entities = entities or entity_source(light.stages)
        self.threads = _threads_setting()

    @classmethod
    def load(cls, pipeline_dir: str, entities: dict[str, Any] | None = None) -> SparktagModel:
        """The model of a saved pipeline folder, warmed up: its first request is not the slow one.

        Args:
            pipeline_dir: the model's ``pipeline`` folder.
            entities: where the entities come from (the MLmodel's ``entities``); None: found from the stages.
        """
        from sparktag.light import LightPipeline

        # Loading copies weights and warming up runs the model: under the same thread limit as requests, since
        # torch's default pool (one thread per core) spins against a busy machine for seconds of a cold start.
        from sparktag.ner.threads import torch_threads

        with torch_threads(_threads_setting()):
            light = LightPipeline.load(pipeline_dir)
            _set_precision(light.stages, os.environ.get(PRECISION_ENV))
            model = cls(light, entities)
            model.warm_up()
        return model

    def get_raw_model(self) -> LightPipeline:
        return self.light

    def warm_up(self) -> None:
        """Load every stage's weights now (they load lazily), so the first request is not the slow one."""
        self.predict(DEFAULT_INPUT_EXAMPLE)

    def predict(self, model_input: Any, params: dict[str, Any] | None = None) -> pd.DataFrame:
        """Tag the texts of ``model_input``.

        Args:
            model_input: a DataFrame with a ``text`` column, a list of strings, or one string.
            params: ``{"output": "nested"}`` (default: one row per text, an ``entities`` list each) or
                ``{"output": "flat"}`` (one row per entity).

        Returns:
            A DataFrame: the :data:`OUTPUT_COLUMNS` (nested) or the :data:`FLAT_COLUMNS` (flat).

        Raises:
            MlflowException: bad input or params (a server answers 400 with the message).
        """
        from mlflow.exceptions import MlflowException

        try:
            output = self._output_layout(params)
            texts = _texts(model_input)
        except (TypeError, ValueError) as err:
            # an MlflowException reaches a server's client as a 400 with this message (others become 500s)
            raise MlflowException.invalid_parameter_value(str(err)) from err
        found = [self._chunks(row) for row in self._annotate(texts)] if texts else []
        return self._flat(found) if output == "flat" else self._nested(found)

    @staticmethod
    def _output_layout(params: dict[str, Any] | None) -> str:
        output = (params or {}).get(OUTPUT_PARAM, DEFAULT_OUTPUT)
        if output not in OUTPUT_LAYOUTS:
            raise ValueError(
                f"params {{{OUTPUT_PARAM!r}: {output!r}}} is not an output layout; use "
                f'"nested" (one row per text with its entities, the default) or "flat" (one row per entity)'
            )
        if output == "flat":
            from pyspark import TaskContext

            if TaskContext.get() is not None:
                # a Spark UDF must give one row per input row: more rows fail in Spark with an Arrow error
                raise ValueError(
                    f'params {{{OUTPUT_PARAM!r}: "flat"}} gives one row per entity, but inside Spark '
                    "(mlflow.pyfunc.spark_udf) each input row needs exactly one output row: drop the "
                    "params, and explode the entities column (F.explode('prediction.entities'))"
                )
        return output

    @staticmethod
    def _nested(found: list[list[Any]]) -> pd.DataFrame:
        import pandas as pd

        rows = []
        for chunks in found:
            entities = []
            for chunk in chunks:
                values = _entity_row(chunk)
                entity = dict(zip(ENTITY_FIELDS, values, strict=True))
                if math.isnan(values[-1]):
                    entity["confidence"] = None  # null in JSON and in Spark; NaN is not valid JSON
                entities.append(entity)
            rows.append(entities)
        # object dtype even for no rows (an empty list would make a float64 column)
        return pd.DataFrame({OUTPUT_COLUMNS[0]: pd.Series(rows, dtype=object)})

    @staticmethod
    def _flat(found: list[list[Any]]) -> pd.DataFrame:
        import numpy as np
        import pandas as pd

        rows = [(i, *_entity_row(chunk)) for i, chunks in enumerate(found) for chunk in chunks]
        # typed columns built directly: DataFrame(rows).astype({...}) took milliseconds of every request
        columns = list(zip(*rows, strict=True)) if rows else [() for _ in FLAT_COLUMNS]
        dtypes = (np.int64, object, object, np.int64, np.int64, np.float64)
        return pd.DataFrame(
            {
                name: np.asarray(values, dtype=dtype)
                for name, values, dtype in zip(FLAT_COLUMNS, columns, dtypes, strict=True)
            }
        )

    def _annotate(self, texts: list[str]) -> list[dict[str, Any]]:
        from sparktag.ner.threads import torch_threads

        with torch_threads(self.threads):
            return self.light.fullAnnotate(texts)

    def _chunks(self, row: dict[str, Any]) -> list[Any]:
        source = self.entities
        if source is None:
            raise ValueError(
                "this pipeline makes no named_entity or chunk column; add NerDLModel (and NerConverter) stages"
            )
        if source["kind"] == "chunk":
            return row[source["column"]]
        from sparktag.core.ner_converter import ner_converter

        sentences, tokens, ner = (row[c] for c in source["columns"])
        return ner_converter(sentences, tokens, ner)


def _threads_setting() -> int:
    """Torch threads per request from :data:`THREADS_ENV` (default 1; 0 leaves torch as it is)."""
    return int(os.environ.get(THREADS_ENV, "1") or 0)


def _entity_row(chunk: Any) -> tuple[str, str, int, int, float]:
    confidence = chunk.metadata.get("confidence")
    try:
        value = float(confidence) if confidence is not None else math.nan
    except ValueError:
        value = math.nan
    return chunk.result, chunk.metadata.get("entity", ""), int(chunk.begin), int(chunk.end), value


def _texts(model_input: Any) -> list[str]:
    """The pyfunc's input as a list of texts, with errors that say what to send instead."""
    import numpy as np
    import pandas as pd

    if isinstance(model_input, str):
        return [model_input]
    if isinstance(model_input, pd.Series):
        model_input = model_input.to_frame(name=model_input.name or INPUT_COLUMN)
    if isinstance(model_input, dict):
        model_input = pd.DataFrame(model_input)
    if isinstance(model_input, pd.DataFrame):
        values = _column_texts(model_input)
    elif isinstance(model_input, (list, tuple, np.ndarray)):
        values = list(model_input)
    else:
        raise TypeError(
            f"cannot predict on {type(model_input).__name__}: pass a DataFrame with a {INPUT_COLUMN!r} "
            "column, a list of strings or a string"
        )
    return [_text(i, value) for i, value in enumerate(values)]


def _column_texts(frame: Any) -> list[Any]:
    """The ``text`` column of a DataFrame (or its one unnamed column)."""
    if INPUT_COLUMN in frame.columns:
        return list(frame[INPUT_COLUMN])
    if len(frame.columns) == 1 and frame.columns[0] == 0:
        return list(frame[0])  # an unnamed single column: a list of strings
    raise ValueError(
        f"the input has no {INPUT_COLUMN!r} column (columns: {[str(c) for c in frame.columns]}); "
        f'send {{"dataframe_records": [{{"{INPUT_COLUMN}": "..."}}]}} or {{"inputs": ["..."]}}'
    )


def _text(i: int, value: Any) -> str:
    """Row ``i``'s text, or an error saying every row must be one."""
    import numpy as np

    if isinstance(value, np.ndarray) and value.ndim == 0:
        # the scoring server hands each value of {"inputs": [{"text": "..."}]} over as a 0-d array
        value = value.item()
    if not isinstance(value, str):
        raise TypeError(
            f"row {i} of {INPUT_COLUMN!r} is {type(value).__name__} ({value!r:.40}), not a string; "
            f'every row must be one text, e.g. {{"inputs": ["first text", "second text"]}}'
        )
    return value


# -- the pipeline folder ------------------------------------------------------------------------------


def _set_precision(stages: Sequence[Any], precision: str | None) -> None:
    """Give every stage with a ``precision`` param (BertEmbeddings) the :data:`PRECISION_ENV` value, if set."""
    if not precision:
        return
    from sparktag.embeddings.transformer import PRECISIONS

    if precision not in PRECISIONS:
        raise ValueError(
            f"{PRECISION_ENV}={precision!r} is not a precision; use one of {', '.join(PRECISIONS)}"
        )
    for stage in stages:
        if stage.hasParam("precision"):
            stage.set(stage.getParam("precision"), precision)

"""The served model's input and output: the ``text`` column in, entities out, and the ``output`` param.

:func:`default_signature` is what :func:`~sparktag.tracking.flavor.save_model` gives a model that runs on
text, and :func:`add_signature_and_example` writes it with the input example into the MLmodel; the constants
are the contract :class:`~sparktag.tracking.pyfunc_model.SparktagModel` keeps.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:  # pragma: no cover
    from mlflow.models import Model, ModelSignature

INPUT_COLUMN = "text"
#: the inference param that picks the pyfunc's output layout, its values, and the default
OUTPUT_PARAM = "output"
OUTPUT_LAYOUTS = ("nested", "flat")
DEFAULT_OUTPUT = "nested"
#: the pyfunc's default output ("nested"): one row per input text, its entities in one array column
OUTPUT_COLUMNS = ("entities",)
#: the fields of each entity in that array, in order
ENTITY_FIELDS = ("chunk", "entity", "begin", "end", "confidence")
#: the output with ``output="flat"``: one row per entity, ``text_index`` naming its input row
FLAT_COLUMNS = ("text_index", *ENTITY_FIELDS)
DEFAULT_INPUT_EXAMPLE = ["Maria Lopez joined Northwind Bank in Lisbon."]


def default_signature() -> ModelSignature:
    """Input: one column of texts. Output: one row per text, its entities. Params: the output layout.

    The input column is left unnamed on purpose: MLflow's schema check then lets both a frame with a
    ``text`` column (``{"dataframe_records": [{"text": ...}]}``) and a bare list of strings
    (``{"inputs": [...]}``) through; a named ``text`` column would reject the list. Its type is ``Any``, not
    ``string``: with ``string`` the scoring server casts ``{"inputs": [null, 42]}`` to the texts ``"None"``
    and ``"42"`` before the model sees them, so a wrong request got entities for text nobody sent. With
    ``Any`` the values arrive as sent and :func:`_texts` rejects what is not a string (an HTTP 400).

    The output is declared as one object per row, ``{"entities": [{chunk, entity, begin, end, confidence},
    ...]}``, which is what each row of the default output is. It is an object and not a named ``entities``
    column of arrays because ``mlflow.pyfunc.spark_udf`` infers its result type from this schema: an object
    becomes ``struct<entities: array<struct<...>>>``, which MLflow 3 converts, while a lone array column
    becomes a top-level ``array<struct<...>>``, which MLflow 3's UDF cannot fill (it turns each row's
    DataFrame values into the array's elements and fails in Arrow). ``confidence`` is optional (null when
    the tagger gave none). The ``output`` param (default ``"nested"``; ``"flat"`` for one row per entity)
    is declared so the scoring server accepts ``{"inputs": [...], "params": {"output": "flat"}}``.
    """
    from mlflow.models import ModelSignature
    from mlflow.types import ColSpec, ParamSchema, ParamSpec, Schema
    from mlflow.types.schema import AnyType, Array, Object, Property

    entity = Object(
        [
            Property("chunk", "string"),
            Property("entity", "string"),
            Property("begin", "long"),
            Property("end", "long"),
            Property("confidence", "double", required=False),
        ]
    )
    return ModelSignature(
        inputs=Schema([ColSpec(AnyType())]),
        outputs=Schema([ColSpec(Object([Property(OUTPUT_COLUMNS[0], Array(entity))]))]),
        params=ParamSchema([ParamSpec(OUTPUT_PARAM, "string", DEFAULT_OUTPUT)]),
    )


def add_signature_and_example(
    mlflow_model: Model,
    path: str,
    input_example: Any,
    signature: ModelSignature | Literal[False] | None,
    runnable: bool,
) -> None:
    """Give ``mlflow_model`` its signature and save its input example into the model folder ``path``.

    Args:
        mlflow_model: the MLmodel being written.
        path: the model folder (``input_example.json`` and ``serving_input_example.json`` go there).
        input_example: the example; ``None``: a one-sentence ``text`` frame when ``runnable``; ``False``: none.
        signature: the signature; ``None``: :func:`default_signature` when ``runnable``; ``False``: none.
        runnable: whether the pipeline runs on text (a model that does not gets no default example or
            signature).
    """
    from sparktag.tracking import mlflow_private as private

    if input_example is None and runnable:
        import pandas as pd

        input_example = pd.DataFrame({INPUT_COLUMN: DEFAULT_INPUT_EXAMPLE})
    if input_example is not None and input_example is not False:
        private.save_example(mlflow_model, input_example, path)
    if signature is None and runnable:
        signature = default_signature()
    if signature:
        mlflow_model.signature = signature

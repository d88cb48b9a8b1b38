"""Shared Param mixins, declared once: doc, default, type conversion, getter and setter (pyspark.ml habit).

Spark NLP's setters take either one list or several strings (``setInputCols("a", "b")`` and
``setInputCols(["a", "b"])`` both work); the mixins here accept both.
"""

from __future__ import annotations

from typing import Any

from pyspark.ml.param import Param, Params, TypeConverters


def _cols(value: tuple[Any, ...]) -> list[str]:
    if len(value) == 1 and isinstance(value[0], (list, tuple)):
        return [str(v) for v in value[0]]
    return [str(v) for v in value]


class HasInputCols(Params):
    inputCols: Param[list[str]] = Param(
        Params._dummy(),
        "inputCols",
        "the input annotation columns",
        typeConverter=TypeConverters.toListString,
    )

    def setInputCols(self, *value: Any) -> Any:
        """Set the input annotation columns: ``setInputCols("sentence", "token")`` or a list."""
        return self._set(inputCols=_cols(value))

    def getInputCols(self) -> list[str]:
        return self.getOrDefault(self.inputCols)


class HasInputCol(Params):
    inputCol: Param[str] = Param(
        Params._dummy(), "inputCol", "the input column", typeConverter=TypeConverters.toString
    )

    def setInputCol(self, value: str) -> Any:
        return self._set(inputCol=value)

    def getInputCol(self) -> str:
        return self.getOrDefault(self.inputCol)


class HasOutputCol(Params):
    outputCol: Param[str] = Param(
        Params._dummy(), "outputCol", "the output annotation column", typeConverter=TypeConverters.toString
    )

    def setOutputCol(self, value: str) -> Any:
        return self._set(outputCol=value)

    def getOutputCol(self) -> str:
        return self.getOrDefault(self.outputCol)


class HasBatchSize(Params):
    batchSize: Param[int] = Param(
        Params._dummy(), "batchSize", "number of sentences per batch", typeConverter=TypeConverters.toInt
    )

    def setBatchSize(self, value: int) -> Any:
        return self._set(batchSize=value)

    def getBatchSize(self) -> int:
        return self.getOrDefault(self.batchSize)


class HasCaseSensitive(Params):
    caseSensitive: Param[bool] = Param(
        Params._dummy(),
        "caseSensitive",
        "whether to keep the case of words when looking them up",
        typeConverter=TypeConverters.toBoolean,
    )

    def setCaseSensitive(self, value: bool) -> Any:
        return self._set(caseSensitive=value)

    def getCaseSensitive(self) -> bool:
        return self.getOrDefault(self.caseSensitive)


class HasStorageRef(Params):
    storageRef: Param[str] = Param(
        Params._dummy(),
        "storageRef",
        "name of the embeddings a model was trained with; checked when stages are combined",
        typeConverter=TypeConverters.toString,
    )

    def setStorageRef(self, value: str) -> Any:
        return self._set(storageRef=value)

    def getStorageRef(self) -> str:
        return self.getOrDefault(self.storageRef)


class HasDimension(Params):
    dimension: Param[int] = Param(
        Params._dummy(), "dimension", "size of each embedding vector", typeConverter=TypeConverters.toInt
    )

    def setDimension(self, value: int) -> Any:
        return self._set(dimension=value)

    def getDimension(self) -> int:
        return self.getOrDefault(self.dimension)


def set_from_kwargs(stage: Params, kwargs: dict[str, Any]) -> None:
    """Apply keyword-constructor arguments, with an error naming an unknown param and the known ones."""
    for name, value in kwargs.items():
        if value is None:
            continue
        if not stage.hasParam(name):
            known = ", ".join(sorted(p.name for p in stage.params))
            raise TypeError(f"{type(stage).__name__} has no param {name!r}; its params are: {known}")
        stage._set(**{name: value})

"""Params declared once: one row of a stage's table gives the Param, its doc, type conversion, default, check,
getter, setter and (for NerDLApproach) its trainer field (the habit of pyspark's ``_shared_params_code_gen``,
done at class creation instead of by generating source).

A stage lists its own params in ``param_table``; :class:`DeclaredParams` turns each row into a ``Param``
attribute and ``set<Name>``/``get<Name>`` methods, unless the class writes that method itself (a Spark NLP
setter with more arguments, such as ``setStoragePath(path, importOptions)``). ``param_defaults`` gives a stage
its own defaults for params a base declares (``outputCol="ner"``).

Spark NLP's setters take either one list or several strings (``setInputCols("a", "b")`` and
``setInputCols(["a", "b"])`` both work); the column mixins here accept both.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import MISSING, dataclass, fields
from typing import TYPE_CHECKING, Any, ClassVar

from pyspark.ml.param import Param, Params, TypeConverters


class _Unset:
    def __repr__(self) -> str:
        return "UNSET"


#: a row's default when the param has none (Spark NLP's ``randomSeed``: unset draws a seed)
UNSET: Any = _Unset()


def _same(value: Any) -> Any:
    return value


@dataclass(frozen=True)
class ParamSpec:
    """One param of a stage.

    Args:
        name: the camelCase Spark name (``maxEpochs``); the setter and getter are ``setMaxEpochs``/``getMaxEpochs``.
        doc: what the param means, in the user's terms (shown by ``explainParams()``).
        converter: pyspark's type converter (``TypeConverters.toInt``); values are JSON-able.
        default: the default, or :data:`UNSET` for none.
        check: given the converted value, returns what is wrong with it (the whole error message) or None.
        field: the field of the stage's config dataclass it sets (``TrainConfig.max_epochs``), if any.
        to_field: turns the param's value into the field's (Spark NLP's ``0`` "never" into ``None``).
    """

    name: str
    doc: str
    converter: Callable[[Any], Any]
    default: Any = UNSET
    check: Callable[[Any], str | None] | None = None
    field: str | None = None
    to_field: Callable[[Any], Any] = _same

    @property
    def suffix(self) -> str:
        return _suffix(self.name)


class DeclaredParams(Params):
    """Params from ``param_table`` rows, with ``setParams(**kwargs)`` as pyspark.ml stages have it."""

    param_table: tuple[ParamSpec, ...] = ()
    param_defaults: ClassVar[dict[str, Any]] = {}

    if TYPE_CHECKING:  # the Params and methods made from the rows

        def __getattr__(self, name: str) -> Any: ...

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        for spec in cls.__dict__.get("param_table", ()):
            setattr(cls, spec.name, Param(Params._dummy(), spec.name, spec.doc, typeConverter=spec.converter))
            if "set" + spec.suffix not in cls.__dict__:
                setattr(cls, "set" + spec.suffix, _setter(spec))
            if "get" + spec.suffix not in cls.__dict__:
                setattr(cls, "get" + spec.suffix, _getter(spec))

    @classmethod
    def param_specs(cls) -> dict[str, ParamSpec]:
        """Every row of this stage and its bases, by name (a stage's own row wins over a base's)."""
        specs: dict[str, ParamSpec] = {}
        for klass in reversed(cls.__mro__):
            for spec in vars(klass).get("param_table", ()):
                specs[spec.name] = spec
        return specs

    def _init_params(self, kwargs: dict[str, Any]) -> None:
        """Set the rows' defaults and ``param_defaults``, then the constructor's keyword arguments."""
        defaults = {name: s.default for name, s in self.param_specs().items() if s.default is not UNSET}
        for klass in reversed(type(self).__mro__):
            defaults.update(vars(klass).get("param_defaults", {}))
        self._setDefault(**defaults)
        self.setParams(**{name: value for name, value in kwargs.items() if value is not None})

    def setParams(self, **kwargs: Any) -> Any:
        """Set several params at once, each through its setter (so its checks run):
        ``setParams(maxEpochs=5, lr=0.003)``. An unknown name is refused with the stage's param names."""
        for name, value in kwargs.items():
            if not self.hasParam(name):
                known = ", ".join(sorted(p.name for p in self.params))
                raise TypeError(f"{type(self).__name__} has no param {name!r}; its params are: {known}")
            setter = getattr(self, "set" + _suffix(name), None)
            if callable(setter):
                setter(value)
            else:
                self._set(**{name: value})
        return self

    def field_values(self) -> dict[str, Any]:
        """The defined params that have a config field, as that config's keyword arguments."""
        return {
            spec.field: spec.to_field(self.getOrDefault(name))
            for name, spec in self.param_specs().items()
            if spec.field is not None and self.isDefined(name)
        }

    def params_dict(self) -> dict[str, Any]:
        """Every param with its value (set or default), JSON-able: what a tracker logs."""
        return {p.name: self.getOrDefault(p) for p in self.params if self.isDefined(p)}


def _suffix(name: str) -> str:
    """``maxEpochs`` -> ``MaxEpochs``, as in ``setMaxEpochs``."""
    return name[0].upper() + name[1:]


def _setter(spec: ParamSpec) -> Callable[[Any, Any], Any]:
    def setter(self: Params, value: Any) -> Any:
        if spec.check is not None:
            problem = spec.check(spec.converter(value))
            if problem:
                raise ValueError(problem)
        return self._set(**{spec.name: value})

    setter.__name__ = setter.__qualname__ = "set" + spec.suffix
    setter.__doc__ = f"Set {spec.name}: {spec.doc}."
    return setter


def _getter(spec: ParamSpec) -> Callable[[Any], Any]:
    def getter(self: Params) -> Any:
        return self.getOrDefault(spec.name)

    getter.__name__ = getter.__qualname__ = "get" + spec.suffix
    getter.__doc__ = f"{spec.name}: {spec.doc}."
    return getter


def field_param(
    config: type,
    name: str,
    field: str,
    converter: Callable[[Any], Any],
    doc: str,
    *,
    none_is: Any = UNSET,
    check: Callable[[Any], str | None] | None = None,
) -> ParamSpec:
    """A row for a param that sets ``config.<field>`` (a dataclass): its default is read from the field.

    ``none_is``: the Spark value that stands for the field's ``None`` (Spark NLP writes "never" as 0 and "no
    folder" as ""); the param's default and its conversion to the field both go through it. Without it, a
    field defaulting to ``None`` makes a param with no default (unset leaves the field's ``None``).
    """
    spec = next(f for f in fields(config) if f.name == field)
    default = spec.default
    if default is MISSING and spec.default_factory is not MISSING:
        default = spec.default_factory()
    to_field: Callable[[Any], Any] = _same
    if none_is is not UNSET:
        default = none_is if default is None else default
        to_field = lambda v: None if v == none_is else v  # noqa: E731
    elif default is None:
        default = UNSET
    return ParamSpec(name, doc, converter, default, check=check, field=field, to_field=to_field)


def one_of(name: str, allowed: tuple[str, ...]) -> Callable[[Any], str | None]:
    """A check that the value is one of ``allowed``."""

    def check(value: Any) -> str | None:
        if value in allowed:
            return None
        return f"{name} must be one of {', '.join(repr(a) for a in allowed)}; got {value!r}"

    return check


def column_names(value: tuple[Any, ...]) -> list[str]:
    if len(value) == 1 and isinstance(value[0], (list, tuple)):
        return [str(v) for v in value[0]]
    return [str(v) for v in value]


class HasInputCols(DeclaredParams):
    param_table: tuple[ParamSpec, ...] = (
        ParamSpec("inputCols", "the input annotation columns", TypeConverters.toListString),
    )

    def setInputCols(self, *value: Any) -> Any:
        """Set the input annotation columns: ``setInputCols("sentence", "token")`` or a list."""
        return self._set(inputCols=column_names(value))


class HasInputCol(DeclaredParams):
    param_table: tuple[ParamSpec, ...] = (ParamSpec("inputCol", "the input column", TypeConverters.toString),)


class HasOutputCol(DeclaredParams):
    param_table: tuple[ParamSpec, ...] = (
        ParamSpec("outputCol", "the output annotation column", TypeConverters.toString),
    )


class HasBatchSize(DeclaredParams):
    param_table: tuple[ParamSpec, ...] = (
        ParamSpec("batchSize", "number of sentences per batch", TypeConverters.toInt),
    )


class HasCaseSensitive(DeclaredParams):
    param_table: tuple[ParamSpec, ...] = (
        ParamSpec(
            "caseSensitive",
            "whether to keep the case of words when looking them up",
            TypeConverters.toBoolean,
        ),
    )


class HasStorageRef(DeclaredParams):
    param_table: tuple[ParamSpec, ...] = (
        ParamSpec(
            "storageRef",
            "name of the embeddings a model was trained with; checked when stages are combined",
            TypeConverters.toString,
        ),
    )


class HasDimension(DeclaredParams):
    param_table: tuple[ParamSpec, ...] = (
        ParamSpec("dimension", "size of each embedding vector", TypeConverters.toInt),
    )

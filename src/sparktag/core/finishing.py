"""Annotations -> plain values: the logic of Spark NLP's ``Finisher`` and ``EmbeddingsFinisher``.

The Spark stages (``sparktag.spark.finisher``) map these functions over Arrow batches and
:meth:`sparktag.light.LightPipeline.finish` calls them in-process, so both paths give the same values.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sparktag.annotation import Annotation, AnnotatorType
from sparktag.core.jvm import java_float_str

EMBEDDING_TYPES = (AnnotatorType.WORD_EMBEDDINGS, AnnotatorType.SENTENCE_EMBEDDINGS)


@dataclass(frozen=True)
class FinisherConfig:
    """The Finisher's params (Spark NLP's names in brackets).

    Args:
        input_cols: annotation columns to finish (inputCols).
        output_cols: one output name per input column (outputCols, or ``finished_<col>``).
        output_as_array: a list of results per row (outputAsArray); else one string, results joined with
            ``annotation_split``.
        include_metadata: with arrays, add ``<output>_metadata``, the row's metadata merged (later annotations
            win); with strings, write each annotation as ``key->value`` pairs, metadata first, ``result`` last
            (includeMetadata).
        parse_embeddings: write an embedding annotation's vector instead of its result (parseEmbeddingsVectors).
        value_split: separates an annotation's values in string output (valueSplitSymbol).
        annotation_split: separates annotations in string output (annotationSplitSymbol).
    """

    input_cols: Sequence[str]
    output_cols: Sequence[str]
    output_as_array: bool = True
    include_metadata: bool = False
    parse_embeddings: bool = False
    value_split: str = "#"
    annotation_split: str = "@"


def annotation_result(a: Annotation, value_split: str, parse_embeddings: bool) -> str:
    """An annotation's result; with ``parse_embeddings``, an embedding annotation's vector instead, its values
    written as Java writes floats and joined with ``value_split`` (what Spark NLP's Finisher writes).

    Example:
        >>> annotation_result(Annotation("word_embeddings", 0, 4, "Maria", {}, [0.5, 1.0]), " ", True)
        '0.5 1.0'
    """
    if parse_embeddings and a.annotator_type in EMBEDDING_TYPES:
        return value_split.join(java_float_str(x) for x in a.embeddings)
    return a.result


def finish_annotations(columns: Mapping[str, Sequence[Annotation]], config: FinisherConfig) -> dict[str, Any]:
    """The finished values of one row: output column -> value (and ``<output>_metadata`` when asked).

    Example:
        >>> ner = [Annotation("named_entity", 0, 4, "B-PER", {"word": "Maria"})]
        >>> finish_annotations({"ner": ner}, FinisherConfig(["ner"], ["tags"]))
        {'tags': ['B-PER']}
    """
    value_split, parse = config.value_split, config.parse_embeddings
    out: dict[str, Any] = {}
    metadata_out: dict[str, Any] = {}
    for col, name in zip(config.input_cols, config.output_cols, strict=True):
        anns = columns.get(col) or []
        if config.output_as_array:
            out[name] = [annotation_result(a, " ", parse) for a in anns]
            if config.include_metadata:
                merged: dict[str, str] = {}
                for a in anns:
                    merged.update(a.metadata)
                metadata_out[name + "_metadata"] = merged
        elif config.include_metadata:
            parts = []
            for a in anns:
                pairs = {**a.metadata, "result": a.result}
                if parse and a.annotator_type in EMBEDDING_TYPES:
                    pairs["embeddings"] = value_split.join(java_float_str(x) for x in a.embeddings)
                parts.append(value_split.join(f"{k}->{v}" for k, v in pairs.items()))
            out[name] = config.annotation_split.join(parts)
        else:
            out[name] = config.annotation_split.join(annotation_result(a, value_split, parse) for a in anns)
    out.update(metadata_out)
    return out


def finish_embeddings(
    columns: Mapping[str, Sequence[Annotation]], input_cols: Sequence[str], output_cols: Sequence[str]
) -> dict[str, list[list[float]]]:
    """The vectors of one row by output column, as Python floats holding their float32 values (what an
    ``array<float>`` column gives back): the values of Spark NLP's ``EmbeddingsFinisher``.

    Example:
        >>> emb = [Annotation("word_embeddings", 0, 4, "Maria", {}, [0.5, 1.0])]
        >>> finish_embeddings({"embeddings": emb}, ["embeddings"], ["vectors"])
        {'vectors': [[0.5, 1.0]]}
    """
    return {
        name: [_float32_list(a.embeddings) for a in columns.get(col) or []]
        for col, name in zip(input_cols, output_cols, strict=True)
    }


def _float32_list(vector: Any) -> list[float]:
    import numpy as np

    return np.asarray(vector, dtype=np.float32).astype(np.float64).tolist()

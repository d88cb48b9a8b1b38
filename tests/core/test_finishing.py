"""Finisher and EmbeddingsFinisher values of one row, without Spark (the stages map these functions)."""

from __future__ import annotations

from sparktag.annotation import Annotation
from sparktag.core.finishing import FinisherConfig, annotation_result, finish_annotations, finish_embeddings

NER = [
    Annotation("named_entity", 0, 4, "B-PER", {"word": "Maria", "sentence": "0"}),
    Annotation("named_entity", 6, 10, "O", {"word": "lives", "sentence": "0"}),
]
EMB = [Annotation("word_embeddings", 0, 4, "Maria", {"sentence": "0"}, [0.1, -2.5e-4])]


def test_array_output_with_merged_metadata():
    config = FinisherConfig(["ner"], ["tags"], include_metadata=True)
    assert finish_annotations({"ner": NER}, config) == {
        "tags": ["B-PER", "O"],
        "tags_metadata": {"word": "lives", "sentence": "0"},
    }


def test_string_output_joins_with_the_split_symbols():
    plain = FinisherConfig(["ner"], ["tags"], output_as_array=False)
    assert finish_annotations({"ner": NER}, plain) == {"tags": "B-PER@O"}
    with_metadata = FinisherConfig(["ner"], ["tags"], output_as_array=False, include_metadata=True)
    assert finish_annotations({"ner": NER[:1]}, with_metadata) == {
        "tags": "word->Maria#sentence->0#result->B-PER"
    }
    assert finish_annotations({}, plain) == {"tags": ""}


def test_embedding_vectors_are_written_as_java_writes_floats():
    parse = FinisherConfig(["emb"], ["vectors"], output_as_array=False, parse_embeddings=True)
    assert finish_annotations({"emb": EMB}, parse) == {"vectors": "0.1#-2.5E-4"}
    assert annotation_result(EMB[0], " ", True) == "0.1 -2.5E-4"
    assert annotation_result(EMB[0], " ", False) == "Maria"


def test_embeddings_finisher_gives_float32_values():
    (vector,) = finish_embeddings({"emb": EMB}, ["emb"], ["vectors"])["vectors"]
    assert vector == [0.10000000149011612, -0.0002500000118743628]

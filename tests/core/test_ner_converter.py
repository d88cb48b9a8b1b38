"""Spark NLP's NerConverter: tags -> chunk annotations (conlleval boundaries, sentences, confidences)."""

from __future__ import annotations

import pytest

from sparktag.annotation import Annotation
from sparktag.core.jvm import float32, java_float_str
from sparktag.core.ner_converter import ner_converter


def annotate(text: str, words_tags: list[tuple[str, str]], sentence_starts: tuple[int, ...] = (0,)):
    """Tokens and ner annotations for ``text``; each word is found left to right."""
    tokens, ner = [], []
    pos = 0
    for word, tag in words_tags:
        begin = text.index(word, pos)
        end = begin + len(word) - 1
        pos = end + 1
        tokens.append(Annotation("token", begin, end, word, {"sentence": "0"}))
        meta = {"word": word, "sentence": "0"}
        if "|" in tag:
            tag, confidence = tag.split("|")
            meta["confidence"] = confidence
        ner.append(Annotation("named_entity", begin, end, tag, meta))
    bounds = list(sentence_starts) + [len(text)]
    sentences = [
        Annotation("document", b, e - 1, text[b:e], {"sentence": str(i)})
        for i, (b, e) in enumerate(zip(bounds, bounds[1:], strict=False))
    ]
    return sentences, tokens, ner


def test_ner_converter_spark_nlp_doc_example():
    # The example in NerConverter's scaladoc.
    text = "U.N. official Ekeus heads for Baghdad."
    words = [
        ("U.N", "B-ORG"),
        (".", "O"),
        ("official", "O"),
        ("Ekeus", "B-PER"),
        ("heads", "O"),
        ("for", "O"),
        ("Baghdad", "B-LOC"),
        (".", "O"),
    ]
    chunks = ner_converter(*annotate(text, words), preserve_position=False)
    assert chunks == [
        Annotation("chunk", 0, 2, "U.N", {"entity": "ORG", "sentence": "0", "chunk": "0"}),
        Annotation("chunk", 14, 18, "Ekeus", {"entity": "PER", "sentence": "0", "chunk": "1"}),
        Annotation("chunk", 30, 36, "Baghdad", {"entity": "LOC", "sentence": "0", "chunk": "2"}),
    ]


def test_ner_converter_result_is_the_sentence_text_with_preserve_position():
    text = "Mr.  John   Smith went to New York"
    words = [
        ("Mr.", "O"),
        ("John", "B-PER"),
        ("Smith", "I-PER"),
        ("went", "O"),
        ("to", "O"),
        ("New", "B-LOC"),
        ("York", "I-LOC"),
    ]
    kept = ner_converter(*annotate(text, words))
    assert [(c.begin, c.end, c.result) for c in kept] == [(5, 16, "John   Smith"), (26, 33, "New York")]
    # preservePosition=false takes the first token's text only, as Spark NLP does.
    first = ner_converter(*annotate(text, words), preserve_position=False)
    assert [(c.begin, c.end, c.result) for c in first] == [(5, 16, "John"), (26, 33, "New")]


def test_ner_converter_splits_on_type_change_and_i_after_o():
    # conlleval boundaries (Spark NLP would keep "a b" as one PER chunk): NerConverter's chunks are the ones
    # the entity-level metrics score.
    text = "a b c d e f"
    words = [("a", "I-PER"), ("b", "I-LOC"), ("c", "B-LOC"), ("d", "O"), ("e", "I-ORG"), ("f", "I-ORG")]
    chunks = ner_converter(*annotate(text, words))
    assert [(c.result, c.metadata["entity"]) for c in chunks] == [
        ("a", "PER"),
        ("b", "LOC"),
        ("c", "LOC"),
        ("e f", "ORG"),
    ]


def test_ner_converter_bioes_and_sentence_end():
    text = "a b c d. e f"
    words = [
        ("a", "S-PER"),
        ("b", "B-ORG"),
        ("c", "E-ORG"),
        ("d", "B-LOC"),
        (".", "I-LOC"),
        ("e", "I-LOC"),
        ("f", "O"),
    ]
    sentences, tokens, ner = annotate(text, words, sentence_starts=(0, 9))
    chunks = ner_converter(sentences, tokens, ner)
    # a chunk never crosses a sentence end, even when the tags continue
    assert [(c.result, c.metadata["entity"], c.metadata["sentence"]) for c in chunks] == [
        ("a", "PER", "0"),
        ("b c", "ORG", "0"),
        ("d.", "LOC", "0"),
        ("e", "LOC", "1"),
    ]


def test_ner_converter_rejects_tags_outside_any_scheme():
    with pytest.raises(ValueError, match="tag 'X' at token 1"):
        ner_converter(*annotate("a b", [("a", "B-PER"), ("b", "X")]))


def test_ner_converter_without_schema_splits_runs():
    text = "a b c d"
    words = [("a", "PER"), ("b", "PER"), ("c", "LOC"), ("d", "O")]
    chunks = ner_converter(*annotate(text, words), ner_has_no_schema=True)
    assert [(c.result, c.metadata["entity"]) for c in chunks] == [("a b", "PER"), ("c", "LOC")]


def test_ner_converter_sentences_white_list_and_confidence():
    text = "Ann met Bob. Paris is big."
    words = [
        ("Ann", "B-PER|0.5"),
        ("met", "O|0.9"),
        ("Bob", "B-PER|1.0"),
        (".", "O|0.9"),
        ("Paris", "B-LOC|0.9"),
        ("is", "O|0.9"),
        ("big", "B-MISC|0.7"),
        (".", "O|0.9"),
    ]
    sentences, tokens, ner = annotate(text, words, sentence_starts=(0, 13))
    chunks = ner_converter(sentences, tokens, ner, white_list=["PER", "LOC"])
    assert [(c.result, dict(c.metadata)) for c in chunks] == [
        ("Ann", {"entity": "PER", "sentence": "0", "chunk": "0", "confidence": "0.5"}),
        ("Bob", {"entity": "PER", "sentence": "0", "chunk": "1", "confidence": "1.0"}),
        ("Paris", {"entity": "LOC", "sentence": "1", "chunk": "2", "confidence": "0.9"}),
    ]


def test_ner_converter_confidence_is_a_float_mean():
    text = "New York City"
    words = [("New", "B-LOC|0.9"), ("York", "I-LOC|0.8"), ("City", "I-LOC|0.7")]
    (chunk,) = ner_converter(*annotate(text, words))
    # (0.9f + 0.8f + 0.7f) / 3 in Float arithmetic, printed by Float.toString.
    total = float32(float32(float32(0.9) + float32(0.8)) + float32(0.7))
    assert chunk.metadata["confidence"] == java_float_str(float32(total / 3)) == "0.8"


def test_ner_converter_no_confidence_without_scores():
    (chunk,) = ner_converter(*annotate("Ann", [("Ann", "B-PER")]))
    assert "confidence" not in chunk.metadata


def test_ner_converter_skips_sentences_without_tokens():
    text = "Hi. Ann"
    sentences = [
        Annotation("document", 0, 2, "Hi.", {}),
        Annotation("document", 4, 6, "Ann", {}),
    ]
    tokens = [Annotation("token", 4, 6, "Ann", {})]
    ner = [Annotation("named_entity", 4, 6, "B-PER", {"word": "Ann"})]
    (chunk,) = ner_converter(sentences, tokens, ner)
    assert (chunk.begin, chunk.end, chunk.result, chunk.metadata["sentence"]) == (4, 6, "Ann", "0")
    assert text[chunk.begin : chunk.end + 1] == "Ann"


def test_ner_converter_bad_offsets_say_what_to_check():
    sentences = [Annotation("document", 0, 2, "An", {})]  # the text is shorter than its span claims
    tokens = [Annotation("token", 0, 2, "Ann", {})]
    ner = [Annotation("named_entity", 0, 2, "B-PER", {})]
    with pytest.raises(ValueError, match="not within sentence 0"):
        ner_converter(sentences, tokens, ner)

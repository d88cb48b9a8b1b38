"""Chunks from IOB1/IOB2/BIOES tags (conlleval rules), converters, JVM float printing and NerConverter."""

from __future__ import annotations

import random

import pytest
from seqeval.metrics.sequence_labeling import get_entities

from sparktag.annotation import Annotation
from sparktag.core.chunks import (
    Chunk,
    chunks_to_tags,
    detect_scheme,
    float32,
    iob1_to_iob2,
    java_float_str,
    ner_converter,
    tags_to_chunks,
    to_bioes,
)


def spans(tags: list[str], scheme: str = "auto") -> list[tuple[str, int, int]]:
    return [(c.entity, c.start, c.end) for c in tags_to_chunks(tags, scheme)]


# --- tags -> chunks -------------------------------------------------------------------------------------


def test_iob2():
    tags = ["B-PER", "I-PER", "O", "B-LOC", "B-LOC", "I-LOC", "O", "B-MISC"]
    assert spans(tags) == [("PER", 0, 1), ("LOC", 3, 3), ("LOC", 4, 5), ("MISC", 7, 7)]


def test_iob1_i_starts_a_chunk_and_b_splits_same_type():
    # CoNLL-2003 original: "I-" opens a chunk; "B-" only between two adjacent chunks of one type.
    tags = ["I-ORG", "I-ORG", "B-ORG", "O", "I-PER", "I-LOC"]
    assert spans(tags, "IOB1") == [("ORG", 0, 1), ("ORG", 2, 2), ("PER", 4, 4), ("LOC", 5, 5)]


def test_malformed_iob2_reads_like_conlleval():
    # conlleval: I- after O starts a chunk; a type change starts one; B- after I- of the same type splits.
    assert spans(["O", "I-PER", "I-PER"]) == [("PER", 1, 2)]
    assert spans(["B-PER", "I-LOC", "I-LOC"]) == [("PER", 0, 0), ("LOC", 1, 2)]
    assert spans(["I-PER", "B-PER"]) == [("PER", 0, 0), ("PER", 1, 1)]
    assert spans(["B-PER", "I-PER", "O", "I-PER"]) == [("PER", 0, 1), ("PER", 3, 3)]


def test_bioes():
    tags = ["S-PER", "S-PER", "B-LOC", "I-LOC", "E-LOC", "B-LOC", "E-LOC", "O", "S-ORG"]
    assert spans(tags, "BIOES") == [
        ("PER", 0, 0),
        ("PER", 1, 1),
        ("LOC", 2, 4),
        ("LOC", 5, 6),
        ("ORG", 8, 8),
    ]


def test_types_may_contain_hyphens():
    assert spans(["B-GPE-CITY", "I-GPE-CITY"]) == [("GPE-CITY", 0, 1)]


def test_empty_and_all_o():
    assert tags_to_chunks([]) == []
    assert tags_to_chunks(["O", "O"]) == []


def test_detect_scheme():
    assert detect_scheme(["B-PER", "I-PER", "O"]) == "IOB2"
    assert detect_scheme(["I-PER", "I-PER", "O"]) == "IOB1"
    assert detect_scheme(["B-PER", "I-LOC"]) == "IOB1"
    assert detect_scheme(["S-PER", "O"]) == "BIOES"
    assert detect_scheme(["O"]) == "IOB2"


def test_bad_tags_name_token_and_scheme():
    with pytest.raises(ValueError, match=r"'E-PER' at token 1 is not valid in the IOB2 scheme"):
        tags_to_chunks(["B-PER", "E-PER"], "IOB2")
    with pytest.raises(ValueError, match=r"'PER' at token 0"):
        tags_to_chunks(["PER"])
    with pytest.raises(ValueError, match="unknown tag scheme 'BILOU'"):
        tags_to_chunks(["O"], "BILOU")


def test_chunk_is_hashable_and_ordered():
    assert {Chunk("PER", 0, 1), Chunk("PER", 0, 1)} == {Chunk("PER", 0, 1)}
    assert sorted([Chunk("PER", 2, 2), Chunk("LOC", 0, 0)])[0] == Chunk("LOC", 0, 0)


# --- converters -----------------------------------------------------------------------------------------


def test_iob1_to_iob2():
    assert iob1_to_iob2(["I-ORG", "I-ORG", "B-ORG", "O", "I-PER", "I-LOC"]) == [
        "B-ORG",
        "I-ORG",
        "B-ORG",
        "O",
        "B-PER",
        "B-LOC",
    ]


def test_to_bioes():
    assert to_bioes(["B-PER", "I-PER", "I-PER", "O", "B-LOC", "I-ORG"]) == [
        "B-PER",
        "I-PER",
        "E-PER",
        "O",
        "S-LOC",
        "S-ORG",
    ]


def test_chunks_to_tags_iob1_uses_b_only_between_same_type_neighbours():
    chunks = [Chunk("ORG", 0, 1), Chunk("ORG", 2, 2), Chunk("PER", 3, 3)]
    assert chunks_to_tags(chunks, 5, "IOB1") == ["I-ORG", "I-ORG", "B-ORG", "I-PER", "O"]


def random_tags(rng: random.Random, n: int, prefixes: str = "BI", types: str = "ABC") -> list[str]:
    return ["O" if rng.random() < 0.35 else f"{rng.choice(prefixes)}-{rng.choice(types)}" for _ in range(n)]


@pytest.mark.parametrize("scheme", ["IOB1", "IOB2", "BIOES"])
def test_chunks_survive_every_scheme(scheme):
    rng = random.Random(7)
    for _ in range(500):
        tags = random_tags(rng, rng.randint(0, 12))
        chunks = tags_to_chunks(tags)
        written = chunks_to_tags(chunks, len(tags), scheme)
        assert tags_to_chunks(written, scheme) == chunks
        assert detect_scheme(written) in ({"IOB1", "IOB2"} if scheme != "BIOES" else {"BIOES", "IOB2"})


def test_agrees_with_seqeval_default_mode_on_iob():
    # seqeval's default (conlleval-compatible) chunker, on well- and ill-formed IOB tags.
    rng = random.Random(11)
    for _ in range(2000):
        tags = random_tags(rng, rng.randint(1, 15))
        assert spans(tags) == get_entities(tags)


# --- JVM float printing ---------------------------------------------------------------------------------

# Outputs of java.lang.Float.toString on OpenJDK 17 for these values (rounded to float first).
JAVA_FLOAT_STRINGS = [
    (0.003, "0.003"),
    (0.0001, "1.0E-4"),
    (0.002985074626865672, "0.0029850747"),
    (0.001, "0.001"),
    (0.00099999, "9.9999E-4"),
    (1 / 3, "0.33333334"),
    (2 / 3, "0.6666667"),
    (0.1, "0.1"),
    (0.95658916, "0.95658916"),
    (1234.5678, "1234.5677"),
    (37.58828, "37.58828"),
    (9999999.0, "9999999.0"),
    (10000000.0, "1.0E7"),
    (123456.789, "123456.79"),
    (3.4028235e38, "3.4028235E38"),
    (0.0, "0.0"),
    (100.0, "100.0"),
    (10.000000149, "10.0"),
    (15.000000596, "15.000001"),
    (1e-10, "1.0E-10"),
    (0.5, "0.5"),
    (2.0, "2.0"),
]


@pytest.mark.parametrize(("value", "expected"), JAVA_FLOAT_STRINGS)
def test_java_float_str(value, expected):
    assert java_float_str(value) == expected


def test_java_float_str_special_values():
    assert java_float_str(float("nan")) == "NaN"
    assert java_float_str(float("inf")) == "Infinity"
    assert java_float_str(-0.5) == "-0.5"
    assert float32(0.1) == 0.10000000149011612


# --- NerConverter ---------------------------------------------------------------------------------------


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

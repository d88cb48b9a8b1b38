"""Hostile input, fuzzed: the text stages, NerConverter, the CoNLL reader and LightPipeline on arbitrary input.

Every stage either gives a correct result (offsets inside the text, ``begin <= end + 1``, annotations in order,
``result == text[begin:end + 1]`` where the stage promises it) or raises a ValueError that names the place; it
never crashes with an unexplained exception, and it never takes more than linear time on a long text.

``st.text()`` draws any code point but surrogates, control chars included. A Python str may also hold lone
surrogates (JSON ``"\\ud800"``, bytes read with ``errors="surrogateescape"``), so the LightPipeline properties
draw those too; a Spark string cannot carry them, so the Spark parity property does not.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Sequence
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from sparktag.annotation import Annotation, AnnotatorType, from_rows
from sparktag.annotator import BertEmbeddings, NerConverter, SentenceDetector, TokenizerModel
from sparktag.base import DocumentAssembler, LightPipeline
from sparktag.core.chunks import tags_to_chunks
from sparktag.core.conll import ConllFormatError, read_conll_documents
from sparktag.core.conll_rows import document_rows
from sparktag.core.documents import CLEANUP_MODES, assemble_document
from sparktag.core.jvm import java_trim
from sparktag.core.ner_converter import _sentence_words, ner_converter
from sparktag.core.sentence_rules import _protect, _SingleQuoted
from sparktag.core.sentences import SentenceDetectorConfig, detect_sentences
from sparktag.core.tokens import TokenizerConfig, tokenize
from sparktag.spark.stage import AnnotateFn, AnnotatorModel
from sparktag.training import CoNLL

PURE = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
SLOW = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# -- strategies --------------------------------------------------------------------------------------------
# Chars the rules treat specially: whitespace Java's trim strips or keeps, NUL and other controls, the sentence
# detector's own placeholder symbols (U+E000-U+E00C) and Spark NLP's tokenizer markers (ↈ ↇ), punctuation that
# ends or protects a sentence, chars outside the BMP.
SPECIAL = list(
    " \t\n\r\x0b\x0c\x00\x1f\x7f\x85\xa0\u2028\u3000\ufeff.!?;:,()[]\"'-°…/\\|$"
    "\ue000\ue001\ue002\ue003\ue004\ue00c\ue00dↈↇ😀東"
)
# Pieces the rules look for: abbreviations, numbers, list markers, ellipses, quotes.
PIECES = [
    "Mr.", "U.S.", "e.g.", "p.m.", "3.14", "1. ", " 2.)", "(a)", "...", "....", " 's ", "'quoted' ",
    '"Hi!" ', "no. 1", "Dr. Smith", "Maria", "Lisbon", "\n\n", "?!", "Co. KG", "a.b", " I ", "58°. 3",
]  # fmt: skip
HOSTILE_CHAR = st.sampled_from(SPECIAL) | st.characters(codec="ascii")
LONE_SURROGATE = st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF)

any_text = st.one_of(
    st.text(max_size=300),
    st.text(HOSTILE_CHAR, max_size=120),
    st.lists(st.sampled_from(PIECES) | HOSTILE_CHAR, max_size=40).map("".join),
)
python_text = any_text | st.text(LONE_SURROGATE | HOSTILE_CHAR | st.characters(), max_size=60)
# long documents and long tokens, cheap to draw: a short unit repeated
long_text = st.builds(
    lambda unit, n: unit * n,
    st.text(HOSTILE_CHAR, min_size=1, max_size=4) | st.sampled_from(PIECES),
    st.integers(500, 5000),
)

sentence_configs = st.builds(
    SentenceDetectorConfig,
    use_abbreviations=st.booleans(),
    detect_lists=st.booleans(),
    custom_bounds=st.lists(
        st.sampled_from(["\n\n", "\n", ";", r"\.", "--", "x*", "(?=a)", "$", "ↇ"]), max_size=2
    ),
    use_custom_bounds_only=st.booleans(),
    custom_bounds_strategy=st.sampled_from(["none", "prepend", "append"]),
    split_length=st.none() | st.integers(1, 30),
    min_length=st.integers(0, 3),
    max_length=st.integers(3, 200),
)
tokenizer_configs = st.builds(
    TokenizerConfig,
    target_pattern=st.sampled_from([r"\S+", r"\w+", r"\d+"]),
    context_chars=st.lists(st.sampled_from(list(".,;:!?*-()\"'aↇ\\]^")), max_size=6, unique=True),
    split_chars=st.lists(st.sampled_from(["-", "'", "\\.", "a"]), max_size=2),
    split_pattern=st.sampled_from(["", "-", "[.,]", "x*"]),
    exceptions=st.lists(st.sampled_from(["New York", r"e\.g\.", "a b", r"\.\.\.", "x*", "ↈ"]), max_size=2),
    case_sensitive_exceptions=st.booleans(),
    min_length=st.integers(0, 2),
    max_length=st.integers(2, 60),
)

ENTITY_TAGS = ["O", "B-PER", "I-PER", "E-PER", "S-PER", "B-LOC", "I-LOC", "E-LOC", "S-LOC", "I-B-X"]
JUNK_TAGS = st.sampled_from(["", "B-", "X", "o", "B_PER", "O-PER", " B-PER"]) | st.text(max_size=5)

# A character <= U+0020 is what Java's String.trim strips, and so what sentences never start or end with.
JAVA_SPACE = re.compile("[\x00- ]")
ASCII_SPACE = re.compile(r"\s", re.ASCII)


# -- checks -------------------------------------------------------------------------------------------------
def assert_spans(text: str, annotations: Sequence[Annotation], offset: int = 0, exact: bool = True) -> None:
    """Offsets inside ``text`` (which starts at ``offset``), not empty, in order and not overlapping, and each
    result the text its offsets cover."""
    previous_end = offset - 1
    for a in annotations:
        assert offset <= a.begin <= a.end < offset + len(text), (a, len(text))
        assert a.begin > previous_end, f"{a} starts before the previous annotation ends ({previous_end})"
        previous_end = a.end
        if exact:
            assert text[a.begin - offset : a.end - offset + 1] == a.result, a


def text_pipeline(cleanup_mode: str = "disabled") -> list[Any]:
    return [
        DocumentAssembler().setInputCol("text").setOutputCol("document").setCleanupMode(cleanup_mode),
        SentenceDetector().setInputCols(["document"]).setOutputCol("sentence"),
        TokenizerModel().setInputCols(["sentence"]).setOutputCol("token"),
    ]


class CycleTagger(AnnotatorModel):
    """A stand-in NER model for LightPipeline: token ``i`` of a row gets ``tags[i % len(tags)]``."""

    inputAnnotatorTypes = (AnnotatorType.DOCUMENT, AnnotatorType.TOKEN)
    outputAnnotatorType = AnnotatorType.NAMED_ENTITY

    def __init__(self, tags: list[str]) -> None:
        super().__init__()
        self.tags = tags

    def _annotator(self) -> AnnotateFn:
        tags = self.tags

        def annotate(columns: list[list[Any]]) -> list[list[Annotation]]:
            return [
                [
                    Annotation("named_entity", t.begin, t.end, tags[i % len(tags)], {"confidence": "0.5"})
                    for i, t in enumerate(tokens)
                ]
                for tokens in columns[1]
            ]

        return annotate


def ner_pipeline(tags: list[str]) -> LightPipeline:
    return LightPipeline(
        [
            *text_pipeline(),
            CycleTagger(tags).setInputCols(["sentence", "token"]).setOutputCol("ner"),
            NerConverter().setInputCols(["sentence", "token", "ner"]).setOutputCol("ner_chunk"),
        ]
    )


# -- DocumentAssembler ---------------------------------------------------------------------------------------
@PURE
@given(text=any_text | st.none(), mode=st.sampled_from(CLEANUP_MODES))
@example(text=None, mode="disabled")
@example(text="", mode="shrink")
@example(text=" \t\x00\n", mode="shrink_full")
def test_document_assembler_wraps_any_text(text, mode):
    (doc,) = assemble_document(text, mode, {"id": "7", "sentence": "9"})
    assert (doc.annotator_type, doc.begin, doc.end) == ("document", 0, len(doc.result) - 1)
    assert doc.metadata == {"id": "7", "sentence": "0"}
    source = text or ""
    if mode == "disabled":
        assert doc.result == source  # only without cleanup is the result the input text itself
    if mode == "inplace":  # char for char: offsets still point into the input
        assert len(doc.result) == len(source)
        assert not ASCII_SPACE.search(doc.result.replace(" ", ""))
    if mode == "shrink":
        assert doc.result == java_trim(doc.result)
        assert not re.search(r"\s\s", doc.result, re.ASCII)


def test_document_assembler_refuses_an_unknown_cleanup_mode():
    with pytest.raises(ValueError, match="cleanupMode must be one of 'disabled', 'inplace'"):
        DocumentAssembler().setCleanupMode("tidy")
    with pytest.raises(ValueError, match="cleanupMode must be one of .*got 'tidy'"):
        assemble_document("x", "tidy")


# -- SentenceDetector -----------------------------------------------------------------------------------------
@PURE
@given(text=any_text, shift=st.integers(0, 20))
@example(text="'s " * 300, shift=0)
@example(text="\ue000\ue002 a.\ue003 b. ↇ", shift=3)
def test_sentences_cover_the_text_with_default_rules(text, shift):
    doc = Annotation("document", shift, shift + len(text) - 1, text, {"sentence": "0", "id": "x"})
    sentences = detect_sentences([doc], SentenceDetectorConfig())
    assert_spans(text, sentences, offset=shift)
    for i, s in enumerate(sentences):
        assert s.annotator_type == "document"
        assert s.metadata == {"sentence": str(i), "id": "x"}
        assert not JAVA_SPACE.fullmatch(s.result[0]) and not JAVA_SPACE.fullmatch(s.result[-1])
    # no text is lost: every char Java's trim keeps lies in a sentence (no sentence here exceeds maxLength)
    covered = {i for s in sentences for i in range(s.begin - shift, s.end - shift + 1)}
    assert [i for i, c in enumerate(text) if c > " " and i not in covered] == []


@PURE
@given(text=any_text, config=sentence_configs)
def test_sentences_with_any_params(text, config):
    (doc,) = assemble_document(text)
    sentences = detect_sentences([doc], config)
    assert_spans(text, sentences)
    assert [s.metadata["sentence"] for s in sentences] == [str(i) for i in range(len(sentences))]
    assert all(config.min_length <= len(s.result) <= config.max_length for s in sentences)


@SLOW
@given(text=long_text)
def test_sentences_of_long_documents(text):
    (doc,) = assemble_document(text)
    assert_spans(text, detect_sentences([doc], SentenceDetectorConfig()))


@PURE
@given(text=st.text(st.sampled_from(list("'a \t.(é-\n?|_1\ue000,!")), max_size=40))
@example(text="'s 's 's ")
@example(text="'a' 'b'. c")
def test_single_quote_rule_matches_spark_nlps_regex(text):
    """The linear-time quote rule makes exactly the matches of Spark NLP's quadratic regex."""
    assert _SingleQuoted().sub(_protect, text) == _SingleQuoted.regex.sub(_protect, text)


def test_sentence_detector_is_linear_on_unclosed_quotes():
    """Bug found by fuzzing: Spark NLP's single-quote regex rescans to the end of the text after every quote
    that opens nothing, so 80 kB of "'s " took 21 s and 1 MB would take about an hour. Now: well under a
    second for 300 kB."""
    text = "'s " * 100_000
    (doc,) = assemble_document(text)
    started = time.perf_counter()
    sentences = detect_sentences([doc], SentenceDetectorConfig(max_length=len(text)))
    assert time.perf_counter() - started < 10
    assert [(s.begin, s.end) for s in sentences] == [(0, len(text) - 2)]  # one sentence, trimmed


@pytest.mark.filterwarnings("ignore:Possible nested set:FutureWarning")  # re's own note on "[[" patterns
@PURE
@given(bound=st.text(st.sampled_from(list("()[]*+?\\a.{}|^$")), min_size=1, max_size=6), text=any_text)
def test_a_custom_bound_is_a_regex_or_a_named_error(bound, text):
    (doc,) = assemble_document(text[:40])
    try:
        sentences = detect_sentences([doc], SentenceDetectorConfig(custom_bounds=[bound]))
    except ValueError as err:
        assert str(err).startswith(f"customBounds: {bound!r} is not a valid regular expression"), err
        return
    assert_spans(doc.result, sentences)


# -- Tokenizer ------------------------------------------------------------------------------------------------
@PURE
@given(text=any_text)
@example(text="(U.S.) ↇ ↈ\x00a")
def test_tokens_cover_their_sentences_with_default_rules(text):
    (doc,) = assemble_document(text)
    sentences = detect_sentences([doc], SentenceDetectorConfig())
    tokens = tokenize(sentences, TokenizerConfig())
    assert_spans(text, tokens)
    for t in tokens:
        sentence = sentences[int(t.metadata["sentence"])]
        assert sentence.begin <= t.begin <= t.end <= sentence.end, (t, sentence)
        assert not ASCII_SPACE.search(t.result)
        assert len(t.result) <= 99999
    # every char of a sentence but whitespace is in a token; Spark NLP's break marker ↇ separates tokens
    in_tokens = {i for t in tokens for i in range(t.begin, t.end + 1)}
    missing = [
        i
        for s in sentences
        for i in range(s.begin, s.end + 1)
        if not ASCII_SPACE.match(text[i]) and text[i] != "ↇ" and i not in in_tokens
    ]
    assert missing == []


def test_a_very_long_token():
    """A token longer than maxLength (99999) is dropped, as in Spark NLP; a larger maxLength keeps it whole."""
    text = "a " + "x" * 150_000 + " b."
    sentence = Annotation("document", 0, len(text) - 1, text, {"sentence": "0"})
    started = time.perf_counter()
    assert [t.result for t in tokenize([sentence], TokenizerConfig())] == ["a", "b", "."]
    tokens = tokenize([sentence], TokenizerConfig(max_length=200_000))
    assert [(t.begin, t.end) for t in tokens] == [
        (0, 0),
        (2, 150_001),
        (150_003, 150_003),
        (150_004, 150_004),
    ]
    assert_spans(text, tokens)
    assert time.perf_counter() - started < 10


@PURE
@given(text=any_text, sentence_config=sentence_configs, config=tokenizer_configs)
def test_tokens_with_any_params(text, sentence_config, config):
    (doc,) = assemble_document(text)
    sentences = detect_sentences([doc], sentence_config)
    tokens = tokenize(sentences, config)
    assert_spans(text, tokens)
    by_index = {s.metadata["sentence"]: s for s in sentences}
    for t in tokens:
        assert (
            by_index[t.metadata["sentence"]].begin <= t.begin <= t.end <= by_index[t.metadata["sentence"]].end
        )
        assert config.min_length <= len(t.result) <= config.max_length


@SLOW
@given(text=long_text)
def test_tokens_of_long_documents(text):
    (doc,) = assemble_document(text)
    assert_spans(text, tokenize(detect_sentences([doc], SentenceDetectorConfig()), TokenizerConfig()))


# -- NerConverter ---------------------------------------------------------------------------------------------
def annotate_text(text: str) -> tuple[list[Annotation], list[Annotation]]:
    (doc,) = assemble_document(text)
    sentences = detect_sentences([doc], SentenceDetectorConfig())
    return sentences, tokenize(sentences, TokenizerConfig())


def is_tag(tag: str, no_schema: bool) -> bool:
    if no_schema:
        return tag != ""
    return tag == "O" or re.fullmatch(r"[BIES]-.+", tag, re.DOTALL) is not None


@PURE
@given(
    text=st.lists(st.sampled_from(PIECES) | HOSTILE_CHAR, min_size=1, max_size=30).map("".join),
    tags=st.lists(st.sampled_from(ENTITY_TAGS), min_size=1, max_size=12)
    | st.lists(st.sampled_from(ENTITY_TAGS) | JUNK_TAGS, min_size=1, max_size=12),
    no_schema=st.booleans(),
    white_list=st.none() | st.lists(st.sampled_from(["PER", "LOC", "B-X"]), max_size=2),
    confidence=st.sampled_from(["0.5", " 0.25 ", "1e400", "nan", "abc", ""]),
)
# Junk in the second sentence. The error said "tag 'X' at token 1 is not valid in the IOB2 scheme": token 1 of
# an unnamed sentence (it is token 4 of the row), in a scheme the user never chose.
@example(
    text="Hi Maria. Bye Lisbon.",
    tags=["O", "B-PER", "O", "O", "X", "O"],
    no_schema=False,
    white_list=None,
    confidence="0.5",
)
@example(text="Hi Maria.", tags=["O", ""], no_schema=True, white_list=None, confidence="0.5")
def test_ner_converter_chunks_or_names_the_bad_tag(text, tags, no_schema, white_list, confidence):
    sentences, tokens = annotate_text(text)
    tags = [tags[i % len(tags)] for i in range(len(tokens))]  # token i gets tags[i], cycling
    ner = [
        Annotation("named_entity", t.begin, t.end, tag, {"confidence": confidence})
        for t, tag in zip(tokens, tags, strict=True)
    ]
    bad = [(t, tag) for t, tag in zip(tokens, tags, strict=True) if not is_tag(tag, no_schema)]
    try:
        chunks = ner_converter(sentences, tokens, ner, white_list=white_list, ner_has_no_schema=no_schema)
    except ValueError as err:
        assert bad, err
        token, tag = bad[0]
        assert str(err).startswith(f"NerConverter: tag {tag!r} at token "), err
        assert f"({token.result!r}, characters {token.begin}-{token.end})" in str(err)
        return
    assert not bad
    assert_spans(text, chunks)
    assert [c.metadata["chunk"] for c in chunks] == [str(i) for i in range(len(chunks))]
    with_tokens = [s for s in sentences if any(s.begin <= t.begin and t.end <= s.end for t in tokens)]
    for c in chunks:
        sentence = with_tokens[int(c.metadata["sentence"])]
        assert sentence.begin <= c.begin <= c.end <= sentence.end  # a chunk never crosses a sentence end
        assert white_list is None or c.metadata["entity"] in white_list
        if "confidence" in c.metadata:
            float(c.metadata["confidence"])
    if white_list is None and not no_schema:  # the chunks conlleval reads, sentence by sentence
        per_sentence = [
            [tag for t, tag in zip(tokens, tags, strict=True) if s.begin <= t.begin and t.end <= s.end]
            for s in sentences
        ]
        assert len(chunks) == sum(len(tags_to_chunks(sentence_tags)) for sentence_tags in per_sentence)


def annotations(kind: str, result: st.SearchStrategy[str]) -> st.SearchStrategy[Annotation]:
    meta = st.dictionaries(
        st.sampled_from(["confidence", "PER", "sentence"]), st.sampled_from(["0.5", "x", "-1e39"])
    )
    return st.builds(
        lambda b, n, r, m: Annotation(kind, b, b + n - 1, r, m),
        st.integers(-3, 40),
        st.integers(-2, 8),
        result,
        meta,
    )


@PURE
@given(
    sentences=st.lists(annotations("document", st.text(max_size=12)), max_size=4),
    tokens=st.lists(annotations("token", st.text(max_size=4)), max_size=10),
    ner=st.lists(annotations("named_entity", st.sampled_from(ENTITY_TAGS)), max_size=10),
    preserve=st.booleans(),
)
def test_ner_converter_on_annotations_from_nowhere(sentences, tokens, ner, preserve):
    """Sentences, tokens and tags that do not fit together: chunks, or an error that says so."""
    try:
        chunks = ner_converter(sentences, tokens, ner, preserve_position=preserve)
    except ValueError as err:
        assert str(err).startswith("NerConverter: chunk offsets"), err
        return
    assert [c.metadata["chunk"] for c in chunks] == [str(i) for i in range(len(chunks))]


@PURE
@given(
    sentences=st.lists(annotations("document", st.just("")), max_size=5),
    tokens=st.lists(annotations("token", st.just("")), max_size=12),
)
def test_tokens_of_each_sentence_are_found_as_the_plain_test_finds_them(sentences, tokens):
    """The bisect search NerConverter now uses gives what testing every token against every sentence gave,
    malformed tokens (begin > end + 1) and overlapping sentences included."""
    plain = [[t for t in tokens if t.begin >= s.begin and t.end <= s.end] for s in sentences]
    assert [[id(t) for t in ts] for ts in _sentence_words(sentences, tokens)] == [
        [id(t) for t in ts] for ts in plain
    ]


def test_ner_converter_is_linear_in_sentences_times_tokens():
    """Bug found by fuzzing long documents: each sentence scanned every token of the row, so a 1 MB text
    (12,600 sentences, 190,000 tokens) spent 5 minutes in NerConverter. Now: under a second."""
    text = "Maria Lopez works in Lisbon . " * 10_000  # the plain test: 10,000 x 60,000 comparisons
    sentences, tokens = annotate_text(text)
    ner = [
        Annotation("named_entity", t.begin, t.end, "B-PER" if t.result == "Maria" else "O") for t in tokens
    ]
    started = time.perf_counter()
    chunks = ner_converter(sentences, tokens, ner)
    assert time.perf_counter() - started < 20
    assert len(chunks) == 10_000 and {c.result for c in chunks} == {"Maria"}


# -- LightPipeline --------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def light() -> LightPipeline:
    return LightPipeline(text_pipeline())


@PURE
@given(texts=st.lists(python_text, max_size=5))
@example(texts=["\ud800", "Maria \udcff went.", ""])
def test_light_pipeline_annotates_any_python_text(light, texts):
    rows = light.fullAnnotate(texts)
    assert len(rows) == len(texts)
    for text, row in zip(texts, rows, strict=True):
        (doc,) = row["document"]
        assert (doc.begin, doc.end, doc.result) == (0, len(text) - 1, text)
        assert_spans(text, row["sentence"])
        assert_spans(text, row["token"])
        assert row == light.fullAnnotate(text)[0]  # a text's annotations do not depend on its batch
    assert light.annotate(texts) == [{c: [a.result for a in anns] for c, anns in r.items()} for r in rows]


@PURE
@given(text=python_text, mode=st.sampled_from(CLEANUP_MODES))
def test_light_pipeline_offsets_point_into_the_cleaned_text(text, mode):
    (row,) = LightPipeline(text_pipeline(mode)).fullAnnotate(text)
    (doc,) = row["document"]
    assert_spans(doc.result, row["sentence"])
    assert_spans(doc.result, row["token"])


@PURE
@given(text=python_text, tags=st.lists(st.sampled_from(ENTITY_TAGS), min_size=1, max_size=7))
@example(text="Halden Steel\udcff agreed.", tags=["B-ORG", "I-ORG", "O"])
def test_light_pipeline_chunks_are_the_text_they_cover(text, tags):
    (row,) = ner_pipeline(tags).fullAnnotate(text)
    assert_spans(text, row["ner_chunk"])
    assert all(c.metadata["confidence"] == "0.5" for c in row["ner_chunk"])


@PURE
@given(
    items=st.lists(
        python_text | st.none() | st.integers() | st.lists(st.text(), max_size=1), min_size=1, max_size=4
    )
)
def test_light_pipeline_refuses_what_is_not_text(light, items):
    bad = [i for i, item in enumerate(items) if not isinstance(item, str)]
    if not bad:
        assert len(light.fullAnnotate(items)) == len(items)
        return
    with pytest.raises(TypeError, match=rf"LightPipeline: item {bad[0]} is \w+, not str; pass text strings"):
        light.fullAnnotate(items)


@pytest.fixture(scope="module")
def bert_light(sample_bert_dir) -> LightPipeline:
    bert = BertEmbeddings.loadSavedModel(str(sample_bert_dir)).setInputCols("sentence", "token")
    return LightPipeline([*text_pipeline(), bert.setOutputCol("embeddings")], parse_embeddings=True)


@SLOW
@given(text=python_text)
@example(text="\ud800")  # the Hugging Face tokenizer refused lone surrogates with a bare TypeError
@example(text="Maria \ud83d went to a\udcffb.")
def test_bert_embeddings_embed_every_token_of_any_text(bert_light, text):
    (row,) = bert_light.fullAnnotate(text)
    assert [(e.begin, e.end, e.result) for e in row["embeddings"]] == [
        (t.begin, t.end, t.result) for t in row["token"]
    ]
    assert all(len(e.embeddings) == 32 for e in row["embeddings"])


def test_word_vectors_read_a_lone_surrogate_as_unknown(tmp_path):
    """Bug found with the BERT one: a lone surrogate made the word-vector lookup raise UnicodeEncodeError."""
    from sparktag.embeddings.word_vectors import WordVectors, build_index

    source = tmp_path / "glove.txt"
    source.write_text("maria 1 2\nlisbon 3 4\n", encoding="utf-8")
    vectors = WordVectors.open(build_index(source, "TEXT", tmp_path / "index"))
    matrix, oov = vectors.lookup(["Maria", "maria\ud800", "\udcff", "lisbon"])
    assert oov == [False, True, True, False]
    assert matrix.tolist() == [[1, 2], [0, 0], [0, 0], [3, 4]]


# -- CoNLL reader ---------------------------------------------------------------------------------------------
CELL = st.text(st.characters(codec="utf-8", exclude_characters="\n"), max_size=6)
LABEL = st.sampled_from(["O", "B-PER", "I-PER", "E-LOC", "S-LOC", "I-", "X", "B-I-O"]) | CELL
DOCSTART = st.sampled_from(
    ["-DOCSTART- -X- -X- O", "-DOCSTART-", "-DOCSTART-\t-X-\t-7-\tO", " -DOCSTART- -X- -3-1- O", "-DOCSTARTx"]
)
BLANK = st.sampled_from(["", " ", "\t", "\r", " \t\r\x0b"])


def conll_lines(delimiter: str) -> st.SearchStrategy[list[bytes]]:
    token_line = st.builds(
        lambda word, columns, n, label: delimiter.join([word, *columns[:n], label]),
        CELL,
        st.lists(CELL, min_size=3, max_size=3),
        st.integers(0, 3),
        LABEL,
    )
    line = (token_line | DOCSTART | BLANK).map(lambda s: s.encode("utf-8"))
    return st.lists(line | st.sampled_from([b"bad \xff byte O", b"\xef\xbb\xbfBOM O", b"\xc3"]), max_size=12)


@pytest.fixture(scope="module")
def conll_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("fuzz_conll")


@PURE
@given(
    data=st.data(),
    delimiter=st.sampled_from([" ", "\t", "||"]),
    label_index=st.integers(0, 4),
    pos_index=st.integers(0, 4),
    to_iob2=st.booleans(),
    newline=st.sampled_from([b"\n", b"\r\n"]),
)
def test_conll_reader_parses_or_names_the_first_bad_line(
    conll_dir, data, delimiter, label_index, pos_index, to_iob2, newline
):
    lines = data.draw(conll_lines(delimiter))
    path = os.path.join(conll_dir, "fuzz.conll")
    options = {"label_index": label_index, "pos_index": pos_index, "delimiter": delimiter, "to_iob2": to_iob2}
    with open(path, "wb") as f:
        f.write(newline.join(lines))
    try:
        documents = list(read_conll_documents(path, **options))
    except ConllFormatError as err:
        where = re.match(re.escape(path) + r":(\d+): ", str(err))
        assert where, err
        line = int(where.group(1))
        assert 1 <= line <= len(lines)
        with open(path, "wb") as f:  # the lines before it read cleanly: the error names the first bad one
            f.write(newline.join(lines[: line - 1]))
        list(read_conll_documents(path, **options))
        return

    words = [t.text for d in documents for s in d.sentences for t in s.tokens]
    for explode in (True, False):
        rows = [
            r for d in documents for r in document_rows(d, explode_sentences=explode, include_doc_id=True)
        ]
        assert [t.result for r in rows for t in r["token"]] == words
        for r in rows:
            text = r["text"]
            assert [(a.begin, a.end, a.result) for a in r["document"]] == [(0, len(text) - 1, text)]
            assert_spans(text, r["sentence"])
            assert_spans(text, r["token"])
            for column in ("pos", "label"):
                assert [(a.begin, a.end, a.metadata["word"]) for a in r[column]] == [
                    (t.begin, t.end, t.result) for t in r["token"]
                ]
            assert all(re.fullmatch(r"O|[BIES]-.+", a.result, re.DOTALL) for a in r["label"])
        reader = CoNLL(
            conllLabelIndex=label_index,
            conllPosIndex=pos_index,
            delimiter=delimiter,
            explodeSentences=explode,
            includeDocId=True,
            toIOB2=to_iob2,
        )
        table = reader.read_arrow(path)  # what readDataset hands Spark
        assert table.column("text").to_pylist() == [r["text"] for r in rows]
        assert [from_rows(ts) for ts in table.column("token").to_pylist()] == [r["token"] for r in rows]


# -- Spark and LightPipeline agree ----------------------------------------------------------------------------
@pytest.mark.spark
@settings(max_examples=2, deadline=None, suppress_health_check=[HealthCheck.too_slow])  # a Spark job each
@given(texts=st.lists(any_text, min_size=1, max_size=16))
def test_spark_and_light_pipeline_agree_on_hostile_text(spark, texts):
    from pyspark.ml import PipelineModel

    model = PipelineModel(stages=text_pipeline())
    df = spark.createDataFrame(list(enumerate(texts)), "id long, text string")
    rows = sorted(model.transform(df).collect(), key=lambda r: r["id"])
    light = LightPipeline(model).fullAnnotate(texts)
    for row, expected in zip(rows, light, strict=True):
        for column in ("document", "sentence", "token"):
            assert from_rows(row[column]) == expected[column], column

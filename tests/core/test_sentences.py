import pytest

from sparktag.annotation import Annotation
from sparktag.core.sentences import SentenceDetectorConfig, detect_sentences, split_sentences


def doc(text, begin=0, **metadata):
    return Annotation("document", begin, begin + len(text) - 1, text, {"sentence": "0", **metadata})


def spans(text, **config):
    """(begin, end inclusive, text) of each sentence of ``text``."""
    return [
        (s.begin, s.end, s.result) for s in detect_sentences([doc(text)], SentenceDetectorConfig(**config))
    ]


SPARK_EXAMPLE = "This is my first sentence. This my second.\n\nHow about a third?"


def test_spark_docs_example():
    # "\n\n" is at 42-43, so the third sentence starts at 44
    expected = [
        (0, 25, "This is my first sentence."),
        (27, 41, "This my second."),
        (44, 61, "How about a third?"),
    ]
    assert spans(SPARK_EXAMPLE) == expected
    assert spans(SPARK_EXAMPLE, custom_bounds=["\n\n"]) == expected


def test_annotations_are_documents_numbered_with_metadata():
    (first, second) = detect_sentences([doc("Hi there. Bye.", id="a1")], SentenceDetectorConfig())
    assert first == Annotation("document", 0, 8, "Hi there.", {"sentence": "0", "id": "a1"})
    assert second == Annotation("document", 10, 13, "Bye.", {"sentence": "1", "id": "a1"})


def test_offsets_are_shifted_by_the_document_begin():
    (sentence,) = detect_sentences([doc("  Hello.  ", begin=100)], SentenceDetectorConfig())
    assert (sentence.begin, sentence.end, sentence.result) == (102, 107, "Hello.")


def test_index_runs_over_the_whole_row():
    result = detect_sentences(
        [doc("A b. C d.", id="x"), doc("E f.", begin=20, id="y")], SentenceDetectorConfig()
    )
    assert [(s.begin, s.result, s.metadata) for s in result] == [
        (0, "A b.", {"sentence": "0", "id": "x"}),
        (5, "C d.", {"sentence": "1", "id": "x"}),
        (20, "E f.", {"sentence": "2", "id": "y"}),
    ]


def test_prepositive_abbreviation_does_not_end_a_sentence():
    assert spans("Hi Mr. Smith. Bye!") == [(0, 12, "Hi Mr. Smith."), (14, 17, "Bye!")]


def test_abbreviations_can_be_switched_off():
    assert spans("Hi Mr. Smith. Bye!", use_abbreviations=False) == [
        (0, 5, "Hi Mr."),
        (7, 12, "Smith."),
        (14, 17, "Bye!"),
    ]


def test_multi_period_abbreviation_and_decimal_number():
    assert spans("I live in the U.S. and pi is 3.14 here. Yes.") == [
        (0, 38, "I live in the U.S. and pi is 3.14 here."),
        (40, 43, "Yes."),
    ]


def test_general_abbreviations_before_lowercase_and_comma():
    assert spans("Fruit e.g. apples, etc., are good. Ok.") == [
        (0, 33, "Fruit e.g. apples, etc., are good."),
        (35, 37, "Ok."),
    ]


def test_time_of_day():
    assert spans("Call me at 5 p.m. tomorrow. Ok.") == [
        (0, 26, "Call me at 5 p.m. tomorrow."),
        (28, 30, "Ok."),
    ]


def test_ellipsis_ends_a_sentence_only_before_a_capital():
    assert spans("Wait... what? Yes... Then go.") == [
        (0, 12, "Wait... what?"),
        (14, 19, "Yes..."),
        (21, 28, "Then go."),
    ]


def test_four_dots_end_the_sentence_after_the_last_one():
    assert spans("Hello.... World.") == [(0, 8, "Hello...."), (10, 15, "World.")]


def test_question_mark_inside_quotes_does_not_end_the_sentence():
    assert spans('And "Why?" she asked. Ok.') == [(0, 20, 'And "Why?" she asked.'), (22, 24, "Ok.")]


def test_exclamation_and_semicolon_end_sentences():
    # Spark NLP breaks after "!" + space before its mid-sentence "!" rule runs, so "Wow! that" splits too
    assert spans("Wow! that is it; really. End!") == [
        (0, 3, "Wow!"),
        (5, 15, "that is it;"),
        (17, 23, "really."),
        (25, 28, "End!"),
    ]


def test_lists_are_detected():
    assert spans("1. foo 2. bar 3. baz") == [(0, 5, "1. foo"), (7, 12, "2. bar"), (14, 19, "3. baz")]
    assert spans("Items: (a) apples (b) pears.") == [
        (0, 5, "Items:"),
        (7, 16, "(a) apples"),
        (18, 27, "(b) pears."),
    ]


def test_lists_can_be_switched_off():
    assert spans("1. foo 2. bar 3. baz", detect_lists=False) == [
        (0, 8, "1. foo 2."),
        (10, 15, "bar 3."),
        (17, 19, "baz"),
    ]


def test_custom_bounds_mixed_with_the_rules():
    assert spans("Hello. World\n\nNext", custom_bounds=["\n\n"]) == [
        (0, 5, "Hello."),
        (7, 11, "World"),
        (14, 17, "Next"),
    ]


def test_custom_bounds_only():
    assert spans("Hello. World\n\nNext", custom_bounds=["\n\n"], use_custom_bounds_only=True) == [
        (0, 11, "Hello. World"),
        (14, 17, "Next"),
    ]


def test_custom_bounds_are_regexes():
    assert spans("a ## b #### c", custom_bounds=["#+"], use_custom_bounds_only=True) == [
        (0, 0, "a"),
        (5, 5, "b"),
        (12, 12, "c"),
    ]


def test_use_custom_bounds_only_without_bounds_uses_the_rules():
    assert spans("A b. C d.", use_custom_bounds_only=True) == [(0, 3, "A b."), (5, 8, "C d.")]


@pytest.mark.parametrize(
    ("strategy", "expected"),
    [
        ("none", [(0, 0, "a"), (2, 2, "b"), (4, 4, "c")]),
        ("prepend", [(0, 0, "a"), (1, 2, ";b"), (3, 4, ";c")]),
        ("append", [(0, 1, "a;"), (2, 3, "b;"), (4, 4, "c")]),
    ],
)
def test_custom_bounds_strategy(strategy, expected):
    assert (
        spans("a;b;c", custom_bounds=[";"], use_custom_bounds_only=True, custom_bounds_strategy=strategy)
        == expected
    )


def test_bad_strategy_and_bad_bound_name_the_param():
    with pytest.raises(ValueError, match="customBoundsStrategy.*none, prepend, append"):
        SentenceDetectorConfig(custom_bounds_strategy="middle")
    with pytest.raises(ValueError, match="customBounds.*'\\('"):
        spans("x", custom_bounds=["("])


def test_min_and_max_length_drop_sentences_and_renumber():
    text = "Hi. Hello there. Bye."  # lengths 3, 12, 4
    result = detect_sentences([doc(text)], SentenceDetectorConfig(min_length=4))
    assert [(s.result, s.metadata["sentence"]) for s in result] == [("Hello there.", "0"), ("Bye.", "1")]
    result = detect_sentences([doc(text)], SentenceDetectorConfig(max_length=4))
    assert [(s.result, s.metadata["sentence"]) for s in result] == [("Hi.", "0"), ("Bye.", "1")]


def test_length_params_are_validated():
    with pytest.raises(ValueError, match="maxLength"):
        SentenceDetectorConfig(min_length=5, max_length=4)
    with pytest.raises(ValueError, match="minLength"):
        SentenceDetectorConfig(min_length=-1)


def test_split_length_cuts_at_spaces():
    assert spans("one two three four five six", split_length=10) == [
        (0, 6, "one two"),
        (8, 17, "three four"),
        (19, 26, "five six"),
    ]
    # a word longer than the limit stays whole
    assert spans("abcdefghijkl x", split_length=5) == [(0, 11, "abcdefghijkl"), (13, 13, "x")]


@pytest.mark.parametrize("text", ["", " ", "\n\t \r\n"])
def test_empty_and_whitespace_only_documents_give_nothing(text):
    assert detect_sentences([doc(text)], SentenceDetectorConfig()) == []
    assert split_sentences(text, SentenceDetectorConfig()) == []


def test_no_documents_give_nothing():
    assert detect_sentences([], SentenceDetectorConfig()) == []


def test_sentences_are_trimmed_of_surrounding_whitespace():
    assert spans("  \n First one.   \t Second one.\n\n ") == [(4, 13, "First one."), (19, 29, "Second one.")]


def test_unicode_offsets_are_code_points():
    # no CJK rule: "。" does not end a sentence, as in Spark NLP
    assert spans("Café crème. 東京は大きい。Emoji 😀 here. Done.") == [
        (0, 10, "Café crème."),
        (12, 31, "東京は大きい。Emoji 😀 here."),
        (33, 37, "Done."),
    ]


def test_no_break_space_is_not_trimmed_like_java():
    assert spans("\u00a0Hi. Yo.") == [(0, 3, "\u00a0Hi."), (5, 7, "Yo.")]


def test_text_containing_placeholder_symbols_keeps_exact_offsets():
    text = "\ue000 a. b.\ue003 c."
    assert spans(text) == [(0, 3, "\ue000 a."), (5, 6, "b."), (7, 10, "\ue003 c.")]


def test_long_document_offsets_hold():
    text = " ".join(f"Sentence number {i} is here, Dr. Who said. Really?" for i in range(1500))
    result = detect_sentences([doc(text)], SentenceDetectorConfig())
    assert len(result) == 3000
    assert all(text[s.begin : s.end + 1] == s.result for s in result)
    assert [s.metadata["sentence"] for s in result] == [str(i) for i in range(3000)]


@pytest.mark.parametrize(
    "text",
    [
        "He said 'no.' Then (quietly) he left... Later; more!? Yes!!",
        "N°. 1026.253.553. is here. St. Louis, Mo. is big. Co. KG is a firm.",
        "a.b.c. d.e. f.g.h. x. Y. 12. 3.5.",
        "\"Quote.\" [Bracket.] (Paren.) 'Single.' Done.",
        "Mixed\r\n\r\nlines\nand\ttabs. Ok.",
    ],
)
def test_offsets_always_match_the_text(text):
    for config in (
        SentenceDetectorConfig(),
        SentenceDetectorConfig(use_abbreviations=False, detect_lists=False),
        SentenceDetectorConfig(custom_bounds=["\n", "\\. "], custom_bounds_strategy="append"),
        SentenceDetectorConfig(custom_bounds=["\\s+"], use_custom_bounds_only=True),
        SentenceDetectorConfig(split_length=7),
    ):
        for s in detect_sentences([doc(text, begin=3)], config):
            assert text[s.begin - 3 : s.end - 3 + 1] == s.result
            assert s.result == s.result.strip()

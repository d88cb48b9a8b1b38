import pytest

from sparktag.annotation import Annotation
from sparktag.core.documents import CLEANUP_MODES, assemble_document, clean_text
from sparktag.core.jvm import java_trim

# One text exercising every mode: real tabs/newlines, and "stringified" ones (a backslash + letter).
MIXED = " a\tb\n\nc \\n d\\r\\ne\\tf  "


def test_spark_docs_example_offsets():
    text = "Spark NLP is an open-source text processing library."
    assert assemble_document(text) == [Annotation("document", 0, 51, text, {"sentence": "0"})]


@pytest.mark.parametrize("text", [None, ""])
def test_null_and_empty_text_give_one_empty_document(text):
    assert assemble_document(text) == [Annotation("document", 0, -1, "", {"sentence": "0"})]


def test_whitespace_only_text_is_kept_unless_cleaned():
    assert assemble_document(" \n ")[0].end == 2
    assert assemble_document(" \n ", cleanup_mode="shrink")[0] == Annotation(
        "document", 0, -1, "", {"sentence": "0"}
    )


def test_metadata_is_kept_and_sentence_is_forced_to_zero():
    (doc,) = assemble_document("x", metadata={"id": "7", "sentence": "9"})
    assert doc.metadata == {"id": "7", "sentence": "0"}


def test_metadata_argument_is_not_mutated():
    metadata = {"id": "7"}
    assemble_document("x", metadata=metadata)
    assert metadata == {"id": "7"}


def test_unicode_offsets_count_code_points():
    text = "Café 東京 😀"
    (doc,) = assemble_document(text)
    assert (doc.begin, doc.end) == (0, 8)
    assert text[doc.begin : doc.end + 1] == doc.result


def test_cleanup_modes_are_spark_nlp_s():
    assert CLEANUP_MODES == (
        "disabled",
        "inplace",
        "inplace_full",
        "shrink",
        "shrink_full",
        "each",
        "each_full",
        "delete_full",
    )


@pytest.mark.parametrize(
    ("mode", "expected"),
    [
        ("disabled", MIXED),
        # every real whitespace char becomes one space; stringified escapes stay
        ("inplace", " a b  c \\n d\\r\\ne\\tf  "),
        # stringified too: "\\r\\n" as a pair becomes one space
        ("inplace_full", " a b  c   d e f  "),
        ("shrink", "a b c \\n d\\r\\ne\\tf"),
        # runs of real whitespace and runs of stringified escapes are separate matches
        ("shrink_full", "a b c   d e f"),
        # only a whitespace char followed by a newline/tab is replaced ("\n\n" -> " "), not a lone "\t"
        ("each", " a\tb c \\n d\\r\\ne\\tf  "),
        ("each_full", " a\tb c  d\\r\\ne\\tf  "),
        ("delete_full", "a\tb\n\nc  def"),
    ],
)
def test_each_cleanup_mode(mode, expected):
    (doc,) = assemble_document(MIXED, cleanup_mode=mode)
    assert doc.result == expected
    assert (doc.begin, doc.end) == (0, len(expected) - 1)


def test_each_keeps_a_lone_newline_like_spark_nlp():
    assert clean_text("a\nb", "each") == "a\nb"
    assert clean_text("a \nb", "each") == "a b"


def test_mode_is_trimmed_and_case_insensitive_like_the_spark_setter():
    assert clean_text(" a  b ", " SHRINK ") == "a b"


def test_unknown_mode_names_the_param_and_the_valid_values():
    with pytest.raises(ValueError, match=r"cleanupMode.*disabled, inplace, .*delete_full.*'squash'"):
        assemble_document("x", cleanup_mode="squash")


def test_trim_is_java_s_string_trim():
    # controls <= U+0020 go, a no-break space and an ideographic space stay (as in Spark NLP)
    assert java_trim("\x01 x \x1f") == "x"
    assert java_trim("\u00a0x\u3000") == "\u00a0x\u3000"
    assert clean_text("\u00a0 x  y \u00a0", "shrink") == "\u00a0 x y \u00a0"


def test_whitespace_class_is_java_s_ascii_one():
    # U+2003 (em space) is not \s in Java: inplace leaves it, but turns \x0b and \f into spaces
    assert clean_text("a\u2003b\x0bc\fd", "inplace") == "a\u2003b c d"


def test_long_document():
    text = "word " * 100_000
    (doc,) = assemble_document(text, cleanup_mode="shrink")
    assert doc.end == len(text) - 2  # the trailing space is trimmed

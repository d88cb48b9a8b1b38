import pytest

from sparktag.annotation import Annotation
from sparktag.core import tokens
from sparktag.core.tokens import (
    DEFAULT_CONTEXT_CHARS,
    TokenizerConfig,
    rule_patterns,
    tokenize,
    tokenize_text,
)


def sentence(text, begin=0, index="0"):
    return Annotation("document", begin, begin + len(text) - 1, text, {"sentence": index})


def toks(text, **config):
    """(begin, end inclusive, token) of each token of ``text``."""
    return [(t.begin, t.end, t.result) for t in tokenize([sentence(text)], TokenizerConfig(**config))]


def words(text, **config):
    return [t for _, t in tokenize_text(text, TokenizerConfig(**config))]


def test_spark_docs_example():
    assert toks("I'd like to say we didn't expect that. Jane's boyfriend.") == [
        (0, 2, "I'd"),
        (4, 7, "like"),
        (9, 10, "to"),
        (12, 14, "say"),
        (16, 17, "we"),
        (19, 24, "didn't"),
        (26, 31, "expect"),
        (33, 36, "that"),
        (37, 37, "."),
        (39, 44, "Jane's"),
        (46, 54, "boyfriend"),
        (55, 55, "."),
    ]


def test_defaults_are_spark_nlp_s():
    config = TokenizerConfig()
    assert config.target_pattern == "\\S+"
    assert config.context_chars == [".", ",", ";", ":", "!", "?", "*", "-", "(", ")", '"', "'"]
    assert list(DEFAULT_CONTEXT_CHARS) == config.context_chars
    assert (config.split_chars, config.split_pattern, config.exceptions) == ([], "", [])
    assert (config.case_sensitive_exceptions, config.min_length, config.max_length) == (True, 0, 99999)


def test_context_chars_come_off_both_ends_as_one_token_per_side():
    assert toks("Hello, (U.S.) world!") == [
        (0, 4, "Hello"),
        (5, 5, ","),
        (7, 7, "("),
        (8, 10, "U.S"),
        (11, 12, ".)"),
        (14, 18, "world"),
        (19, 19, "!"),
    ]
    assert words("Hi!! ((a)) x--y") == ["Hi", "!!", "((", "a", "))", "x--y"]


def test_a_candidate_of_context_chars_only_stays_whole():
    assert words("... - ?!") == ["...", "-", "?!"]


def test_metadata_and_offsets_follow_the_sentence():
    result = tokenize([sentence("Hi you.", begin=50, index="3")], TokenizerConfig())
    assert result == [
        Annotation("token", 50, 51, "Hi", {"sentence": "3"}),
        Annotation("token", 53, 55, "you", {"sentence": "3"}),
        Annotation("token", 56, 56, ".", {"sentence": "3"}),
    ]


def test_missing_sentence_metadata_falls_back_to_the_position():
    first = Annotation("document", 0, 1, "Hi", {})
    second = Annotation("document", 3, 5, "you", {})
    assert [t.metadata for t in tokenize([first, second], TokenizerConfig())] == [
        {"sentence": "0"},
        {"sentence": "1"},
    ]


def test_non_document_annotations_are_ignored():
    chunk = Annotation("chunk", 0, 1, "Hi", {"sentence": "0"})
    assert tokenize([chunk], TokenizerConfig()) == []


@pytest.mark.parametrize("text", ["", " ", "\t\n \r"])
def test_empty_and_whitespace_only_sentences_give_no_tokens(text):
    assert tokenize([sentence(text)], TokenizerConfig()) == []


def test_tabs_and_newlines_separate_but_a_no_break_space_does_not():
    # Java's \s is ASCII: U+00A0 is part of a token in Spark NLP
    assert toks("a\tb\nc d\u00a0e") == [(0, 0, "a"), (2, 2, "b"), (4, 4, "c"), (6, 8, "d\u00a0e")]


def test_unicode_offsets_are_code_points():
    assert toks("Müller's café, 東京 😀!") == [
        (0, 7, "Müller's"),
        (9, 12, "café"),
        (13, 13, ","),
        (15, 16, "東京"),
        (18, 18, "😀"),
        (19, 19, "!"),
    ]


def test_exceptions_are_never_split():
    assert words("I live in New York now", exceptions=["New York"]) == ["I", "live", "in", "New York", "now"]
    assert words("I live in New York now") == ["I", "live", "in", "New", "York", "now"]


def test_an_exception_keeps_the_rest_of_its_candidate_like_spark_nlp():
    assert toks("in New York, sadly", exceptions=["New York"]) == [
        (0, 1, "in"),
        (3, 11, "New York,"),
        (13, 17, "sadly"),
    ]


def test_single_word_exception_must_be_the_whole_candidate():
    config = {"exceptions": ["e-mail"], "split_chars": ["-"]}
    assert words("my e-mail, e-mail", **config) == ["my", "e", "mail", ",", "e-mail"]
    assert words("my e-mail", split_chars=["-"]) == ["my", "e", "mail"]


def test_exceptions_are_regexes_and_case_sensitivity_is_configurable():
    assert words("NEW YORK", exceptions=["new york"]) == ["NEW", "YORK"]
    assert words("NEW YORK", exceptions=["new york"], case_sensitive_exceptions=False) == ["NEW YORK"]
    assert words("Room 1 2 3", exceptions=["\\d( \\d)+"]) == ["Room", "1 2 3"]


def test_split_chars_split_inside_tokens_with_exact_offsets():
    assert toks("well-known fact", split_chars=["-"]) == [(0, 3, "well"), (5, 9, "known"), (11, 14, "fact")]
    # the separator ends the rule group: its offsets stay right for the suffix after it
    assert toks("a/, b", split_chars=["/"]) == [(0, 0, "a"), (2, 2, ","), (4, 4, "b")]


def test_split_pattern_takes_priority_over_split_chars():
    text = "Tokens in this-text will#be#split on hashtags-and#dashes"
    assert words(text, split_pattern="-|#", split_chars=["/"]) == [
        "Tokens", "in", "this", "text", "will", "be", "split", "on", "hashtags", "and", "dashes",
    ]  # fmt: skip


def test_split_pattern_with_a_multi_char_separator_keeps_offsets():
    assert toks("a::b c", split_pattern="::", context_chars=["!"]) == [(0, 0, "a"), (3, 3, "b"), (5, 5, "c")]


def test_split_chars_validation():
    with pytest.raises(ValueError, match="splitChars"):
        TokenizerConfig(split_chars=["ab"])
    TokenizerConfig(split_chars=["\\."])  # an escaped char is allowed
    with pytest.raises(ValueError, match="contextChars"):
        TokenizerConfig(context_chars=[".."])


def test_min_and_max_length_drop_tokens():
    assert words("a bb ccc dddd", min_length=2, max_length=3) == ["bb", "ccc"]
    with pytest.raises(ValueError, match="maxLength"):
        TokenizerConfig(min_length=3, max_length=2)


def test_custom_context_chars():
    assert words("(a) [b]", context_chars=["[", "]"]) == ["(a)", "[", "b", "]"]
    assert words("(a), b", context_chars=[]) == ["(a),", "b"]


def test_custom_infix_pattern_groups_become_tokens():
    assert toks("l'une d'un l'un, des", infix_patterns=["(\\w+'{1})(\\w+)"]) == [
        (0, 1, "l'"),
        (2, 4, "une"),
        (6, 7, "d'"),
        (8, 9, "un"),
        (11, 12, "l'"),
        (13, 14, "un"),
        (15, 15, ","),
        (17, 19, "des"),
    ]


def test_custom_prefix_and_suffix_patterns():
    config = {"prefix_pattern": "\\A(#?)", "suffix_pattern": "(%*)\\z", "context_chars": ["#", "%"]}
    assert words("#tag 50% (x)", **config) == ["#", "tag", "50", "%", "(x)"]
    # the prefix takes one "#" at most and the infix cannot start with one: no rule matches, kept whole
    assert words("##tag", **config) == ["##tag"]
    with pytest.raises(ValueError, match="prefixPattern"):
        TokenizerConfig(prefix_pattern="(#*)")
    with pytest.raises(ValueError, match="suffixPattern"):
        TokenizerConfig(suffix_pattern="(%*)")
    with pytest.raises(ValueError, match="infixPatterns"):
        TokenizerConfig(infix_patterns=["\\w+"])


def test_target_pattern_builds_spark_nlp_s_break_class():
    # Spark NLP builds "[^(?:\w+)ↈ]": "(" and ")" are in that class, so they do not separate
    assert toks("hello, world(s)", target_pattern="\\w+") == [
        (0, 4, "hello"),
        (7, 13, "world(s"),
        (14, 14, ")"),
    ]


def test_rule_pattern_is_spark_nlp_s():
    (rule,) = rule_patterns(TokenizerConfig(context_chars=["(", ")"]))
    assert rule == "\\A([\\(\\)]*)([^\\(\\)](?:.*[^\\(\\)])*)([\\(\\)]*)\\z"


def test_compiled_rules_are_cached_per_config():
    tokens._compile_config.cache_clear()
    tokenize([sentence("a b")], TokenizerConfig(split_chars=["-"]))
    tokenize([sentence("c d")], TokenizerConfig(split_chars=["-"]))
    info = tokens._compile_config.cache_info()
    assert (info.misses, info.hits) == (1, 1)


def test_long_sentence_and_many_sentences():
    text = " ".join(f"w{i}, (x{i})." for i in range(20_000))
    result = tokenize([sentence(text)], TokenizerConfig())
    assert len(result) == 20_000 * 5  # w, ",", "(", x, ")."
    assert all(text[t.begin : t.end + 1] == t.result for t in result)


@pytest.mark.parametrize(
    "config",
    [
        TokenizerConfig(),
        TokenizerConfig(exceptions=["New York", "e\\.g\\."], split_chars=["-", "/"]),
        TokenizerConfig(split_pattern="[-/]+", min_length=2),
        TokenizerConfig(infix_patterns=["(\\w+)(')(\\w+)", "(\\S+)"]),
    ],
)
def test_offsets_always_match_the_text(config):
    text = 'New York\'s e.g. well-/known (U.S.) "quote"... 東京-😀/x ↇ ↈ a--b'
    result = tokenize([sentence(text, begin=7)], config)
    assert result
    for t in result:
        assert text[t.begin - 7 : t.end - 7 + 1] == t.result
        assert t.result
        if not config.exceptions:  # only an exception can hold a space
            assert " " not in t.result

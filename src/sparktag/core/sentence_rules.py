"""The rules of Spark NLP's rule-based ``SentenceDetector``: the pragmatic segmenter's regex passes.

A fixed sequence of regex passes (:func:`compile_passes`, in Spark NLP's order) rewrites the text
(:func:`symbolize`): chars that must not end a sentence (the "." of "Mr." or "3.14") become placeholder symbols,
a break symbol goes where a sentence ends, and spans that must not be broken (quotes, parentheses, "U.S.") are
wrapped in protection markers. :func:`sentence_spans` then cuts the source text at every break that is not
inside a protected span. Each symbol stands for a fixed number of source chars, so offsets come back exactly.
:mod:`sparktag.core.sentences` trims, filters and numbers the sentences.

The regexes are Spark NLP's newest ``PragmaticContentFormatter``'s, compiled with ``re.ASCII`` so ``\\s``,
``\\w``, ``\\d`` and ``(?i)`` mean what they mean in ``java.util.regex`` by default.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from functools import lru_cache
from typing import Protocol

# --- placeholder symbols (Unicode private use area) --------------------------------------------------
# Each stands for a fixed number of source chars, which is what lets offsets be recovered exactly.
_BREAK = "\ue000"  # a sentence ends here (may be protected)                           0 source chars
_CUSTOM_BREAK = "\ue001"  # a custom bound ends the sentence here (never protected)      0 source chars
_OPEN = "\ue002"  # protection starts                                                   0 source chars
_CLOSE = "\ue003"  # protection ends                                                    0 source chars
_DROP = "\ue004"  # a char of a custom bound that is left out of both sentences         1 source char
_DOT = "\ue005"  # "." that ends a sentence                                             1 source char
_SEMICOLON = "\ue006"  # ";" that ends a sentence                                       1 source char
_ABBREVIATOR = "\ue007"  # "." of an abbreviation                                       1 source char
_NUM = "\ue008"  # "." inside or after a number                                         1 source char
_MULT_PERIOD = "\ue009"  # "." between word chars ("a.b") or in a coordinate            1 source char
_QUESTION_IN_QUOTE = "\ue00a"  # "?" right before a quote                               1 source char
_EXCLAMATION = "\ue00b"  # "!" that does not end a sentence                             1 source char
_ELLIPSIS = "\ue00c"  # "..."                                                           3 source chars

_SYMBOLS = "".join(chr(c) for c in range(0xE000, 0xE00D))
_SYMBOL_WIDTH = {s: 1 for s in _SYMBOLS} | {_BREAK: 0, _CUSTOM_BREAK: 0, _OPEN: 0, _CLOSE: 0, _ELLIPSIS: 3}
_ANY_SYMBOL = re.compile(f"[{_SYMBOLS}]")
# A source char that happens to be one of our symbols is read as U+FFFD (also \W and \S, like the symbols)
_NEUTRALIZE = str.maketrans({s: "\ufffd" for s in _SYMBOLS})

_A = re.ASCII

# --- Spark NLP's dictionaries (PragmaticDictionaries) ------------------------------------------------
ABBREVIATIONS: tuple[str, ...] = (
    "adj", "bros", "btw", "co", "col", "corp", "cpl", "dec", "aug", "del", "dept", "dist",
    "dr", "e.g", "etc", "exp", "feb", "fy", "hr", "i.e", "id", "inc",
    "jan", "jr", "jul", "jun", "lt", "ltd", "mar", "may", "min", "mr", "mrs", "ms", "no", "nov",
    "oct", "ok", "p", "px", "plz", "prof", "rep", "sec",
    "sep", "sept", "sr", "st", "u.s", "ver", "vs",
)  # fmt: skip
PREPOSITIVE_ABBREVIATIONS: tuple[str, ...] = ("dr", "mr", "ms", "prof", "mt", "st")
NUMBER_ABBREVIATIONS: tuple[str, ...] = ("no", "p", "px")


# --- the rule passes ----------------------------------------------------------------------------------
# Each pass is a compiled regex and what to put in place of a match, applied in Spark NLP's order.
_Pass = tuple["_Substitutes", Callable[["re.Match[str]"], str]]


class _Substitutes(Protocol):
    """What a pass needs of its regex: ``re.Pattern.sub`` with a function as the replacement."""

    def sub(self, repl: Callable[[re.Match[str]], str], string: str) -> str: ...


def _replace_with(symbol: str) -> Callable[[re.Match[str]], str]:
    return lambda m: symbol


def _append(symbol: str) -> Callable[[re.Match[str]], str]:
    return lambda m: m.group(0) + symbol


def _prepend(symbol: str) -> Callable[[re.Match[str]], str]:
    return lambda m: symbol + m.group(0)


def _protect(m: re.Match[str]) -> str:
    return _OPEN + m.group(0) + _CLOSE


def _break_and_protect(m: re.Match[str]) -> str:
    return _BREAK + _OPEN + m.group(0) + _CLOSE


def _keep_group1_then(symbol: str) -> Callable[[re.Match[str]], str]:
    return lambda m: m.group(1) + symbol


def _passes(patterns: Iterable[str], make: Callable[[re.Match[str]], str], flags: int = _A) -> list[_Pass]:
    return [(re.compile(p, flags), make) for p in patterns]


# Lists: "(a)", "a)" at the start, "1. ", " 2.)", "-3. ": a break before, the marker itself protected.
_LISTS = _passes(
    [
        r"(\()[a-z]+\)|^[a-z]+\)",
        r"\s\d{1,2}\.\s|^\d{1,2}\.\s|\s\d{1,2}\.\)|^\d{1,2}\.\)|\s\-\d{1,2}\.\s|^\-\d{1,2}\.\s|"
        r"s\-\d{1,2}\.\)|^\-\d{1,2}(.\))",
    ],
    _break_and_protect,
)

_NUMBERS = _passes(
    [
        r"(?<=\d)\.(?=\d)",
        r"\.(?=\d)",
        r"(?<=\d)\.(?=\S)",
        r"(?<=^\d)\.(?=(\s\S)|\))",
        r"(?<=^\d\d)\.(?=(\s\S)|\))",
    ],
    _replace_with(_NUM),
)

# Multi-period words ("U.S.", "e.g.") and a.m./p.m. are protected whole.
_SPECIAL_ABBREVIATIONS = _passes(
    [r"\b[a-zA-Z](?:\.[a-zA-Z])+(?:\.(?!\s[A-Z]))*", r"(?i)p\.m\.*", r"(?i)a\.m\.*"], _protect
)

_STANDARD_ABBREVIATIONS = _passes(
    [
        r"\.(?='s\s)|\.(?='s\$)|\.(?='s\Z)",  # possessive ("\$" is a literal "$", as in Spark NLP)
        r"(?<=Co)\.(?=\sKG)",  # Kommanditgesellschaft
        r"(?<=^[A-Z])\.(?=\s)",  # single capital letter at the start
        r"(?<=\s[A-Z])\.(?=\s)",  # single capital letter ("John F. Kennedy")
    ],
    _replace_with(_ABBREVIATOR),
)


def _dictionary_pass(words: Sequence[str], after: str, after_at_start: str | None = None) -> list[_Pass]:
    """One pass marking "<word>." as an abbreviation when followed by ``after``.

    Spark NLP writes ``(?<=\\s(?i)(?:dr|mr|...))\\.`` with a variable-width lookbehind, which Python's
    ``re`` lacks: the word is matched (case-insensitively, and only the word) and put back instead.
    """
    alternation = "|".join(re.escape(w) for w in words)
    after_at_start = after if after_at_start is None else after_at_start
    return _passes(
        [
            rf"((?<=\s)(?i:{alternation}))\.(?={after})",
            rf"(^(?i:{alternation}))\.(?={after_at_start})",
        ],
        _keep_group1_then(_ABBREVIATOR),
    )


_DICTIONARY_ABBREVIATIONS = [
    *_dictionary_pass(PREPOSITIVE_ABBREVIATIONS, r"\s"),
    *_dictionary_pass(PREPOSITIVE_ABBREVIATIONS, r":\d+"),
    *_dictionary_pass(NUMBER_ABBREVIATIONS, r"\s\d"),
    *_dictionary_pass(NUMBER_ABBREVIATIONS, r"\s+\("),
    *_dictionary_pass(
        ABBREVIATIONS,
        r"((\.|\:|-|\?)|(\s([a-z]|I\s|I'm|I'll|\d)))",
        r"((\.|\:|\?)|(\s([a-z]|I\s|I'm|I'll|\d)))",  # Spark NLP omits "-" at the start of the text
    ),
    *_dictionary_pass(ABBREVIATIONS, ","),
]

_PUNCTUATIONS = _passes([r"(?<=\S)[!\?]+(?=\s|\Z|\$)"], _append(_BREAK))
_MULTIPLE_PERIODS = _passes([r"(?<=\w)\.(?=\w)"], _replace_with(_MULT_PERIOD))
_GEO_LOCATIONS = _passes([r"(?<=[a-zA-z]°)\.(?=\s*\d+)"], _replace_with(_MULT_PERIOD))
_ELLIPSIS_RULES = [
    # "word.... Next": the ellipsis stays, the fourth dot ends the sentence (Spark NLP runs the rule below
    # first, so it never fires there and "." becomes a sentence of its own)
    (re.compile(r"(?<=\S)\.{3}(?=\.\s[A-Z])", _A), _replace_with(_ELLIPSIS)),
    (re.compile(r"\.\.\.(?=\s+[A-Z])", _A), _replace_with(_ELLIPSIS + _BREAK)),
    # any other "..." does not end a sentence (Ruby pragmatic segmenter; Spark NLP leaves it out)
    (re.compile(r"\.\.\.", _A), _replace_with(_ELLIPSIS)),
]


class _SingleQuoted:
    """Spark NLP's rule protecting text in single quotes (``regex`` below), in linear time.

    The regex alone is quadratic: after every quote that starts no match ("'s 's 's ..."), it scans to the
    end of the run of chars its class allows, then backtracks all the way (a 1 MB text took hours). Within
    one such run every quote shares the same candidate closing quotes, so a run holds at most one match:
    from its first opening quote to its last quote followed by a non-word char. That opening quote is found
    here and the regex runs there only, scanning the run once. The matches are those of ``regex.sub``.
    """

    regex = re.compile(r"(?:(?<=\s)|^)'[\w\s?!\.,|'\w]+'(?:\W)", _A)
    _run = re.compile(r"[\w\s?!\.,|']+", _A)  # the chars the regex's class allows, quotes included
    _last_close = re.compile(r"(?s:.*)'(?=\W)", _A)  # greedy: the last quote followed by a non-word char
    _open = re.compile(r"(?:(?<=\s)|^)'", _A)  # its lookbehind sees the char before `pos`, as needed

    def sub(self, repl: Callable[[re.Match[str]], str], string: str) -> str:
        parts = []
        done = 0
        pos = 0
        while (first := string.find("'", pos)) >= 0:
            # the rest of the run holding this quote; earlier quotes of the run were handled before
            run = self._run.match(string, first)
            assert run is not None  # a quote is in the class
            pos = run.end()
            # the closing quote's next char may be the one that ends the run
            close = self._last_close.match(string, first, min(pos + 1, len(string)))
            if close is None:
                continue
            # an opening quote with at least one char between it and the closing quote
            opening = self._open.search(string, first, close.end() - 2)
            if opening is None:
                continue
            m = self.regex.match(string, opening.start())
            assert m is not None and m.end() == close.end() + 1, "same match as the regex alone"
            parts += [string[done : m.start()], repl(m)]
            done = m.end()
        parts.append(string[done:])
        return "".join(parts)


_BETWEEN_PUNCTUATIONS: list[_Pass] = [
    (_SingleQuoted(), _protect),
    *_passes([r"\"[\w\s?!\.,]+\"", r"\[[\w\s?!\.,]+\]", r"\([\w\s?!\.,]+\)"], _protect),
]
_QUOTATION_MARK_IN_QUOTATION = _passes([r"\?(?=(\'|\"))"], _replace_with(_QUESTION_IN_QUOTE))
_EXCLAMATION_POINT = _passes(
    [r"\!(?=(\'|\"))", r"\!(?=\,\s[a-z])", r"\!(?=\s[a-z])"], _replace_with(_EXCLAMATION)
)
_BASIC_BREAKERS = [
    (re.compile(r"\."), _replace_with(_DOT + _BREAK)),
    (re.compile(";"), _replace_with(_SEMICOLON + _BREAK)),
]

_AFTER_ABBREVIATIONS = (
    _PUNCTUATIONS
    + _MULTIPLE_PERIODS
    + _GEO_LOCATIONS
    + _ELLIPSIS_RULES
    + _BETWEEN_PUNCTUATIONS
    + _QUOTATION_MARK_IN_QUOTATION
    + _EXCLAMATION_POINT
    + _BASIC_BREAKERS
)


def _drop_bound(m: re.Match[str]) -> str:
    return _CUSTOM_BREAK + _DROP * (m.end() - m.start())


_BOUND_TRANSFORMS: dict[str, Callable[[re.Match[str]], str]] = {
    "none": _drop_bound,
    "prepend": _prepend(_CUSTOM_BREAK),
    "append": _append(_CUSTOM_BREAK),
}


@lru_cache(maxsize=64)
def compile_passes(
    use_abbreviations: bool,
    detect_lists: bool,
    custom_bounds: tuple[str, ...],
    use_custom_bounds_only: bool,
    custom_bounds_strategy: str,
) -> tuple[_Pass, ...]:
    """The passes of Spark NLP's Default, Mixed or Custom ``PragmaticMethod``, in its order."""
    bounds: list[_Pass] = []
    for bound in custom_bounds:
        try:
            regex = re.compile(bound, _A)
        except re.error as err:
            raise ValueError(f"customBounds: {bound!r} is not a valid regular expression: {err}") from err
        bounds.append((regex, _BOUND_TRANSFORMS[custom_bounds_strategy]))
    if bounds and use_custom_bounds_only:
        return tuple(bounds)
    lists = _LISTS if detect_lists else []
    abbreviations = _SPECIAL_ABBREVIATIONS + _STANDARD_ABBREVIATIONS
    if use_abbreviations:
        abbreviations = abbreviations + _DICTIONARY_ABBREVIATIONS
    if bounds:  # MixedPragmaticMethod formats abbreviations before numbers
        return tuple(bounds + lists + abbreviations + _NUMBERS + _AFTER_ABBREVIATIONS)
    return tuple(lists + _NUMBERS + abbreviations + _AFTER_ABBREVIATIONS)


def symbolize(text: str, passes: Sequence[_Pass]) -> str:
    """Run the passes over ``text``: placeholders where a char must not end a sentence, breaks where one ends."""
    wip = text.translate(_NEUTRALIZE)
    for regex, replace in passes:
        wip = regex.sub(replace, wip)
    return wip


def sentence_spans(symbolized: str) -> list[tuple[int, int]]:
    """Cut the source at unprotected breaks; ``(start, end)`` spans (end exclusive) in source offsets.

    A break is protected when the next protection marker after it is a closing one: the linear-time
    equivalent of Spark NLP's ``BREAK(?![^OPEN]*CLOSE)``.
    """
    # (symbol, source offset) of every symbol, walking the symbolised text once
    events: list[tuple[str, int]] = []
    src = 0
    prev = 0
    for m in _ANY_SYMBOL.finditer(symbolized):
        pos = m.start()
        src += pos - prev
        prev = pos + 1
        symbol = symbolized[pos]
        events.append((symbol, src))
        src += _SYMBOL_WIDTH[symbol]
    src += len(symbolized) - prev

    # a break is protected when the next marker after it closes a protected span
    protected = [False] * len(events)
    next_marker = ""
    for i in range(len(events) - 1, -1, -1):
        symbol = events[i][0]
        if symbol in (_OPEN, _CLOSE):
            next_marker = symbol
        elif symbol == _BREAK:
            protected[i] = next_marker == _CLOSE

    spans = []
    start = 0
    for i, (symbol, offset) in enumerate(events):
        if symbol == _CUSTOM_BREAK or (symbol == _BREAK and not protected[i]):
            spans.append((start, offset))
            start = offset
        elif symbol == _DROP and offset == start:  # a dropped bound char right after its break
            start = offset + 1
    spans.append((start, src))
    return spans

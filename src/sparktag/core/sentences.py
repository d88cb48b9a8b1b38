"""Split documents into sentences: the logic of Spark NLP's rule-based ``SentenceDetector``.

Spark NLP ports Kevin Dias' *pragmatic segmenter*: a fixed sequence of regex passes rewrites the text,
replacing chars that must not end a sentence by placeholder symbols (the "." of "Mr." or "3.14"),
inserting a break symbol where a sentence ends, and wrapping spans that must not be broken (quotes,
parentheses, "U.S.") in protection markers. The text is then cut at every break that is not inside a
protected span.

This module runs the same passes in the same order with the same regexes (Spark NLP's newest
``PragmaticContentFormatter``), with three differences, each to fix an offset bug rather than to change
where sentences end:

* Offsets come from aligning the symbolised text with the source, not from Spark's
  ``indexOf(sentence, lastEnd)``, so text that already contains a placeholder symbol, or a custom bound
  inside a protected span, still gives ``text[begin:end + 1] == result``.
* An ellipsis that is not followed by a capitalised word ("wait... what") is kept inside its sentence,
  and "...." before a capital ends the sentence after the fourth dot, as in the Ruby pragmatic segmenter.
  Spark NLP's port leaves these rules out and emits lone "." sentences.
* Offsets count code points (Python ``str`` indices); Spark NLP counts UTF-16 units, so they differ after
  an emoji or any other char outside the BMP.

Regexes are compiled with ``re.ASCII`` so ``\\s``, ``\\w``, ``\\d`` and ``(?i)`` mean what they mean in
``java.util.regex`` by default; trimming follows Java's ``String.trim`` (chars ``<= U+0020``).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Protocol

from sparktag.annotation import Annotation, AnnotatorType

CUSTOM_BOUNDS_STRATEGIES: tuple[str, ...] = ("none", "prepend", "append")

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

# Java's String.trim strips every char <= U+0020; Python's str.strip would also strip U+00A0, U+3000...
_JAVA_TRIM_MAX = " "
_JAVA_TRIM_CHARS = "".join(chr(c) for c in range(0x21))

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


@dataclass
class SentenceDetectorConfig:
    """Params of Spark NLP's ``SentenceDetector`` (same names in snake case, same defaults).

    Args:
        use_abbreviations: ``useAbbreviations``; do not end a sentence at the "." of a known abbreviation.
        detect_lists: ``detectLists``; start a sentence at list markers such as "1." or "(a)".
        custom_bounds: ``customBounds``; regexes that always end a sentence, e.g. ``["\\n\\n"]``.
        use_custom_bounds_only: ``useCustomBoundsOnly``; split at the custom bounds and nowhere else.
        custom_bounds_strategy: ``customBoundsStrategy``; what happens to the matched bound: ``"none"``
            drops it, ``"prepend"`` starts the next sentence with it, ``"append"`` ends the previous one.
        split_length: ``splitLength``; if set, longer sentences are cut at spaces into pieces of at most
            this many chars (a single longer word stays whole).
        min_length: ``minLength``; sentences shorter than this are dropped.
        max_length: ``maxLength``; sentences longer than this are dropped (not split: see ``split_length``).
    """

    use_abbreviations: bool = True
    detect_lists: bool = True
    custom_bounds: list[str] = field(default_factory=list)
    use_custom_bounds_only: bool = False
    custom_bounds_strategy: str = "none"
    split_length: int | None = None
    min_length: int = 0
    max_length: int = 99999

    def __post_init__(self) -> None:
        if self.custom_bounds_strategy not in CUSTOM_BOUNDS_STRATEGIES:
            raise ValueError(
                f"customBoundsStrategy must be one of {', '.join(CUSTOM_BOUNDS_STRATEGIES)}; "
                f"got {self.custom_bounds_strategy!r}."
            )
        if self.min_length < 0:
            raise ValueError(f"minLength must be >= 0; got {self.min_length}.")
        if self.max_length < self.min_length:
            raise ValueError(f"maxLength ({self.max_length}) must be >= minLength ({self.min_length}).")
        if self.split_length is not None and self.split_length < 1:
            raise ValueError(f"splitLength must be >= 1 when set; got {self.split_length}.")


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
def _compile_passes(
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


def _symbolize(text: str, passes: Sequence[_Pass]) -> str:
    wip = text.translate(_NEUTRALIZE)
    for regex, replace in passes:
        wip = regex.sub(replace, wip)
    return wip


def _sentence_spans(symbolized: str) -> list[tuple[int, int]]:
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


def _truncate(begin: int, end: int, text: str, split_length: int) -> list[tuple[int, int]]:
    """Spark NLP's ``truncateSentence``: cut at single spaces into pieces of <= split_length chars."""
    pieces: list[tuple[int, int]] = []
    length = 0
    piece_start = begin
    word_start = begin
    for word in text[begin:end].split(" "):
        if length + len(word) > split_length and word_start > piece_start:
            pieces.append((piece_start, word_start - 1))  # the space before the word is left out
            piece_start = word_start
            length = 0
        length += len(word) + 1
        word_start += len(word) + 1
    pieces.append((piece_start, end))
    return pieces


def split_sentences(text: str, config: SentenceDetectorConfig) -> list[tuple[int, int]]:
    """Sentence spans of one text: ``(begin, end)`` pairs, end exclusive, trimmed, before length filters.

    Example:
        >>> split_sentences("Hi Mr. Smith. Bye!", SentenceDetectorConfig())
        [(0, 13), (14, 18)]
    """
    if not text.strip(_JAVA_TRIM_CHARS):
        return []
    passes = _compile_passes(
        config.use_abbreviations,
        config.detect_lists,
        tuple(config.custom_bounds),
        config.use_custom_bounds_only,
        config.custom_bounds_strategy,
    )
    spans = []
    for start, end in _sentence_spans(_symbolize(text, passes)):
        while start < end and text[start] <= _JAVA_TRIM_MAX:
            start += 1
        while end > start and text[end - 1] <= _JAVA_TRIM_MAX:
            end -= 1
        if start == end:
            continue
        if config.split_length is None:
            spans.append((start, end))
        else:
            spans.extend((b, e) for b, e in _truncate(start, end, text, config.split_length) if e > b)
    return spans


def detect_sentences(documents: Sequence[Annotation], config: SentenceDetectorConfig) -> list[Annotation]:
    """Split each ``document`` annotation of one row into sentence annotations.

    Args:
        documents: the row's annotations; offsets are taken relative to each one's ``begin``.
        config: the detector's params.

    Returns:
        ``document`` annotations, one per sentence, with offsets in the documents' coordinates
        (``doc.begin`` + offset in ``doc.result``), sorted by ``begin`` (stable, as Spark NLP sorts), each
        carrying its document's metadata plus ``sentence``: its index over the whole row. Sentences
        outside ``[min_length, max_length]`` are dropped before numbering.

    Example:
        >>> doc = Annotation("document", 0, 17, "Hi Mr. Smith. Bye!", {"sentence": "0"})
        >>> [(s.begin, s.end, s.result) for s in detect_sentences([doc], SentenceDetectorConfig())]
        [(0, 12, 'Hi Mr. Smith.'), (14, 17, 'Bye!')]
    """
    found: list[tuple[int, int, str, dict[str, str]]] = []
    for doc in documents:
        text = doc.result
        for start, end in split_sentences(text, config):
            if config.min_length <= end - start <= config.max_length:
                found.append((doc.begin + start, doc.begin + end - 1, text[start:end], doc.metadata))
    found.sort(key=lambda s: s[0])
    return [
        Annotation(AnnotatorType.DOCUMENT, begin, end, result, {**metadata, "sentence": str(index)})
        for index, (begin, end, result, metadata) in enumerate(found)
    ]

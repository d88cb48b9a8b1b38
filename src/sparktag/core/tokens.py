"""Split sentences into tokens: the logic of Spark NLP's default ``Tokenizer`` / ``TokenizerModel``.

How Spark NLP tokenizes, and so how this module does:

1. Text matching an *exception* regex has its whitespace protected, so "New York" stays one candidate.
2. The sentence is cut into candidates at every char outside ``targetPattern`` (by default ``\\S+``:
   candidates are the runs of non-whitespace).
3. A candidate that holds a protected exception, or equals an exception, is a token as it is (trailing
   punctuation included: "New York," with the exception "New York" is one token, as in Spark NLP).
4. Any other candidate goes through the first matching rule ``prefix + infix + suffix``; each regex
   group is one token. The default rule strips ``contextChars`` off both ends: "(Hello," gives "(",
   "Hello", ","; a run of context chars is one token ("Hi!!" gives "Hi", "!!") and only the outermost
   ones are stripped ("(U.S.)" gives "(", "U.S", ".)"). A candidate made only of context chars stays whole.
5. A group containing ``splitPattern`` (or one of ``splitChars``) is split there; the separators are
   dropped.
6. Tokens shorter than ``minLength`` or longer than ``maxLength`` are dropped.

Patterns are Java regexes in Spark NLP; they are compiled with ``re.ASCII`` so ``\\s``, ``\\w`` and
``(?i)`` behave as in ``java.util.regex`` (a no-break space is *not* whitespace there), and ``\\z`` is
read as Python's ``\\Z``. Offsets are code points, where Spark NLP counts UTF-16 units (they differ after
a char outside the BMP, such as an emoji). Where Spark NLP computes an offset assuming one-char separators
or adjacent groups, offsets here come from the actual match positions, so ``text[begin:end + 1] ==
result`` holds for every token.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache

from sparktag.annotation import Annotation, AnnotatorType

DEFAULT_CONTEXT_CHARS: tuple[str, ...] = (".", ",", ";", ":", "!", "?", "*", "-", "(", ")", '"', "'")

_PROTECT_CHAR = "ↈ"  # Spark NLP's marker for whitespace inside an exception
_BREAK_CHAR = "ↇ"  # Spark NLP's marker for a char that separates candidates


@dataclass
class TokenizerConfig:
    """Params of Spark NLP's ``Tokenizer`` (same names in snake case, same defaults).

    Args:
        target_pattern: ``targetPattern``; chars it does not match separate token candidates.
        prefix_pattern: ``prefixPattern``; must start with ``\\A``; ``None`` derives it from
            ``context_chars`` as Spark NLP does: ``\\A([<context chars>]*)``.
        suffix_pattern: ``suffixPattern``; must end with ``\\z``; ``None`` gives ``([<context chars>]*)\\z``.
        infix_patterns: ``infixPatterns``; each needs a group; the first full match wins. ``None`` gives
            ``([^<context chars>](?:.*[^<context chars>])*)``.
        context_chars: ``contextChars``; single chars stripped off the ends of candidates.
        split_chars: ``splitChars``; chars (or backslash-escaped chars) that split inside a token.
        split_pattern: ``splitPattern``; a regex that splits inside a token; wins over ``split_chars``.
            ``""`` means unset.
        exceptions: ``exceptions``; regexes for text that is never split (may contain spaces).
        case_sensitive_exceptions: ``caseSensitiveExceptions``.
        min_length: ``minLength``; shorter tokens are dropped.
        max_length: ``maxLength``; longer tokens are dropped.
    """

    target_pattern: str = "\\S+"
    prefix_pattern: str | None = None
    suffix_pattern: str | None = None
    infix_patterns: list[str] | None = None
    context_chars: list[str] = field(default_factory=lambda: list(DEFAULT_CONTEXT_CHARS))
    split_chars: list[str] = field(default_factory=list)
    split_pattern: str = ""
    exceptions: list[str] = field(default_factory=list)
    case_sensitive_exceptions: bool = True
    min_length: int = 0
    max_length: int = 99999

    def __post_init__(self) -> None:
        bad = [c for c in self.context_chars if len(c) != 1]
        if bad:
            raise ValueError(f"contextChars must hold single characters; got {bad!r}.")
        bad = [c for c in self.split_chars if not (len(c) == 1 or (len(c) == 2 and c[0] == "\\"))]
        if bad:
            raise ValueError(
                f"splitChars must hold single characters (or a backslash-escaped one); got {bad!r}."
            )
        if self.prefix_pattern is not None and not self.prefix_pattern.startswith("\\A"):
            raise ValueError(f"prefixPattern must begin with \\A; got {self.prefix_pattern!r}.")
        if self.suffix_pattern is not None and not self.suffix_pattern.endswith("\\z"):
            raise ValueError(f"suffixPattern must end with \\z; got {self.suffix_pattern!r}.")
        for infix in self.infix_patterns or []:
            if "(" not in infix or ")" not in infix:
                raise ValueError(
                    f"infixPatterns must use a regex group (each group becomes a token); got {infix!r}."
                )
        if self.min_length < 0:
            raise ValueError(f"minLength must be >= 0; got {self.min_length}.")
        if self.max_length < self.min_length:
            raise ValueError(f"maxLength ({self.max_length}) must be >= minLength ({self.min_length}).")


def rule_patterns(config: TokenizerConfig) -> list[str]:
    """The ``prefix + infix + suffix`` rules Spark NLP's ``Tokenizer.fit`` builds, as Java regex strings.

    Example:
        >>> rule_patterns(TokenizerConfig(context_chars=["(", ")"]))
        ['\\\\A([\\\\(\\\\)]*)([^\\\\(\\\\)](?:.*[^\\\\(\\\\)])*)([\\\\(\\\\)]*)\\\\z']
    """
    # Spark NLP quotes the chars with Pattern.quote inside a char class; escaping each one is the same.
    quoted = "".join(re.escape(c) for c in config.context_chars)
    context = f"[{quoted}]" if quoted else "(?!)"
    not_context = f"[^{quoted}]" if quoted else "(?s:.)"
    prefix = config.prefix_pattern if config.prefix_pattern is not None else f"\\A({context}*)"
    suffix = config.suffix_pattern if config.suffix_pattern is not None else f"({context}*)\\z"
    infixes = config.infix_patterns
    if infixes is None:
        infixes = [f"({not_context}(?:.*{not_context})*)"]
    return [prefix + infix + suffix for infix in infixes]


_JAVA_END = re.compile(r"(?<!\\)((?:\\\\)*)\\z")
_LEADING_FLAGS = re.compile(r"^\(\?([a-zA-Z]+)\)")


def _to_python_regex(pattern: str) -> str:
    """Rewrite the Java-only bits Spark NLP patterns use: ``\\z`` and a leading inline ``(?i)``."""
    pattern = _JAVA_END.sub(r"\1\\Z", pattern)
    flags = _LEADING_FLAGS.match(pattern)
    if flags:  # Python only allows global flags at the very start; scope them instead
        pattern = f"(?{flags.group(1)}:{pattern[flags.end() :]})"
    return pattern


def _compile(pattern: str, param: str) -> re.Pattern[str]:
    try:
        return re.compile(_to_python_regex(pattern), re.ASCII)
    except re.error as err:
        raise ValueError(f"{param}: {pattern!r} is not a valid regular expression: {err}") from err


@dataclass(frozen=True)
class _CompiledTokenizer:
    candidate: re.Pattern[str]  # a run of chars that are not separators
    candidate_fast: re.Pattern[str]  # the same, for text without the break marker
    break_char: re.Pattern[str]  # one separator char (Spark NLP's BREAK_PATTERN)
    rules: tuple[re.Pattern[str], ...]
    default_rules: bool  # the rule is the contextChars default: a fast path applies
    context: frozenset[str]
    exceptions: re.Pattern[str] | None
    split: re.Pattern[str] | None
    split_by_pattern: bool
    split_chars: tuple[str, ...]  # the chars whose presence triggers splitChars
    min_length: int
    max_length: int


@lru_cache(maxsize=64)
def _compile_config(
    target_pattern: str,
    rules: tuple[str, ...],
    default_rules: bool,
    context_chars: tuple[str, ...],
    split_chars: tuple[str, ...],
    split_pattern: str,
    exceptions: tuple[str, ...],
    case_sensitive_exceptions: bool,
    min_length: int,
    max_length: int,
) -> _CompiledTokenizer:
    # Spark NLP's BREAK_PATTERN is "[^(?:" + targetPattern + ")" + PROTECT_CHAR + "]": a char class, so a
    # separator is any char outside the target's class (whitespace, for \S+). Its complement, minus the
    # break marker, is a candidate char.
    inside = f"(?:{target_pattern}){_PROTECT_CHAR}"
    break_char = _compile(f"[^{inside}]", "targetPattern")
    candidate = _compile(f"(?:(?!{_BREAK_CHAR})[{inside}])+", "targetPattern")
    candidate_fast = _compile(f"[{inside}]+", "targetPattern")
    exception_regex = None
    if exceptions:
        scoped = [
            f"(?:{_to_python_regex(e)})" if case_sensitive_exceptions else f"(?i:{_to_python_regex(e)})"
            for e in exceptions
        ]
        try:
            exception_regex = re.compile("|".join(scoped), re.ASCII)
        except re.error as err:
            raise ValueError(
                f"exceptions: {list(exceptions)!r} hold an invalid regular expression: {err}"
            ) from err
    split = None
    if split_pattern:
        split = _compile(split_pattern, "splitPattern")
    elif split_chars:
        split = _compile("|".join(split_chars), "splitChars")
    return _CompiledTokenizer(
        candidate=candidate,
        candidate_fast=candidate_fast,
        break_char=break_char,
        rules=tuple(_compile(r, "prefixPattern/infixPatterns/suffixPattern") for r in rules),
        default_rules=default_rules,
        context=frozenset(context_chars),
        exceptions=exception_regex,
        split=split,
        split_by_pattern=bool(split_pattern),
        split_chars=tuple(c[-1] for c in split_chars),
        min_length=min_length,
        max_length=max_length,
    )


def _compiled(config: TokenizerConfig) -> _CompiledTokenizer:
    return _compile_config(
        config.target_pattern,
        tuple(rule_patterns(config)),
        config.prefix_pattern is None and config.suffix_pattern is None and config.infix_patterns is None,
        tuple(config.context_chars),
        tuple(config.split_chars),
        config.split_pattern,
        tuple(config.exceptions),
        config.case_sensitive_exceptions,
        config.min_length,
        config.max_length,
    )


def _candidates(text: str, tok: _CompiledTokenizer) -> tuple[list[tuple[int, str]], frozenset[int]]:
    """``(start, candidate)`` pairs of one sentence and the starts of those kept whole as exceptions."""
    if tok.exceptions is None:
        # the break marker separates candidates even when it is in the text itself, as in Spark NLP
        regex = tok.candidate if _BREAK_CHAR in text else tok.candidate_fast
        return [(m.start(), m.group()) for m in regex.finditer(text)], frozenset()

    exact: set[str] = set()  # exceptions without separators: kept when they are a whole candidate

    def protect(m: re.Match[str]) -> str:
        protected = tok.break_char.sub(_PROTECT_CHAR, m.group())
        if protected == m.group():
            exact.add(m.group())
        return protected

    # every substitution is char for char, so offsets into `marked` are offsets into `text`
    marked = tok.exceptions.sub(protect, text)
    marked = tok.break_char.sub(_BREAK_CHAR, marked)
    found = []
    whole = set()
    for m in re.finditer(f"[^{_BREAK_CHAR}]+", marked):
        start, end = m.span()
        if _PROTECT_CHAR in m.group() or m.group() in exact:
            whole.add(start)
        found.append((start, text[start:end]))
    return found, frozenset(whole)


def _split_group(group: str, start: int, tok: _CompiledTokenizer) -> list[tuple[int, str]]:
    """Split one rule group at ``splitPattern``/``splitChars`` the way Spark NLP decides to."""
    assert tok.split is not None
    if tok.split_by_pattern:
        # Spark NLP splits only if Java's String.split gives more than one piece (trailing empties dropped)
        pieces = tok.split.split(group)
        while pieces and pieces[-1] == "":
            pieces.pop()
        if len(pieces) <= 1:
            return [(start, group)]
    elif not any(c in group for c in tok.split_chars):
        return [(start, group)]
    out = []
    pos = 0
    for sep in tok.split.finditer(group):
        if sep.end() == sep.start():
            continue  # an empty match separates nothing
        out.append((start + pos, group[pos : sep.start()]))
        pos = sep.end()
    out.append((start + pos, group[pos:]))
    return out


def _apply_rules(start: int, candidate: str, tok: _CompiledTokenizer) -> list[tuple[int, str]]:
    for rule in tok.rules:  # Spark NLP's MATCH_FIRST: the first rule that matches
        m = rule.search(candidate)
        if m is None:
            continue
        out: list[tuple[int, str]] = []
        for i in range(1, (rule.groups or 0) + 1):
            group = m.group(i)
            if not group:
                continue
            group_start = start + m.start(i)
            if tok.split is not None:
                out.extend(_split_group(group, group_start, tok))
            else:
                out.append((group_start, group))
        return out
    return [(start, candidate)]  # no rule matched (e.g. only context chars): Spark NLP keeps it whole


def tokenize_text(text: str, config: TokenizerConfig) -> list[tuple[int, str]]:
    """Tokens of one text as ``(start, token)`` pairs, after the length filters.

    Example:
        >>> tokenize_text("Hello, (U.S.) world!", TokenizerConfig())
        [(0, 'Hello'), (5, ','), (7, '('), (8, 'U.S'), (11, '.)'), (14, 'world'), (19, '!')]
    """
    return _tokenize_text(text, _compiled(config))


def _tokenize_text(text: str, tok: _CompiledTokenizer) -> list[tuple[int, str]]:
    candidates, whole = _candidates(text, tok)
    context = tok.context
    fast = tok.default_rules and tok.split is None
    out: list[tuple[int, str]] = []
    for start, candidate in candidates:
        if start in whole or (fast and candidate[0] not in context and candidate[-1] not in context):
            # an exception, or a candidate the default rule would return whole
            out.append((start, candidate))
        else:
            out.extend(_apply_rules(start, candidate, tok))
    lo, hi = tok.min_length, tok.max_length
    if lo <= 1 and hi >= len(text):
        return [t for t in out if t[1]]
    return [t for t in out if t[1] and lo <= len(t[1]) <= hi]


def tokenize(sentences: Sequence[Annotation], config: TokenizerConfig) -> list[Annotation]:
    """Tokenize the ``document`` (sentence) annotations of one row.

    Args:
        sentences: sentence annotations (annotator type ``document``; others are ignored, as in Spark NLP).
        config: the tokenizer's params.

    Returns:
        ``token`` annotations in order, with offsets in the sentences' coordinates
        (``sentence.begin`` + offset in ``sentence.result``) and metadata ``{"sentence": ...}`` copied
        from the sentence's ``sentence`` metadata (its position in ``sentences`` when missing).

    Example:
        >>> sentence = Annotation("document", 10, 20, "Hello, you!", {"sentence": "1"})
        >>> [(t.begin, t.end, t.result) for t in tokenize([sentence], TokenizerConfig())]
        [(10, 14, 'Hello'), (15, 15, ','), (17, 19, 'you'), (20, 20, '!')]
    """
    tok = _compiled(config)
    token_type = AnnotatorType.TOKEN
    document_type = AnnotatorType.DOCUMENT
    # the common case (default rules, no exceptions, no splitting) is inlined: this loop is the hot path
    fast = tok.default_rules and tok.exceptions is None and tok.split is None
    finditer = tok.candidate_fast.finditer
    context = tok.context
    lo, hi = tok.min_length, tok.max_length
    out: list[Annotation] = []
    append = out.append
    for index, sentence in enumerate(sentences):
        if sentence.annotator_type != document_type:
            continue
        sentence_id = sentence.metadata.get("sentence", str(index))
        offset = sentence.begin
        text = sentence.result
        if not fast or _BREAK_CHAR in text:
            for start, token in _tokenize_text(text, tok):
                begin = offset + start
                append(
                    Annotation(token_type, begin, begin + len(token) - 1, token, {"sentence": sentence_id})
                )
            continue
        for m in finditer(text):
            candidate = m.group()
            if candidate[0] in context or candidate[-1] in context:
                pieces = _apply_rules(m.start(), candidate, tok)
            else:
                pieces = [(m.start(), candidate)]
            for start, token in pieces:
                if lo <= len(token) <= hi:
                    begin = offset + start
                    append(
                        Annotation(
                            token_type, begin, begin + len(token) - 1, token, {"sentence": sentence_id}
                        )
                    )
    return out


def tokens_by_sentence(tokens: Sequence[Annotation]) -> list[list[Annotation]]:
    """One row's tokens grouped by their ``sentence`` metadata (``"0"`` when missing), sentences in order of
    first appearance: what an embedding model or a tagger reads as one sentence.

    Example:
        >>> tokens = [Annotation("token", i, i, w, {"sentence": s}) for i, (w, s) in enumerate("a0 b0 c1".split())]
        >>> [[t.result for t in group] for group in tokens_by_sentence(tokens)]
        [['a', 'b'], ['c']]
    """
    groups: dict[str, list[Annotation]] = {}
    for token in tokens:
        groups.setdefault(token.metadata.get("sentence", "0"), []).append(token)
    return list(groups.values())

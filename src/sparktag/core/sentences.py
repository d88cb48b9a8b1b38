"""Split documents into sentences: the logic of Spark NLP's rule-based ``SentenceDetector``.

Spark NLP ports Kevin Dias' *pragmatic segmenter*: a fixed sequence of regex passes rewrites the text,
replacing chars that must not end a sentence by placeholder symbols (the "." of "Mr." or "3.14"),
inserting a break symbol where a sentence ends, and wrapping spans that must not be broken (quotes,
parentheses, "U.S.") in protection markers. The text is then cut at every break that is not inside a
protected span. Those passes, and the cutting, are :mod:`sparktag.core.sentence_rules`; this module trims,
cuts long sentences (``splitLength``), filters by length and numbers what they find.

The passes run in the same order with the same regexes (Spark NLP's newest ``PragmaticContentFormatter``),
with three differences, each to fix an offset bug rather than to change where sentences end:

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

from collections.abc import Sequence
from dataclasses import dataclass, field

from sparktag.annotation import Annotation, AnnotatorType
from sparktag.core.jvm import java_trim
from sparktag.core.sentence_rules import compile_passes, sentence_spans, symbolize

CUSTOM_BOUNDS_STRATEGIES: tuple[str, ...] = ("none", "prepend", "append")

# Java's String.trim strips every char <= U+0020; Python's str.strip would also strip U+00A0, U+3000...
_JAVA_TRIM_MAX = " "


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
    if not java_trim(text):
        return []
    passes = compile_passes(
        config.use_abbreviations,
        config.detect_lists,
        tuple(config.custom_bounds),
        config.use_custom_bounds_only,
        config.custom_bounds_strategy,
    )
    spans = []
    for start, end in sentence_spans(symbolize(text, passes)):
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

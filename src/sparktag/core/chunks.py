"""IOB1 / IOB2 / BIOES tags -> entity chunks, tag scheme converters, and Spark NLP's NerConverter.

Two chunkers live here on purpose, because the two tools they mirror disagree:

* :func:`tags_to_chunks` follows conlleval.pl's ``startOfChunk`` / ``endOfChunk`` rules, the ones every
  CoNLL score is computed with: an ``I-`` after ``O`` starts a chunk, a change of type starts a chunk, and a
  ``B-`` always starts one. It reads IOB1, IOB2 and malformed IOB2 the same way conlleval does. conlleval.pl
  knows no ``S-`` and mishandles ``E-`` followed by ``B-``; for BIOES we add the rules of the common Python
  port (``S-`` starts and ends a chunk, a chunk always ends after ``E-``). On tags made only of ``B-``/``I-``/
  ``O`` those extra rules never fire, so IOB1/IOB2 results are conlleval.pl's exactly.
* :func:`ner_converter` is Spark NLP's ``NerConverter`` (``NerTagsEncoding.fromIOB``), which only splits on
  ``B-`` and ``O``: ``B-PER I-LOC`` is one ``PER`` chunk there. Use it to build ``chunk`` annotations the way
  a Spark NLP pipeline does; use :func:`tags_to_chunks` to score.

The module also holds the two helpers that make numbers print like the JVM does (:func:`float32`,
:func:`java_float_str`): Spark NLP computes confidences and scores in ``Float`` and prints them with
``Float.toString``.
"""

from __future__ import annotations

import bisect
import math
import struct
from collections.abc import Sequence
from dataclasses import dataclass

from sparktag.annotation import Annotation, AnnotatorType

SCHEMES = ("IOB1", "IOB2", "BIOES")

# Prefixes each scheme may use; "O" is always allowed.
_SCHEME_PREFIXES = {"IOB1": {"B", "I"}, "IOB2": {"B", "I"}, "BIOES": {"B", "I", "E", "S"}}


@dataclass(frozen=True, order=True)
class Chunk:
    """One entity mention: its type and its first and last token index (both inclusive)."""

    entity: str
    start: int
    end: int


def split_tag(tag: str) -> tuple[str, str]:
    """Split a tag into (prefix, type) the way conlleval.pl does: at the first ``-``.

    ``"B-PER"`` -> ``("B", "PER")``, ``"I-B-X"`` -> ``("I", "B-X")``, ``"O"`` -> ``("O", "")``.
    """
    prefix, sep, entity = tag.partition("-")
    return (prefix, entity) if sep else (tag, "")


def _end_of_chunk(prev_tag: str, tag: str, prev_type: str, type_: str) -> bool:
    """conlleval.pl's ``endOfChunk``: does a chunk end between the previous token and this one?"""
    # conlleval.pl, in its order.
    end = (prev_tag, tag) in {
        ("B", "B"),
        ("B", "O"),
        ("I", "B"),
        ("I", "O"),
        ("E", "E"),
        ("E", "I"),
        ("E", "O"),
    }
    if prev_tag not in ("O", ".") and prev_type != type_:
        end = True
    if prev_tag in ("]", "["):
        end = True
    # BIOES extension (conlleval.pl has no S-, and lets E- B- of one type run together).
    if prev_tag in ("E", "S") or (prev_tag in ("B", "I") and tag == "S"):
        end = True
    return end


def _start_of_chunk(prev_tag: str, tag: str, prev_type: str, type_: str) -> bool:
    """conlleval.pl's ``startOfChunk``: does a chunk start at this token?"""
    start = (prev_tag, tag) in {
        ("B", "B"),
        ("I", "B"),
        ("O", "B"),
        ("O", "I"),
        ("E", "E"),
        ("E", "I"),
        ("O", "E"),
    }
    if tag not in ("O", ".") and prev_type != type_:
        start = True
    if tag in ("[", "]"):
        start = True
    # BIOES extension, see _end_of_chunk.
    if tag in ("B", "S") or (prev_tag == "S" and tag in ("E", "I")):
        start = True
    return start


def _check_scheme(tags: Sequence[str], scheme: str) -> str:
    """Resolve ``"auto"`` and reject tags the scheme does not allow; returns the scheme name."""
    name = scheme.upper()
    if name == "AUTO":
        name = detect_scheme(tags)
    if name not in _SCHEME_PREFIXES:
        raise ValueError(f"unknown tag scheme {scheme!r}: use one of {', '.join(SCHEMES)} or 'auto'")
    allowed = _SCHEME_PREFIXES[name]
    for i, tag in enumerate(tags):
        prefix, entity = split_tag(tag)
        if tag != "O" and (prefix not in allowed or not entity):
            raise ValueError(
                f"tag {tag!r} at token {i} is not valid in the {name} scheme: expected 'O' or one of "
                f"{', '.join(sorted(p + '-<type>' for p in allowed))}"
            )
    return name


def detect_scheme(tags: Sequence[str]) -> str:
    """Guess the tag scheme of one or more sentences' tags.

    ``"BIOES"`` if any ``E-`` or ``S-`` tag is present; ``"IOB1"`` if some ``I-`` tag starts a chunk (it
    follows ``O`` or a different type, which IOB2 forbids); ``"IOB2"`` otherwise. Sentences may be
    concatenated: joining with ``"O"`` changes nothing.
    """
    prev_prefix, prev_type = "O", ""
    iob1 = False
    for tag in tags:
        prefix, entity = split_tag(tag)
        if prefix in ("E", "S"):
            return "BIOES"
        if prefix == "I" and (prev_prefix == "O" or prev_type != entity):
            iob1 = True
        prev_prefix, prev_type = prefix, entity
    return "IOB1" if iob1 else "IOB2"


def tags_to_chunks(tags: Sequence[str], scheme: str = "auto") -> list[Chunk]:
    """Read the entity chunks of one sentence's tags with conlleval's rules.

    Args:
        tags: one tag per token, e.g. ``["B-PER", "I-PER", "O"]``.
        scheme: ``"IOB1"``, ``"IOB2"``, ``"BIOES"`` or ``"auto"``. All schemes are read by the same
            conlleval rules (so malformed IOB2, an ``I-`` after ``O``, still starts a chunk); the scheme only
            decides which prefixes are accepted. ``"auto"`` accepts ``B``, ``I``, ``E`` and ``S``.

    Returns:
        The chunks in order, token indices inclusive.

    Raises:
        ValueError: a tag the scheme does not allow, naming the tag and its token index.

    Example:
        >>> [(c.entity, c.start, c.end) for c in tags_to_chunks(["I-PER", "I-PER", "B-PER", "O", "I-LOC"])]
        [('PER', 0, 1), ('PER', 2, 2), ('LOC', 4, 4)]
    """
    _check_scheme(tags, scheme)
    chunks: list[Chunk] = []
    prev_tag, prev_type = "O", ""
    start = -1
    for i, tag in enumerate(tags):
        prefix, entity = split_tag(tag)
        if start >= 0 and _end_of_chunk(prev_tag, prefix, prev_type, entity):
            chunks.append(Chunk(prev_type, start, i - 1))
            start = -1
        if _start_of_chunk(prev_tag, prefix, prev_type, entity):
            start = i
        prev_tag, prev_type = prefix, entity
    if start >= 0:
        chunks.append(Chunk(prev_type, start, len(tags) - 1))
    return chunks


def chunks_to_tags(chunks: Sequence[Chunk], length: int, scheme: str = "IOB2") -> list[str]:
    """Write chunks as the tags of a ``length``-token sentence in ``"IOB1"``, ``"IOB2"`` or ``"BIOES"``."""
    name = scheme.upper()
    if name not in _SCHEME_PREFIXES:
        raise ValueError(f"unknown tag scheme {scheme!r}: use one of {', '.join(SCHEMES)}")
    tags = ["O"] * length
    prev: Chunk | None = None
    for chunk in sorted(chunks, key=lambda c: c.start):
        for i in range(chunk.start, chunk.end + 1):
            tags[i] = f"I-{chunk.entity}"
        if name == "IOB2":
            tags[chunk.start] = f"B-{chunk.entity}"
        elif name == "IOB1":
            # B- only where the chunk touches a previous chunk of the same type.
            if prev is not None and prev.end == chunk.start - 1 and prev.entity == chunk.entity:
                tags[chunk.start] = f"B-{chunk.entity}"
        elif chunk.start == chunk.end:
            tags[chunk.start] = f"S-{chunk.entity}"
        else:
            tags[chunk.start] = f"B-{chunk.entity}"
            tags[chunk.end] = f"E-{chunk.entity}"
        prev = chunk
    return tags


def iob1_to_iob2(tags: Sequence[str]) -> list[str]:
    """Rewrite IOB1 tags (CoNLL-2003's original) as IOB2: every chunk starts with ``B-``.

    Example:
        >>> iob1_to_iob2(["I-PER", "I-PER", "B-PER", "O", "I-LOC"])
        ['B-PER', 'I-PER', 'B-PER', 'O', 'B-LOC']
    """
    return chunks_to_tags(tags_to_chunks(tags, "IOB1"), len(tags), "IOB2")


def to_bioes(tags: Sequence[str], scheme: str = "auto") -> list[str]:
    """Rewrite IOB1/IOB2/BIOES tags as BIOES (``S-`` for one-token chunks, ``E-`` on the last token).

    Example:
        >>> to_bioes(["B-PER", "I-PER", "O", "B-LOC"])
        ['B-PER', 'E-PER', 'O', 'S-LOC']
    """
    return chunks_to_tags(tags_to_chunks(tags, scheme), len(tags), "BIOES")


# ---------------------------------------------------------------------------------------------------------
# JVM number formatting: Spark NLP computes in Float (32 bit) and prints with Float.toString.


def float32(value: float) -> float:
    """Round a Python float to the nearest 32-bit float (the value a JVM ``Float`` would hold)."""
    if math.isnan(value) or math.isinf(value):
        return value
    try:
        return float(struct.unpack("f", struct.pack("f", value))[0])
    except OverflowError:
        return math.copysign(math.inf, value)


def java_float_str(value: float) -> str:
    """Format a number as Java's ``Float.toString`` does (after rounding it to a 32-bit float).

    The shortest decimal that reads back as the same float; plain notation with at least one decimal for
    ``1e-3 <= |x| < 1e7``, else ``d.dddE<exp>``.

    Example:
        >>> java_float_str(0.003), java_float_str(1e-4), java_float_str(1.0 / 3.0), java_float_str(12.0)
        ('0.003', '1.0E-4', '0.33333334', '12.0')
    """
    x = float32(value)
    if math.isnan(x):
        return "NaN"
    if math.isinf(x):
        return "Infinity" if x > 0 else "-Infinity"
    if x == 0.0:
        return "-0.0" if math.copysign(1.0, x) < 0 else "0.0"
    # Shortest digit string that round-trips through float32 (at most 9 significant digits).
    for precision in range(1, 10):
        text = f"{x:.{precision - 1}e}"
        if float32(float(text)) == x:
            break
    mantissa, exp_text = text.split("e")
    exponent = int(exp_text)
    sign = "-" if mantissa.startswith("-") else ""
    digits = mantissa.lstrip("-").replace(".", "").rstrip("0") or "0"
    if 1e-3 <= abs(x) < 1e7:
        if exponent >= 0:
            whole = digits[: exponent + 1].ljust(exponent + 1, "0")
            frac = digits[exponent + 1 :] or "0"
        else:
            whole = "0"
            frac = "0" * (-exponent - 1) + digits
        return f"{sign}{whole}.{frac}"
    frac = digits[1:] or "0"
    return f"{sign}{digits[0]}.{frac}E{exponent}"


# ---------------------------------------------------------------------------------------------------------
# Spark NLP's NerConverter


@dataclass
class _TaggedWord:
    word: str
    tag: str
    begin: int
    end: int
    metadata: dict[str, str]


def _sentence_words(sentences: Sequence[Annotation], tokens: Sequence[Annotation]) -> list[list[Annotation]]:
    """The tokens inside each sentence (``begin >= sentence.begin`` and ``end <= sentence.end``), in order.

    What testing every token against every sentence gives (Spark NLP's way), without its cost: that is
    O(sentences x tokens), minutes for a 1 MB text. Tokens sorted by begin are searched from the sentence's
    begin: a token ends at or after ``begin - 1``, so one inside the sentence begins by ``sentence.end + 1``.
    A malformed token (``begin > end + 1``) is tested against every sentence.
    """
    odd = [i for i, t in enumerate(tokens) if t.begin > t.end + 1]
    odd_set = set(odd)
    order = sorted((i for i in range(len(tokens)) if i not in odd_set), key=lambda i: tokens[i].begin)
    begins = [tokens[i].begin for i in order]
    out = []
    for sentence in sentences:
        first = bisect.bisect_left(begins, sentence.begin)
        stop = bisect.bisect_right(begins, sentence.end + 1)
        inside = [i for i in order[first:stop] if tokens[i].end <= sentence.end]
        inside += [i for i in odd if tokens[i].begin >= sentence.begin and tokens[i].end <= sentence.end]
        inside.sort()  # token order, as the plain test gives
        out.append([tokens[i] for i in inside])
    return out


def _tagged_sentences(
    sentences: Sequence[Annotation], tokens: Sequence[Annotation], ner: Sequence[Annotation]
) -> list[tuple[Annotation, list[_TaggedWord]]]:
    """Spark NLP's ``NerTagged.unpack``: the tokens of each sentence with the tag found at their begin."""
    grouped = []
    for sentence, words in zip(sentences, _sentence_words(sentences, tokens), strict=True):
        if words:  # sentences without tokens are dropped, and do not count in the sentence index
            grouped.append((sentence, words))
    # One pass over the ner annotations sorted by begin, shared by all sentences (as Spark NLP does).
    tags = sorted(ner, key=lambda a: a.begin)
    position = 0
    current: Annotation | None = None
    result = []
    for sentence, words in grouped:
        tagged = []
        for token in words:
            while position < len(tags) and (current is None or current.begin < token.begin):
                current = tags[position]
                position += 1
            tag = current.result if current is not None and current.begin == token.begin else "O"
            # The confidence of the current ner annotation, keyed by the tag (Spark NLP keeps this quirk:
            # a token without its own ner annotation borrows the confidence of the next one).
            metadata: dict[str, str] = {}
            if current is not None:
                if "confidence" in current.metadata:
                    metadata = {tag: current.metadata["confidence"]}
                elif tag in current.metadata:
                    metadata = {tag: current.metadata[tag]}
            tagged.append(_TaggedWord(token.result, tag, token.begin, token.end, metadata))
        result.append((sentence, tagged))
    return result


def _check_tags(
    words: Sequence[_TaggedWord], tags: Sequence[str], sentence_index: int, ner_has_no_schema: bool
) -> None:
    """Refuse a tag no scheme reads, naming its token's place in the text (:func:`tags_to_chunks` would
    name only its position within an unnamed sentence, and a scheme the user never chose)."""
    for i, (word, tag) in enumerate(zip(words, tags, strict=True)):
        prefix, entity = split_tag(tag)
        if tag == "O" or (prefix in ("B", "I", "E", "S") and entity):
            continue
        where = (
            f"at token {i} of sentence {sentence_index} ({word.word!r}, characters {word.begin}-{word.end})"
        )
        if ner_has_no_schema:
            raise ValueError(
                f"NerConverter: tag {word.tag!r} {where} is empty; with nerHasNoSchema=True each tag is an "
                "entity type: tag it 'O' for no entity"
            )
        raise ValueError(
            f"NerConverter: tag {word.tag!r} {where} is not an IOB/BIOES tag: expected 'O' or "
            "B-/I-/E-/S-<type>; set nerHasNoSchema=True if the tags are bare entity types"
        )


@dataclass
class _NamedEntity:
    """Spark NLP's ``NamedEntity``: one chunk before it becomes an annotation."""

    begin: int
    end: int
    entity: str
    text: str
    sentence: str
    confidence: float | None


def _flush(
    sentence: Annotation,
    sentence_index: int,
    words: Sequence[_TaggedWord],
    entity: str,
    preserve_position: bool,
) -> _NamedEntity:
    """``flushEntity`` of ``NerTagsEncoding.fromIOB``: the chunk made of ``words``."""
    start = words[0].begin - sentence.begin
    end = words[-1].end - sentence.begin
    if not (0 <= start <= end < len(sentence.result)):
        raise ValueError(
            f"NerConverter: chunk offsets {start}-{end} are not within sentence {sentence_index} "
            f"({sentence.begin}-{sentence.end}, {len(sentence.result)} characters); check that the "
            "token and sentence annotations come from the same text"
        )
    text = sentence.result[start : end + 1] if preserve_position else words[0].word
    return _NamedEntity(
        words[0].begin, words[-1].end, entity, text, str(sentence_index), _mean_confidence(words)
    )


def _mean_confidence(words: Sequence[_TaggedWord]) -> float | None:
    """Mean of the chunk's token confidences in Float arithmetic; ``None`` if one is not a number."""
    values: list[float] = []
    for word in words:
        for text in word.metadata.values():
            try:
                values.append(float32(float(text.strip())))
            except ValueError:
                return None
    if not values:
        return None
    total = 0.0
    for v in values:
        total = float32(total + v)
    return float32(total / len(values))


def ner_converter(
    sentences: Sequence[Annotation],
    tokens: Sequence[Annotation],
    ner: Sequence[Annotation],
    white_list: Sequence[str] | None = None,
    preserve_position: bool = True,
    ner_has_no_schema: bool = False,
) -> list[Annotation]:
    """Spark NLP's ``NerConverter``: merge the tags of one row into ``chunk`` annotations.

    Follows ``NerConverter.annotate`` and ``NerTagsEncoding.fromIOB`` (IOB2 mode) of Spark NLP:

    * tokens belong to the sentence whose span contains them; a token's tag is the ``named_entity``
      annotation that begins where the token begins, else ``"O"``;
    * chunk boundaries follow conlleval (:func:`tags_to_chunks`) for IOB1, IOB2 and BIOES alike: an ``I-``
      after ``O`` starts a chunk and a change of type starts a new one. Spark NLP instead keeps ``B-PER
      I-LOC`` as one ``PER`` chunk; splitting there keeps NerConverter's chunks identical to the ones the
      entity-level metrics score;
    * ``begin``/``end`` are the first token's begin and the last token's end;
    * ``result`` is the sentence text between them (``sentence.result[begin - sentence.begin : end -
      sentence.begin + 1]``) with ``preserve_position=True``; with ``False`` it is the first token's text
      only, as in Spark NLP;
    * metadata ``entity``, ``sentence`` (index among sentences that have tokens), ``chunk`` (index after the
      white list filter) and ``confidence``: the mean, in Float arithmetic and printed as Java prints a
      Float, of the ``confidence`` values (or scores under the tag's key) the chunk's tokens carry; left out
      when none carries one or one is not a number.

    Spark NLP's ``NerConverter`` has no black list (only the licensed ``NerConverterInternal`` has one).

    Args:
        sentences: ``document`` annotations, one per sentence (a whole document works as one sentence).
        tokens: ``token`` annotations.
        ner: ``named_entity`` annotations (``result`` is the tag).
        white_list: if given, keep only chunks of these entity types (without ``B-``/``I-``).
        preserve_position: take ``result`` from the sentence text (True) or the first token (False).
        ner_has_no_schema: tags have no ``B-``/``I-`` prefix; the whole tag is the entity type.

    Returns:
        ``chunk`` annotations in text order.

    Raises:
        ValueError: a tag that is neither ``O`` nor ``B-``/``I-``/``E-``/``S-<type>`` (naming its token), or
            a chunk's offsets fall outside its sentence's text.
    """
    chunks: list[_NamedEntity] = []
    for sentence_index, (sentence, words) in enumerate(_tagged_sentences(sentences, tokens, ner)):
        tags = [w.tag for w in words]
        if ner_has_no_schema:
            # each run of one non-O tag is a chunk of that type
            tags = [
                "O" if t == "O" else ("I-" if i and tags[i - 1] == t else "B-") + t
                for i, t in enumerate(tags)
            ]
        _check_tags(words, tags, sentence_index, ner_has_no_schema)
        spans = [(c.start, c.end, c.entity) for c in tags_to_chunks(tags, "auto")]
        for first, last, entity in spans:
            chunks.append(
                _flush(sentence, sentence_index, words[first : last + 1], entity, preserve_position)
            )

    if white_list is not None:
        allowed = set(white_list)
        chunks = [c for c in chunks if c.entity in allowed]
    result = []
    for idx, c in enumerate(chunks):
        metadata = {"entity": c.entity, "sentence": c.sentence, "chunk": str(idx)}
        if c.confidence is not None:
            metadata["confidence"] = java_float_str(c.confidence)
        result.append(Annotation(AnnotatorType.CHUNK, c.begin, c.end, c.text, metadata))
    return result

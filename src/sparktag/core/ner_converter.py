"""Spark NLP's ``NerConverter``: the tags of one row's tokens -> ``chunk`` annotations.

The logic of ``NerConverter.annotate`` and ``NerTagsEncoding.fromIOB``, with one deliberate difference: chunk
boundaries follow conlleval (:func:`~sparktag.core.chunks.tags_to_chunks`), where Spark NLP splits only on
``B-`` and ``O``. ``B-PER I-LOC`` is one ``PER`` chunk in Spark NLP and a ``PER`` and a ``LOC`` chunk here, the
chunks the entity-level metrics score. The ``NerConverter`` stage (``sparktag.spark.ner_converter``) maps
:func:`ner_converter` over rows; LightPipeline and serving call it directly.
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from dataclasses import dataclass

from sparktag.annotation import Annotation, AnnotatorType
from sparktag.core.chunks import is_iob_tag, tags_to_chunks
from sparktag.core.jvm import float32, java_float_str


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
        if is_iob_tag(tag):
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
    * chunk boundaries follow conlleval (:func:`~sparktag.core.chunks.tags_to_chunks`) for IOB1, IOB2 and
      BIOES alike: an ``I-`` after ``O`` starts a chunk and a change of type starts a new one, so ``B-PER
      I-LOC`` is a ``PER`` chunk and a ``LOC`` chunk. Spark NLP instead keeps ``B-PER I-LOC`` as one ``PER``
      chunk; splitting there keeps NerConverter's chunks identical to the ones the entity-level metrics score;
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

"""IOB1 / IOB2 / BIOES tags -> entity chunks, the one rule of what a tag is, and tag scheme converters.

:func:`is_iob_tag` is the rule every reader of tags applies (the CoNLL reader, NerDLApproach's labels,
NerConverter, the scorers): ``O``, or a prefix ``B``/``I``/``E``/``S``, a ``-`` and a non-empty type.

:func:`tags_to_chunks` follows conlleval.pl's ``startOfChunk`` / ``endOfChunk`` rules, the ones every CoNLL score
is computed with: an ``I-`` after ``O`` starts a chunk, a change of type starts a chunk (``B-PER I-LOC`` is a
``PER`` chunk and a ``LOC`` chunk), and a ``B-`` always starts one. It reads IOB1, IOB2 and malformed IOB2 the
same way conlleval does. conlleval.pl knows no ``S-`` and mishandles ``E-`` followed by ``B-``; for BIOES we add
the rules of the common Python port (``S-`` starts and ends a chunk, a chunk always ends after ``E-``). On tags
made only of ``B-``/``I-``/``O`` those extra rules never fire, so IOB1/IOB2 results are conlleval.pl's exactly.
:func:`sparktag.core.ner_converter.ner_converter` builds its ``chunk`` annotations with it too, so the chunks a
pipeline writes are the ones the entity-level metrics score.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass

SCHEMES = ("IOB1", "IOB2", "BIOES")

PREFIXES = frozenset({"B", "I", "E", "S"})  # every prefix a tag may have, in some scheme
# Prefixes each scheme may use; "O" is always allowed.
_SCHEME_PREFIXES = {"IOB1": frozenset({"B", "I"}), "IOB2": frozenset({"B", "I"}), "BIOES": PREFIXES}


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


def is_iob_tag(tag: str, prefixes: Collection[str] = PREFIXES) -> bool:
    """Whether ``tag`` is ``"O"`` or ``<prefix>-<type>`` with one of ``prefixes`` and a non-empty type.

    Args:
        tag: the tag to check.
        prefixes: the prefixes allowed (default ``B``, ``I``, ``E``, ``S``: IOB1, IOB2 and BIOES).

    Example:
        >>> [is_iob_tag(t) for t in ("O", "B-PER", "S-LOC", "PER", "B-", "X-PER")]
        [True, True, True, False, False, False]
        >>> is_iob_tag("E-PER", prefixes={"B", "I"})
        False
    """
    prefix, entity = split_tag(tag)
    return tag == "O" or (prefix in prefixes and bool(entity))


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
        if not is_iob_tag(tag, allowed):
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
    """Rewrite one sentence's IOB1 tags (CoNLL-2003's original) as IOB2: every chunk starts with ``B-``.

    Chunks are read with :func:`tags_to_chunks`, so ``I-X`` (or ``E-X``) that does not continue a chunk of type
    ``X`` starts one (``B-X``), and IOB2 and BIOES input come out as IOB2 too (``S-X`` -> ``B-X``, ``E-X`` inside
    a chunk -> ``I-X``).

    Raises:
        ValueError: a tag :func:`is_iob_tag` refuses, naming it and its token index.

    Example:
        >>> iob1_to_iob2(["I-PER", "I-PER", "B-PER", "O", "I-LOC"])
        ['B-PER', 'I-PER', 'B-PER', 'O', 'B-LOC']
    """
    return chunks_to_tags(tags_to_chunks(tags, "auto"), len(tags), "IOB2")


def to_bioes(tags: Sequence[str], scheme: str = "auto") -> list[str]:
    """Rewrite IOB1/IOB2/BIOES tags as BIOES (``S-`` for one-token chunks, ``E-`` on the last token).

    Example:
        >>> to_bioes(["B-PER", "I-PER", "O", "B-LOC"])
        ['B-PER', 'E-PER', 'O', 'S-LOC']
    """
    return chunks_to_tags(tags_to_chunks(tags, scheme), len(tags), "BIOES")

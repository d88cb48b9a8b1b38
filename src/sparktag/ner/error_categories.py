"""Entity errors in the MUC categories (Chinchor & Sundheim), with the matching rules of nervaluate 1.2.1.

Every gold and predicted chunk of a sentence (read by :func:`sparktag.core.chunks.tags_to_chunks`) ends in one
outcome of six categories:

============================  =====================================================================
``correct``                   a prediction of the gold chunk's type and exact span
``wrong_type``                exact span, another type
``wrong_boundary``            same type, overlapping span that is not the gold one
``wrong_type_and_boundary``   another type and an overlapping span that is not the gold one
``missed``                    a gold chunk no prediction was matched with
``spurious``                  a prediction matched with no gold chunk
============================  =====================================================================

Matching is nervaluate's ``ent_type`` rule: predictions are taken left to right; each is matched with one gold
chunk it overlaps (by at least one token) that no earlier prediction took: among those of its own type, the
one with the closest boundaries (the fewest tokens off at start plus end; the leftmost on a tie), else the
leftmost of another type. So ``[PER Acme 's Ann Lee]`` over gold ``[ORG Acme] 's [PER Ann Lee]`` is a
``wrong_boundary`` of the PER and a ``missed`` ORG, not an ORG read as PER.

How nervaluate's counts (COR, INC, PAR, MIS, SPU) follow from the six, for each of its schemas:

* ``strict``: COR = correct; INC = wrong_type + wrong_boundary + wrong_type_and_boundary
* ``exact``: COR = correct + wrong_type; INC = wrong_boundary + wrong_type_and_boundary
* ``partial``: COR = correct + wrong_type; PAR = wrong_boundary + wrong_type_and_boundary
* ``ent_type``: COR = correct + wrong_boundary; INC = wrong_type + wrong_type_and_boundary
* all four: MIS = missed; SPU = spurious

These equal nervaluate's ``ent_type`` counts. Its ``strict``, ``exact`` and ``partial`` schemas match a
prediction with the leftmost free gold chunk it overlaps, whatever its type; that changes no count unless one
gold chunk overlaps two predictions, where the two rules may leave different chunks missed (and nervaluate's
own schemas may disagree with each other on MIS). Two more differences: nervaluate counts an overlap only if
it covers at least 1% of the gold chunk (any overlap here: the two differ only for gold chunks over 100 tokens),
and its per-type tables score each type on its own chunks, so there a wrong type is a ``missed`` of the gold
type plus a ``spurious`` of the predicted one; :func:`match_chunks` on one type's chunks gives those tables.
:func:`count_categories` instead counts every outcome under its gold type (spurious ones under the predicted
type), so the rows add up to the total.
"""

from __future__ import annotations

from collections.abc import Container, Iterable, Sequence
from dataclasses import dataclass

from sparktag.core.chunks import Chunk, tags_to_chunks

Tags = Sequence[Sequence[str]]

CATEGORIES = ("correct", "wrong_type", "wrong_boundary", "wrong_type_and_boundary", "missed", "spurious")
ERROR_CATEGORIES = CATEGORIES[1:]
#: the row of :func:`count_categories` that adds up every type
ALL_TYPES = "(all)"


@dataclass(frozen=True)
class EntityOutcome:
    """What became of one gold chunk, one prediction, or a gold chunk and the prediction matched with it.

    ``gold`` is None for a ``spurious`` prediction, ``pred`` None for a ``missed`` gold chunk.
    """

    sentence: int
    category: str
    gold: Chunk | None
    pred: Chunk | None

    def __post_init__(self) -> None:
        if self.category not in CATEGORIES:
            raise ValueError(f"unknown category {self.category!r}: use one of {', '.join(CATEGORIES)}")
        if self.gold is None and self.pred is None:
            raise ValueError(f"a {self.category} outcome needs a gold chunk, a prediction or both")

    @property
    def entity(self) -> str:
        """The type the outcome counts under: the gold chunk's, or the prediction's when it is spurious."""
        chunk = self.gold or self.pred
        assert chunk is not None  # __post_init__ refuses an outcome without either
        return chunk.entity

    @property
    def is_error(self) -> bool:
        """Whether the category is anything but ``correct``."""
        return self.category != "correct"


def check_same_shape(gold: Tags, pred: Tags) -> None:
    """Refuse gold and predicted tags that differ in the number of sentences or of tags in a sentence.

    Raises:
        ValueError: naming the first sentence that differs.
    """
    if len(gold) != len(pred):
        raise ValueError(
            f"gold has {len(gold)} sentences but pred has {len(pred)}; pass one tag list per sentence"
        )
    for i, (g, p) in enumerate(zip(gold, pred, strict=True)):
        if len(g) != len(p):
            raise ValueError(
                f"sentence {i}: gold has {len(g)} tags but pred has {len(p)}; align them per token"
            )


def _overlaps(a: Chunk, b: Chunk) -> bool:
    return a.start <= b.end and b.start <= a.end


def _partner(pred: Chunk, gold: Sequence[Chunk], taken: Container[int]) -> int | None:
    """The index of the gold chunk ``pred`` is matched with (nervaluate's ``ent_type`` rule), or None."""
    same_type: tuple[int, int] | None = None  # (boundary distance, index)
    other_type: int | None = None
    for i, g in enumerate(gold):
        if i in taken or not _overlaps(pred, g):
            continue
        if g.entity == pred.entity:
            distance = abs(pred.start - g.start) + abs(pred.end - g.end)
            if same_type is None or distance < same_type[0]:
                same_type = (distance, i)
        elif other_type is None:
            other_type = i
    return same_type[1] if same_type is not None else other_type


def _category(gold: Chunk, pred: Chunk) -> str:
    same_span = (gold.start, gold.end) == (pred.start, pred.end)
    if gold.entity == pred.entity:
        return "correct" if same_span else "wrong_boundary"
    return "wrong_type" if same_span else "wrong_type_and_boundary"


def match_chunks(gold: Sequence[Chunk], pred: Sequence[Chunk], sentence: int = 0) -> list[EntityOutcome]:
    """The outcome of every gold and predicted chunk of one sentence (matching rule: see the module doc).

    Args:
        gold: the sentence's gold chunks, in order and not overlapping each other (as
            :func:`~sparktag.core.chunks.tags_to_chunks` reads them).
        pred: its predicted chunks, likewise.
        sentence: the sentence index the outcomes carry.

    Returns:
        One outcome per gold chunk and per unmatched prediction, ordered by the first token they cover.

    Example:
        >>> from sparktag.core.chunks import Chunk
        >>> [o.category for o in match_chunks([Chunk("PER", 0, 1), Chunk("LOC", 3, 3)], [Chunk("PER", 0, 2)])]
        ['wrong_boundary', 'missed']
    """
    taken: dict[int, Chunk] = {}  # gold index -> the prediction matched with it
    outcomes: list[EntityOutcome] = []
    for p in pred:
        i = _partner(p, gold, taken)
        if i is None:
            outcomes.append(EntityOutcome(sentence, "spurious", None, p))
        else:
            taken[i] = p
    for i, g in enumerate(gold):
        p_or_none = taken.get(i)
        category = "missed" if p_or_none is None else _category(g, p_or_none)
        outcomes.append(EntityOutcome(sentence, category, g, p_or_none))
    return sorted(outcomes, key=_position)


def _position(outcome: EntityOutcome) -> tuple[int, int]:
    starts = [c.start for c in (outcome.gold, outcome.pred) if c is not None]
    ends = [c.end for c in (outcome.gold, outcome.pred) if c is not None]
    return min(starts), max(ends)


def categorize_entities(gold: Tags, pred: Tags, scheme: str = "auto") -> list[EntityOutcome]:
    """The outcome of every gold and predicted entity of a test set, in the MUC categories.

    Args:
        gold: one list of tags per sentence.
        pred: the predicted tags, same shape.
        scheme: ``"IOB1"``, ``"IOB2"``, ``"BIOES"`` or ``"auto"`` (see
            :func:`~sparktag.core.chunks.tags_to_chunks`).

    Returns:
        The outcomes sentence by sentence (see :func:`match_chunks`); ``correct`` ones are
        :func:`~sparktag.ner.metrics.entity_scores`' true positives.

    Raises:
        ValueError: gold and pred differ in shape, or a tag the scheme does not allow (naming the sentence,
            gold or pred, the tag and its token index).

    Example:
        >>> outcomes = categorize_entities([["B-LOC", "O", "B-PER"]], [["B-ORG", "B-PER", "I-PER"]])
        >>> [(o.category, o.entity) for o in outcomes]
        [('wrong_type', 'LOC'), ('wrong_boundary', 'PER')]
    """
    check_same_shape(gold, pred)
    outcomes: list[EntityOutcome] = []
    for i, (g_tags, p_tags) in enumerate(zip(gold, pred, strict=True)):
        outcomes.extend(
            match_chunks(_chunks(g_tags, scheme, i, "gold"), _chunks(p_tags, scheme, i, "pred"), i)
        )
    return outcomes


def _chunks(tags: Sequence[str], scheme: str, sentence: int, side: str) -> list[Chunk]:
    try:
        return tags_to_chunks(tags, scheme)
    except ValueError as err:
        raise ValueError(f"sentence {sentence} ({side}): {err}") from err


def count_categories(outcomes: Iterable[EntityOutcome]) -> dict[str, dict[str, int]]:
    """Count outcomes per entity type and category.

    Args:
        outcomes: from :func:`categorize_entities` or :func:`match_chunks`.

    Returns:
        ``{type: {category: count}}`` with every category of :data:`CATEGORIES` in each row, the types sorted
        and a last row :data:`ALL_TYPES` adding them up. An outcome counts under its gold chunk's type (a
        spurious one under the predicted type): an ORG read as LOC is a ``wrong_type`` of ORG.

    Example:
        >>> outcomes = categorize_entities([["B-LOC", "O"]], [["B-ORG", "B-PER"]])
        >>> {t: {c: n for c, n in row.items() if n} for t, row in count_categories(outcomes).items()}
        {'LOC': {'wrong_type': 1}, 'PER': {'spurious': 1}, '(all)': {'wrong_type': 1, 'spurious': 1}}
    """
    counts: dict[str, dict[str, int]] = {}
    for outcome in outcomes:
        row = counts.setdefault(outcome.entity, dict.fromkeys(CATEGORIES, 0))
        row[outcome.category] += 1
    table = {entity: counts[entity] for entity in sorted(counts)}
    table[ALL_TYPES] = {c: sum(row[c] for row in counts.values()) for c in CATEGORIES}
    return table

"""The MUC error categories: by hand for each category, and against nervaluate's counts on random tags."""

from __future__ import annotations

from collections.abc import Sequence

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from nervaluate import Evaluator

from sparktag.core.chunks import Chunk, tags_to_chunks, to_bioes
from sparktag.ner.error_categories import (
    ALL_TYPES,
    CATEGORIES,
    EntityOutcome,
    categorize_entities,
    count_categories,
    match_chunks,
)
from sparktag.ner.metrics import categorize_entities as reexported
from sparktag.ner.metrics import entity_scores

RANDOM = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
SCHEMAS = ("strict", "exact", "partial", "ent_type")


def outcomes_of(gold: list[str], pred: list[str]) -> list[tuple[str, str | None, str | None]]:
    """One sentence's outcomes as (category, gold chunk, predicted chunk), chunks written ``TYPE:start-end``."""

    def text(c: Chunk | None) -> str | None:
        return None if c is None else f"{c.entity}:{c.start}-{c.end}"

    return [(o.category, text(o.gold), text(o.pred)) for o in categorize_entities([gold], [pred])]


# --- by hand ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("gold", "pred", "expected"),
    [
        (["B-PER", "I-PER", "O"], ["B-PER", "I-PER", "O"], [("correct", "PER:0-1", "PER:0-1")]),
        (["B-ORG", "I-ORG", "O"], ["B-LOC", "I-LOC", "O"], [("wrong_type", "ORG:0-1", "LOC:0-1")]),
        (["B-PER", "I-PER", "O"], ["B-PER", "O", "O"], [("wrong_boundary", "PER:0-1", "PER:0-0")]),
        (["O", "B-PER", "O"], ["B-PER", "I-PER", "I-PER"], [("wrong_boundary", "PER:1-1", "PER:0-2")]),
        (
            ["B-ORG", "I-ORG", "O"],
            ["O", "B-LOC", "I-LOC"],
            [("wrong_type_and_boundary", "ORG:0-1", "LOC:1-2")],
        ),
        (["O", "B-MISC", "O"], ["O", "O", "O"], [("missed", "MISC:1-1", None)]),
        (["O", "O", "O"], ["O", "O", "B-LOC"], [("spurious", None, "LOC:2-2")]),
    ],
    ids=CATEGORIES[:1] + ("wrong_type", "shorter", "longer", "wrong_type_and_boundary", "missed", "spurious"),
)
def test_each_category_by_hand(gold, pred, expected):
    assert outcomes_of(gold, pred) == expected
    assert nervaluate_counts(our_row([gold], [pred])) == reference_counts([gold], [pred])


def test_a_prediction_over_two_gold_chunks_takes_the_one_of_its_type():
    # [PER Acme 's Ann Lee] over gold [ORG Acme] 's [PER Ann Lee]: a PER too long and a missed ORG (not the
    # leftmost gold chunk, the ORG, read as PER).
    gold = ["B-ORG", "O", "B-PER", "I-PER"]
    pred = ["B-PER", "I-PER", "I-PER", "I-PER"]
    assert outcomes_of(gold, pred) == [("missed", "ORG:0-0", None), ("wrong_boundary", "PER:2-3", "PER:0-3")]
    assert nervaluate_counts(our_row([gold], [pred])) == reference_counts([gold], [pred])


def test_of_two_gold_chunks_of_its_type_a_prediction_takes_the_closest_then_the_leftmost():
    gold = ["B-PER", "I-PER", "O", "B-PER", "I-PER"]
    closest = ["O", "B-PER", "I-PER", "I-PER", "I-PER"]  # PER 1-4: 4 tokens off PER 0-1, 2 off PER 3-4
    assert outcomes_of(gold, closest) == [
        ("missed", "PER:0-1", None),
        ("wrong_boundary", "PER:3-4", "PER:1-4"),
    ]
    tie = ["O", "B-PER", "I-PER", "I-PER", "O"]  # PER 1-3: 3 tokens off each
    assert outcomes_of(gold, tie) == [("wrong_boundary", "PER:0-1", "PER:1-3"), ("missed", "PER:3-4", None)]
    for pred in (closest, tie):
        assert nervaluate_counts(our_row([gold], [pred])) == reference_counts([gold], [pred])


def test_a_gold_chunk_is_matched_once_and_a_later_prediction_over_it_is_spurious():
    # LOC 0-1, PER 2-4 in gold; PER 1-2 takes the PER (its type), so ORG 4-5 finds it taken: spurious.
    gold = ["B-LOC", "I-LOC", "B-PER", "I-PER", "I-PER", "O"]
    pred = ["O", "B-PER", "I-PER", "O", "B-ORG", "I-ORG"]
    assert outcomes_of(gold, pred) == [
        ("missed", "LOC:0-1", None),
        ("wrong_boundary", "PER:2-4", "PER:1-2"),
        ("spurious", None, "ORG:4-5"),
    ]
    # nervaluate's ent_type agrees; its strict schema matches PER 1-2 with the leftmost gold (LOC) and ORG 4-5
    # with the PER, so it sees no missed and no spurious chunk: its own schemas differ on MIS here.
    ours = nervaluate_counts(our_row([gold], [pred]))
    reference = reference_counts([gold], [pred])
    assert ours["ent_type"] == reference["ent_type"] == (1, 0, 0, 1, 1)
    assert reference["strict"] == (0, 2, 0, 0, 0)


def test_nervaluate_needs_an_overlap_of_one_percent_of_the_gold_chunk():
    # The one documented difference beyond matching: one token inside a 101-token gold chunk.
    gold = ["B-PER"] + ["I-PER"] * 100
    pred = ["O"] * 50 + ["B-PER"] + ["O"] * 50
    assert [o[0] for o in outcomes_of(gold, pred)] == ["wrong_boundary"]
    assert reference_counts([gold], [pred])["ent_type"] == (0, 0, 0, 1, 1)


def test_outcomes_carry_the_sentence_and_come_in_token_order():
    gold = [["O", "B-LOC"], ["B-PER", "O", "B-ORG"]]
    pred = [["O", "B-LOC"], ["O", "B-PER", "B-ORG"]]
    outcomes = categorize_entities(gold, pred)
    assert [(o.sentence, o.category, o.entity) for o in outcomes] == [
        (0, "correct", "LOC"),
        (1, "missed", "PER"),
        (1, "spurious", "PER"),
        (1, "correct", "ORG"),
    ]
    assert [o.is_error for o in outcomes] == [False, True, True, False]
    assert reexported is categorize_entities


def test_counts_go_under_the_gold_type_and_add_up():
    gold = [["B-ORG", "O", "B-PER", "I-PER", "O"]]
    pred = [["B-LOC", "O", "B-PER", "O", "B-MISC"]]
    table = count_categories(categorize_entities(gold, pred))
    assert list(table) == ["MISC", "ORG", "PER", ALL_TYPES]
    assert {t: {c: n for c, n in row.items() if n} for t, row in table.items()} == {
        "MISC": {"spurious": 1},
        "ORG": {"wrong_type": 1},
        "PER": {"wrong_boundary": 1},
        ALL_TYPES: {"wrong_type": 1, "wrong_boundary": 1, "spurious": 1},
    }
    assert all(list(row) == list(CATEGORIES) for row in table.values())
    assert count_categories([]) == {ALL_TYPES: dict.fromkeys(CATEGORIES, 0)}


def test_the_tag_scheme_does_not_change_the_outcomes():
    gold = [["B-PER", "I-PER", "O", "B-LOC"], ["B-ORG", "I-ORG", "I-ORG", "O"]]
    pred = [["B-PER", "O", "O", "B-ORG"], ["O", "B-ORG", "I-ORG", "B-PER"]]
    bioes = categorize_entities([to_bioes(t) for t in gold], [to_bioes(t) for t in pred], scheme="BIOES")
    assert bioes == categorize_entities(gold, pred, scheme="IOB2")


def test_correct_outcomes_are_the_strict_true_positives():
    gold = [["B-PER", "I-PER", "O", "B-LOC"], ["B-ORG", "I-ORG", "I-ORG", "O"]]
    pred = [["B-PER", "I-PER", "O", "B-ORG"], ["B-ORG", "I-ORG", "O", "B-PER"]]
    correct = sum(o.category == "correct" for o in categorize_entities(gold, pred))
    assert correct == entity_scores(gold, pred).total.tp == 1


def test_shape_and_tag_errors_say_where():
    with pytest.raises(ValueError, match="gold has 1 sentences but pred has 2"):
        categorize_entities([["O"]], [["O"], ["O"]])
    with pytest.raises(ValueError, match="sentence 1: gold has 2 tags but pred has 1"):
        categorize_entities([["O"], ["O", "O"]], [["O"], ["O"]])
    with pytest.raises(ValueError, match=r"sentence 1 \(pred\): tag 'PER' at token 0 is not valid"):
        categorize_entities([["O"], ["O"]], [["O"], ["PER"]])


def test_an_outcome_needs_a_known_category_and_a_chunk():
    with pytest.raises(ValueError, match="unknown category 'partial': use one of correct, wrong_type"):
        EntityOutcome(0, "partial", Chunk("PER", 0, 0), None)
    with pytest.raises(ValueError, match="a missed outcome needs a gold chunk, a prediction or both"):
        EntityOutcome(0, "missed", None, None)


# --- against nervaluate ----------------------------------------------------------------------------------


def our_row(
    gold: Sequence[list[str]], pred: Sequence[list[str]], entity: str | None = None
) -> dict[str, int]:
    """Our category counts: overall, or as nervaluate's table of one type (that type's chunks alone)."""
    if entity is None:
        return count_categories(categorize_entities(gold, pred))[ALL_TYPES]
    outcomes = [
        o
        for i, (g, p) in enumerate(zip(gold, pred, strict=True))
        for o in match_chunks(
            [c for c in tags_to_chunks(g) if c.entity == entity],
            [c for c in tags_to_chunks(p) if c.entity == entity],
            i,
        )
    ]
    row = count_categories(outcomes).get(entity, dict.fromkeys(CATEGORIES, 0))
    assert row["wrong_type"] == row["wrong_type_and_boundary"] == 0
    return row


def nervaluate_counts(row: dict[str, int]) -> dict[str, tuple[int, int, int, int, int]]:
    """The (COR, INC, PAR, MIS, SPU) of each nervaluate schema, from one row of category counts."""
    n = row
    boundary = n["wrong_boundary"] + n["wrong_type_and_boundary"]
    missed_spurious = (n["missed"], n["spurious"])
    return {
        "strict": (n["correct"], n["wrong_type"] + boundary, 0, *missed_spurious),
        "exact": (n["correct"] + n["wrong_type"], boundary, 0, *missed_spurious),
        "partial": (n["correct"] + n["wrong_type"], 0, boundary, *missed_spurious),
        "ent_type": (
            n["correct"] + n["wrong_boundary"],
            n["wrong_type"] + n["wrong_type_and_boundary"],
            0,
            *missed_spurious,
        ),
    }


def reference_counts(
    gold: Sequence[list[str]], pred: Sequence[list[str]], entity: str | None = None
) -> dict[str, tuple[int, int, int, int, int]]:
    """nervaluate's own counts over the tag lists (its list loader): overall, or its table for one type."""
    types = sorted({c.entity for tags in [*gold, *pred] for c in tags_to_chunks(tags)}) or ["PER"]
    results = Evaluator(list(gold), list(pred), tags=types, loader="list").evaluate()
    by_schema = results["overall"] if entity is None else results["entities"][entity]
    return {
        s: (r.correct, r.incorrect, r.partial, r.missed, r.spurious) for s in SCHEMAS for r in [by_schema[s]]
    }


def a_gold_chunk_overlaps_two_predictions(
    gold: list[str], pred: list[str], entity: str | None = None
) -> bool:
    """Where nervaluate's strict/exact/partial matching may differ from its ent_type matching (module doc)."""
    g_chunks = [c for c in tags_to_chunks(gold) if entity in (None, c.entity)]
    p_chunks = [c for c in tags_to_chunks(pred) if entity in (None, c.entity)]
    return any(sum(p.start <= g.end and g.start <= p.end for p in p_chunks) > 1 for g in g_chunks)


TAGS = st.sampled_from(["O", "O", "O", "B-A", "I-A", "B-B", "I-B", "B-C", "I-C"])


@st.composite
def corpora(draw: st.DrawFn) -> tuple[list[list[str]], list[list[str]]]:
    """Gold and predicted IOB tags: predictions random, or the gold tags with a few tokens changed."""
    gold: list[list[str]] = []
    pred: list[list[str]] = []
    for _ in range(draw(st.integers(1, 6))):
        tags = draw(st.lists(TAGS, min_size=1, max_size=14))
        if draw(st.booleans()):
            guess = draw(st.lists(TAGS, min_size=len(tags), max_size=len(tags)))
        else:
            guess = list(tags)
            for i in draw(st.lists(st.integers(0, len(tags) - 1), max_size=3)):
                guess[i] = draw(TAGS)
        gold.append(tags)
        pred.append(guess)
    return gold, pred


def assert_counts_like_nervaluate(
    gold: list[list[str]], pred: list[list[str]], entity: str | None = None
) -> None:
    """Our counts, mapped to nervaluate's schemas, against nervaluate on the same tags (overall or one type).

    ent_type and every schema's COR: always. All of strict/exact/partial: on the sentences where no gold chunk
    overlaps two predictions (see the module doc of sparktag.ner.error_categories).
    """
    expected = nervaluate_counts(our_row(gold, pred, entity))
    reference = reference_counts(gold, pred, entity)
    assert expected["ent_type"] == reference["ent_type"]
    assert [expected[s][0] for s in SCHEMAS] == [reference[s][0] for s in SCHEMAS]

    plain = [
        i
        for i, (g, p) in enumerate(zip(gold, pred, strict=True))
        if not a_gold_chunk_overlaps_two_predictions(g, p, entity)
    ]
    gold_plain, pred_plain = [gold[i] for i in plain], [pred[i] for i in plain]
    held = {c.entity for tags in gold_plain + pred_plain for c in tags_to_chunks(tags)}
    if plain and (entity is None or entity in held):  # nervaluate keeps no table of a type it was not given
        assert nervaluate_counts(our_row(gold_plain, pred_plain, entity)) == reference_counts(
            gold_plain, pred_plain, entity
        )


@RANDOM
@given(corpus=corpora())
def test_overall_counts_equal_nervaluates(corpus):
    gold, pred = corpus
    assert_counts_like_nervaluate(gold, pred)


@RANDOM
@given(corpus=corpora())
def test_per_type_counts_equal_nervaluates(corpus):
    """nervaluate's per-type tables score each type on its own chunks: match_chunks on that type's chunks."""
    gold, pred = corpus
    types = {c.entity for tags in gold + pred for c in tags_to_chunks(tags)}
    for entity in sorted(types):
        assert_counts_like_nervaluate(gold, pred, entity)


@RANDOM
@given(corpus=corpora())
def test_nervaluates_chunks_are_conllevals_on_iob2_like_tags(corpus):
    """Its list loader reads B-/I-/O tags into the chunks tags_to_chunks reads, so both score the same mentions."""
    from nervaluate.loaders import ListLoader

    gold, _ = corpus
    theirs = [[(e.label, e.start, e.end) for e in doc] for doc in ListLoader().load(gold)]
    assert theirs == [[(c.entity, c.start, c.end) for c in tags_to_chunks(t)] for t in gold]

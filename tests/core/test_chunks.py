"""What a tag is, chunks from IOB1/IOB2/BIOES tags (conlleval rules), and the scheme converters."""

from __future__ import annotations

import random

import pytest
from seqeval.metrics.sequence_labeling import get_entities

from sparktag.core.chunks import (
    Chunk,
    chunks_to_tags,
    detect_scheme,
    iob1_to_iob2,
    is_iob_tag,
    tags_to_chunks,
    to_bioes,
)


def spans(tags: list[str], scheme: str = "auto") -> list[tuple[str, int, int]]:
    return [(c.entity, c.start, c.end) for c in tags_to_chunks(tags, scheme)]


# --- what a tag is -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("tag", "valid"),
    [
        ("O", True),
        ("B-PER", True),
        ("I-PER", True),
        ("E-LOC", True),
        ("S-LOC", True),
        ("B-B-X", True),  # the type is everything after the first "-"
        ("B--", True),
        ("PER", False),
        ("B-", False),
        ("-PER", False),
        ("BB-PER", False),
        ("X-PER", False),
        ("o", False),
        ("", False),
    ],
)
def test_is_iob_tag(tag, valid):
    assert is_iob_tag(tag) is valid


def test_is_iob_tag_with_a_scheme_s_prefixes():
    assert is_iob_tag("B-PER", {"B", "I"}) and is_iob_tag("O", {"B", "I"})
    assert not is_iob_tag("S-PER", {"B", "I"}) and not is_iob_tag("E-PER", {"B", "I"})


# --- tags -> chunks -------------------------------------------------------------------------------------


def test_iob2():
    tags = ["B-PER", "I-PER", "O", "B-LOC", "B-LOC", "I-LOC", "O", "B-MISC"]
    assert spans(tags) == [("PER", 0, 1), ("LOC", 3, 3), ("LOC", 4, 5), ("MISC", 7, 7)]


def test_iob1_i_starts_a_chunk_and_b_splits_same_type():
    # CoNLL-2003 original: "I-" opens a chunk; "B-" only between two adjacent chunks of one type.
    tags = ["I-ORG", "I-ORG", "B-ORG", "O", "I-PER", "I-LOC"]
    assert spans(tags, "IOB1") == [("ORG", 0, 1), ("ORG", 2, 2), ("PER", 4, 4), ("LOC", 5, 5)]


def test_malformed_iob2_reads_like_conlleval():
    # conlleval: I- after O starts a chunk; a type change starts one; B- after I- of the same type splits.
    assert spans(["O", "I-PER", "I-PER"]) == [("PER", 1, 2)]
    assert spans(["B-PER", "I-LOC", "I-LOC"]) == [("PER", 0, 0), ("LOC", 1, 2)]
    assert spans(["I-PER", "B-PER"]) == [("PER", 0, 0), ("PER", 1, 1)]
    assert spans(["B-PER", "I-PER", "O", "I-PER"]) == [("PER", 0, 1), ("PER", 3, 3)]


def test_bioes():
    tags = ["S-PER", "S-PER", "B-LOC", "I-LOC", "E-LOC", "B-LOC", "E-LOC", "O", "S-ORG"]
    assert spans(tags, "BIOES") == [
        ("PER", 0, 0),
        ("PER", 1, 1),
        ("LOC", 2, 4),
        ("LOC", 5, 6),
        ("ORG", 8, 8),
    ]


def test_types_may_contain_hyphens():
    assert spans(["B-GPE-CITY", "I-GPE-CITY"]) == [("GPE-CITY", 0, 1)]


def test_empty_and_all_o():
    assert tags_to_chunks([]) == []
    assert tags_to_chunks(["O", "O"]) == []


def test_detect_scheme():
    assert detect_scheme(["B-PER", "I-PER", "O"]) == "IOB2"
    assert detect_scheme(["I-PER", "I-PER", "O"]) == "IOB1"
    assert detect_scheme(["B-PER", "I-LOC"]) == "IOB1"
    assert detect_scheme(["S-PER", "O"]) == "BIOES"
    assert detect_scheme(["O"]) == "IOB2"


def test_bad_tags_name_token_and_scheme():
    with pytest.raises(ValueError, match=r"'E-PER' at token 1 is not valid in the IOB2 scheme"):
        tags_to_chunks(["B-PER", "E-PER"], "IOB2")
    with pytest.raises(ValueError, match=r"'PER' at token 0"):
        tags_to_chunks(["PER"])
    with pytest.raises(ValueError, match="unknown tag scheme 'BILOU'"):
        tags_to_chunks(["O"], "BILOU")


def test_chunk_is_hashable_and_ordered():
    assert {Chunk("PER", 0, 1), Chunk("PER", 0, 1)} == {Chunk("PER", 0, 1)}
    assert sorted([Chunk("PER", 2, 2), Chunk("LOC", 0, 0)])[0] == Chunk("LOC", 0, 0)


# --- converters -----------------------------------------------------------------------------------------


def test_iob1_to_iob2():
    assert iob1_to_iob2(["I-ORG", "I-ORG", "B-ORG", "O", "I-PER", "I-LOC"]) == [
        "B-ORG",
        "I-ORG",
        "B-ORG",
        "O",
        "B-PER",
        "B-LOC",
    ]


@pytest.mark.parametrize(
    ("tags", "expected"),
    [
        (["I-PER", "I-PER", "O", "I-LOC"], ["B-PER", "I-PER", "O", "B-LOC"]),
        (["I-PER", "B-PER", "I-PER"], ["B-PER", "B-PER", "I-PER"]),
        (["I-PER", "I-ORG"], ["B-PER", "B-ORG"]),
        (["B-LOC", "I-LOC", "O", "B-LOC"], ["B-LOC", "I-LOC", "O", "B-LOC"]),
        (["S-PER", "B-ORG", "E-ORG", "I-ORG"], ["B-PER", "B-ORG", "I-ORG", "B-ORG"]),
        ([], []),
    ],
)
def test_iob1_to_iob2_reads_any_scheme(tags: list[str], expected: list[str]) -> None:
    assert iob1_to_iob2(tags) == expected


def test_iob1_to_iob2_rejects_a_non_iob_tag() -> None:
    with pytest.raises(ValueError, match="tag 'PER' at token 0 is not valid"):
        iob1_to_iob2(["PER"])


def test_to_bioes():
    assert to_bioes(["B-PER", "I-PER", "I-PER", "O", "B-LOC", "I-ORG"]) == [
        "B-PER",
        "I-PER",
        "E-PER",
        "O",
        "S-LOC",
        "S-ORG",
    ]


def test_chunks_to_tags_iob1_uses_b_only_between_same_type_neighbours():
    chunks = [Chunk("ORG", 0, 1), Chunk("ORG", 2, 2), Chunk("PER", 3, 3)]
    assert chunks_to_tags(chunks, 5, "IOB1") == ["I-ORG", "I-ORG", "B-ORG", "I-PER", "O"]


def random_tags(rng: random.Random, n: int, prefixes: str = "BI", types: str = "ABC") -> list[str]:
    return ["O" if rng.random() < 0.35 else f"{rng.choice(prefixes)}-{rng.choice(types)}" for _ in range(n)]


@pytest.mark.parametrize("scheme", ["IOB1", "IOB2", "BIOES"])
def test_chunks_survive_every_scheme(scheme):
    rng = random.Random(7)
    for _ in range(500):
        tags = random_tags(rng, rng.randint(0, 12))
        chunks = tags_to_chunks(tags)
        written = chunks_to_tags(chunks, len(tags), scheme)
        assert tags_to_chunks(written, scheme) == chunks
        assert detect_scheme(written) in ({"IOB1", "IOB2"} if scheme != "BIOES" else {"BIOES", "IOB2"})


def test_agrees_with_seqeval_default_mode_on_iob():
    # seqeval's default (conlleval-compatible) chunker, on well- and ill-formed IOB tags.
    rng = random.Random(11)
    for _ in range(2000):
        tags = random_tags(rng, rng.randint(1, 15))
        assert spans(tags) == get_entities(tags)

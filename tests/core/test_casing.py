"""Casing classes of real tokens (Reimers & Gurevych's word shapes), Unicode included."""

from __future__ import annotations

import doctest

import pytest

import sparktag.core.casing
from sparktag.core.casing import CASINGS, PADDING, casing_ids, classify_casing


@pytest.mark.parametrize(
    ("token", "casing"),
    [
        ("1996", "numeric"),
        ("7", "numeric"),
        ("٢٠٢٤", "numeric"),  # Arabic-Indic digits are digits
        ("1996-08-22", "mainly_numeric"),  # 8 digits of 10
        ("3.5", "mainly_numeric"),
        ("58.27", "mainly_numeric"),
        ("-5", "contains_digit"),  # half digits is not "more than half"
        ("+44 (0)", "contains_digit"),
        ("iPhone4", "contains_digit"),  # mixed case with a digit
        ("german", "all_lower"),
        ("3rd", "all_lower"),  # cased letters all lower; 1 digit of 3
        ("çağrı", "all_lower"),
        ("EU", "all_upper"),
        ("U.S.", "all_upper"),
        ("B2B", "all_upper"),
        ("I", "all_upper"),  # a one-letter capital is all upper, not initial upper
        ("ΑΘΗΝΑ", "all_upper"),
        ("German", "initial_upper"),
        ("Çağrı", "initial_upper"),
        ("McDonald", "initial_upper"),
        ("O'Neill", "initial_upper"),
        ("Ελλάδα", "initial_upper"),
        ("iPhone", "other"),  # mixed case with a lower-case start
        ("eBay", "other"),
        (".", "other"),
        ("--", "other"),
        ("", "other"),  # an empty token (Reimers & Gurevych divide by its length)
        ("東京", "other"),  # letters without case
    ],
)
def test_classes_of_real_tokens(token: str, casing: str) -> None:
    assert CASINGS[classify_casing(token)] == casing


def test_padding_is_id_zero_and_never_a_tokens_class() -> None:
    assert PADDING == 0 and CASINGS[PADDING] == "padding" and len(set(CASINGS)) == len(CASINGS) == 8
    tokens = ["EU", "rejects", "German", "call", "on", "1996-08-22", ".", "", "iPhone", "3.5", "Çağrı", "-5"]
    ids = casing_ids(tokens)
    assert ids == [classify_casing(t) for t in tokens] and PADDING not in ids
    assert {CASINGS[i] for i in ids} == set(CASINGS) - {"padding", "numeric"}
    assert casing_ids([]) == []


def test_the_case_of_a_word_changes_only_its_casing_class() -> None:
    # what the tagger's casing feature adds beside uncased word vectors: same word, other class
    assert len({classify_casing(w) for w in ("apple", "Apple", "APPLE", "aPPLE")}) == 4


def test_the_module_example_holds() -> None:
    result = doctest.testmod(sparktag.core.casing)
    assert result.attempted >= 1 and result.failed == 0

"""The pragmatic segmenter's passes and the cut at unprotected breaks (spans before trimming)."""

from __future__ import annotations

from sparktag.core.sentence_rules import compile_passes, sentence_spans, symbolize


def spans(text: str, custom_bounds: tuple[str, ...] = (), only: bool = False) -> list[tuple[int, int]]:
    return sentence_spans(symbolize(text, compile_passes(True, True, custom_bounds, only, "none")))


def test_abbreviations_and_protected_spans_do_not_end_a_sentence():
    assert spans("Hi Mr. Smith. Bye!") == [(0, 13), (13, 18), (18, 18)]
    assert spans("He said (stop. now) and left. Ok.") == [(0, 29), (29, 33), (33, 33)]


def test_a_dropped_custom_bound_belongs_to_neither_sentence():
    assert spans("a\n\nb. c", ("\n\n",), only=True) == [(0, 1), (3, 7)]
    assert spans("a\n\nb. c") == [(0, 5), (5, 7)]

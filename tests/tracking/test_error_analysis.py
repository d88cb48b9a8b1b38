"""error_analysis.html: its counts, order, escaping and comparison on a hand-made test set, its size for a
CoNLL testa-sized one, and the tagged-sentences file (the page in a browser: test_error_page_in_chromium.py)."""

from __future__ import annotations

import json
from html.parser import HTMLParser

import pytest

from sparktag.core.chunks import Chunk, tags_to_chunks
from sparktag.ner.error_categories import ALL_TYPES, categorize_entities, count_categories
from sparktag.tracking.error_analysis import (
    ERROR_ANALYSIS_FILE,
    TAGGED_SENTENCES_FILE,
    analyze_errors,
    read_tagged_sentences,
    write_error_analysis,
    write_tagged_sentences,
)

from tagged_test_sets import PREVIOUS, SENTENCES, S, synthetic_test_set


class Elements(HTMLParser):
    """Every start tag's attributes, in document order."""

    def __init__(self, page: str) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str]]] = []
        self.feed(page)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, {k: v or "" for k, v in attrs}))

    def with_attr(self, name: str) -> list[dict[str, str]]:
        return [attrs for _, attrs in self.tags if name in attrs]


@pytest.fixture(scope="module")
def page_text(tmp_path_factory: pytest.TempPathFactory) -> str:
    path = tmp_path_factory.mktemp("analysis") / ERROR_ANALYSIS_FILE
    written = write_error_analysis(
        path, SENTENCES, title="tiny <model> & test", previous=PREVIOUS, previous_label="run 1"
    )
    assert written == path
    return path.read_text(encoding="utf-8")


def test_the_page_counts_what_the_pure_function_counts(page_text):
    elements = Elements(page_text)
    shown = {
        (a["data-type"], a["data-category"]): int(a["data-count"])
        for a in elements.with_attr("data-category")
        if "data-type" in a
    }
    expected = count_categories(categorize_entities([s.gold for s in SENTENCES], [s.pred for s in SENTENCES]))
    assert shown == {(t, c): n for t, row in expected.items() for c, n in row.items()}
    assert expected[ALL_TYPES] == {"correct": 3, "wrong_type": 1, "wrong_boundary": 1,
                                   "wrong_type_and_boundary": 1, "missed": 1, "spurious": 2}  # fmt: skip
    by_id = {a["id"]: a for a in elements.with_attr("id")}
    assert by_id["sentence-count"]["data-count"] == "5"
    assert by_id["entity-count"]["data-count"] == "7"
    assert by_id["error-sentences"]["data-count"] == "4"


def test_error_sentences_come_most_errors_first(page_text):
    rows = [a["data-sentence"] for a in Elements(page_text).with_attr("data-sentence")]
    assert rows == ["1", "3", "2", "4"]
    assert analyze_errors(SENTENCES).error_sentences == [1, 3, 2, 4]


def test_rows_list_their_types_and_categories_for_the_filters(page_text):
    rows = {a["data-sentence"]: json.loads(a["data-e"]) for a in Elements(page_text).with_attr("data-e")}
    # a wrong type counts for the gold and the predicted type alike
    assert rows["1"] == [["LOC", "wrong_type"], ["ORG", "wrong_type"], ["PER", "missed"]]
    assert rows["3"] == [
        ["LOC", "wrong_type_and_boundary"],
        ["ORG", "wrong_type_and_boundary"],
        ["PER", "spurious"],
    ]


def test_text_is_escaped(page_text, tmp_path):
    assert "<script>alert(1)</script>" not in page_text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page_text
    assert page_text.count("<script") == 1  # the filters' own
    assert "<title>tiny &lt;model&gt; &amp; test</title>" in page_text
    # entity types are data too: in text, in attributes and in the filters' JSON
    odd = S(["x", "y"], ["B-A&B", "O"], ["B-A&B", 'B-"q"'])
    text = write_error_analysis(tmp_path / "odd.html", [odd], title="t").read_text(encoding="utf-8")
    elements = Elements(text)
    assert [json.loads(a["data-e"]) for a in elements.with_attr("data-e")] == [[['"q"', "spurious"]]]
    assert {a["data-type"] for a in elements.with_attr("data-type")} >= {"A&B", '"q"', ""}
    assert 'B-"q"' not in text and "A&B" not in text


def test_confidence_is_the_mean_of_the_entitys_tokens(page_text):
    assert SENTENCES[1].entity_confidence(Chunk("LOC", 0, 1)) == pytest.approx(0.8)
    assert SENTENCES[1].entity_confidence(Chunk("X", 3, 4)) == pytest.approx(0.6)  # None is skipped
    assert SENTENCES[3].entity_confidence(Chunk("LOC", 1, 2)) is None
    assert 'title="LOC: wrong type, confidence 0.80">Acme Corp<sub>LOC 0.80</sub>' in page_text
    assert 'title="PER: spurious">Bo<sub>PER</sub>' in page_text  # a model that gave no confidences


def test_the_most_frequent_confusions(page_text):
    analysis = analyze_errors(SENTENCES)
    assert [(c.gold_type, c.pred_type, c.count, c.examples) for c in analysis.confusions] == [
        ("ORG", "LOC", 2, [1, 3])
    ]
    rows = Elements(page_text).with_attr("data-confusion")
    assert [(a["data-confusion"], a["data-count"]) for a in rows] == [("ORG LOC", "2")]


def test_the_comparison_counts_fixed_and_broken_entities(page_text):
    comparison = analyze_errors(SENTENCES, PREVIOUS, "run 1").comparison
    assert comparison is not None
    assert (comparison.matched, comparison.unmatched) == (4, 1)
    assert [(c.sentence, c.gold, c.before.category, c.now.category) for c in comparison.fixed] == [
        (0, Chunk("LOC", 3, 3), "missed", "correct")
    ]
    assert [(c.sentence, c.gold.entity, c.now.category) for c in comparison.broken] == [
        (1, "ORG", "wrong_type"),
        (1, "PER", "missed"),
    ]
    by_id = {a["id"]: a for a in Elements(page_text).with_attr("id")}
    assert (by_id["fixed-count"]["data-count"], by_id["broken-count"]["data-count"]) == ("1", "2")


def test_repeated_sentences_are_matched_in_order():
    same = S(["Hi", "Bo"], ["O", "B-PER"], ["O", "B-PER"])
    wrong = S(["Hi", "Bo"], ["O", "B-PER"], ["O", "O"])
    comparison = analyze_errors([same, wrong], [wrong, same]).comparison
    assert comparison is not None and comparison.matched == 2
    assert [c.sentence for c in comparison.fixed] == [0] and [c.sentence for c in comparison.broken] == [1]


@pytest.mark.parametrize("sentences", [[], SENTENCES[:1]], ids=["empty", "perfect"])
def test_a_page_without_errors(tmp_path, sentences):
    text = write_error_analysis(tmp_path / "p.html", sentences, title="t").read_text(encoding="utf-8")
    by_id = {a["id"]: a for a in Elements(text).with_attr("id")}
    assert by_id["error-sentences"]["data-count"] == "0"
    assert "No entity was read as another type." in text


def test_no_previous_run_no_comparison(tmp_path):
    text = write_error_analysis(tmp_path / "p.html", SENTENCES[:1], title="t").read_text(encoding="utf-8")
    assert 'id="comparison"' not in text and 'id="errors"' in text
    assert analyze_errors(SENTENCES).comparison is None


# --- the tagged-sentences file --------------------------------------------------------------------------------


def test_tagged_sentences_round_trip(tmp_path):
    path = write_tagged_sentences(tmp_path / "run" / TAGGED_SENTENCES_FILE, SENTENCES)
    assert path.name == TAGGED_SENTENCES_FILE
    assert read_tagged_sentences(path) == SENTENCES
    assert json.loads(path.read_text(encoding="utf-8"))["format_version"] == 1
    assert not list(path.parent.glob(".*.tmp"))


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json", r"cannot read .*as JSON .*pass the tagged_test_sentences.json a sparktag run logged"),
        ('{"format_version": 1, "sentences": []}', r"is not a tagged-sentences file of sparktag .*pass the"),
        ("[1, 2]", r"is not a tagged-sentences file of sparktag"),
        (
            '{"format_version": 9, "kind": "sparktag.tagged_sentences", "sentences": []}',
            r"has format_version 9; this sparktag reads format_version 1 and older: upgrade sparktag",
        ),
        (
            '{"format_version": 1, "kind": "sparktag.tagged_sentences", "sentences": '
            '[{"words": ["a"], "gold": ["O"], "pred": ["O"]}, {"words": ["a"], "gold": [], "pred": ["O"]}]}',
            r"sentence 1 is damaged \(a sentence of 1 words has 0 gold tags; give one of each per word\)",
        ),
        (
            '{"format_version": 1, "kind": "sparktag.tagged_sentences", "sentences": [{"words": []}]}',
            r"sentence 0 is damaged .*missing 2 required positional arguments: 'gold' and 'pred'",
        ),
    ],
    ids=["not-json", "no-kind", "not-an-object", "newer", "lengths", "fields"],
)
def test_a_foreign_or_damaged_file_is_refused_with_its_name(tmp_path, content, message):
    path = tmp_path / TAGGED_SENTENCES_FILE
    path.write_text(content, encoding="utf-8")
    with pytest.raises(ValueError, match=message) as raised:
        read_tagged_sentences(path)
    assert str(path) in str(raised.value)


def test_a_missing_file_is_named(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"no tagged-sentences file at .*nowhere.json; pass the"):
        read_tagged_sentences(tmp_path / "nowhere.json")


def test_a_sentence_needs_one_tag_and_confidence_per_word():
    with pytest.raises(ValueError, match="a sentence of 2 words has 1 predicted tags, 3 confidences"):
        S(["a", "b"], ["O", "O"], ["O"], [1.0, 1.0, 1.0])


def test_a_testa_sized_page_stays_under_5_mb(tmp_path):
    sentences = synthetic_test_set()
    path = write_error_analysis(
        tmp_path / ERROR_ANALYSIS_FILE, sentences, title="synthetic testa",
        previous=synthetic_test_set(errors_seed=2), previous_label="run 1",
    )  # fmt: skip
    analysis = analyze_errors(sentences)
    entities = sum(len(tags_to_chunks(s.gold)) for s in sentences)
    assert 5000 < entities < 7000 and 400 < len(analysis.error_sentences) < 900, (entities, analysis)
    size_mb = path.stat().st_size / 1e6
    print(f"\n{path.name}: {len(analysis.error_sentences)} error sentences, {size_mb:.2f} MB")
    assert size_mb < 5

"""The HTML of ``error_analysis.html``, drawn from an :class:`~sparktag.tracking.error_analysis.ErrorAnalysis`.

One file with inline CSS and a few lines of plain JavaScript (the filters), nothing fetched: it opens from disk
and inside the MLflow UI's artifact viewer (a sandboxed iframe that allows scripts but no storage). Every text
from the data goes through :func:`html.escape`. Counts sit in elements with ``data-*`` attributes, so tests
(and people with the browser's inspector) read them without parsing the text.
"""

from __future__ import annotations

import html
import json
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

from sparktag.core.chunks import Chunk, tags_to_chunks
from sparktag.ner.error_categories import ALL_TYPES, CATEGORIES, ERROR_CATEGORIES, EntityOutcome
from sparktag.ner.events import LabelCounts, Scores

if TYPE_CHECKING:
    from sparktag.tracking.error_analysis import Comparison, EntityChange, ErrorAnalysis, TaggedSentence

# Light backgrounds, one per entity type (in sorted order, repeating after 12), dark text stays readable.
PALETTE = ("#ffd6a5", "#b5ead7", "#9bf6ff", "#cdb4db", "#ffc6ff", "#fdffb6", "#a0c4ff", "#ffadad",
           "#caffbf", "#e4c1f9", "#d8e2dc", "#f1c0e8")  # fmt: skip
NAMES = {c: c.replace("_", " ") for c in CATEGORIES}
# What the categories mean, as the page explains them (sparktag.ner.error_categories has the matching rules).
CATEGORY_HELP = (
    "<p>Each gold entity counts once, under its type; a spurious prediction under its predicted type. "
    "<b>correct</b>: same type and span; <b>wrong type</b>: same span, another type; <b>wrong boundary</b>: "
    "same type, overlapping span; <b>wrong type and boundary</b>: another type, overlapping span; "
    "<b>missed</b>: no prediction matched; <b>spurious</b>: a prediction matched with no gold entity. "
    "These are the MUC categories, counted as nervaluate counts them.</p>"
)
CHANGE_EXAMPLES = 20  # example sentences each of fixed and broken entities

CSS = """
body{font:14px/1.45 system-ui,sans-serif;margin:1em 2em;color:#222}
h1{font-size:1.5em}h2{font-size:1.2em;margin-top:1.6em;border-bottom:1px solid #ccc}
table{border-collapse:collapse;margin:.4em 0}td,th{padding:2px 8px;border-bottom:1px solid #eee;text-align:right}
td.s,th.s{text-align:left}.n{color:#777}
.e{border-radius:3px;padding:0 2px}.e sub{font-size:.7em;color:#444;margin-left:2px}
.x{outline:2px solid #d33;outline-offset:0}
#errors td{vertical-align:top;text-align:left}#errors td.n{text-align:right}
.filters button{margin:2px;border:1px solid #aaa;background:#fafafa;border-radius:3px;cursor:pointer}
.filters button[aria-pressed=true]{background:#333;color:#fff}
ul{margin:0;padding-left:1.1em}.small{font-size:.9em}#errors td.small{min-width:13em}
"""

# The filters: each error row lists its (type, category) pairs in data-e; a row shows when one pair matches
# the chosen type and category ("" = any). A type matches an error whose gold or predicted entity has it.
SCRIPT = """
(function () {
  var rows = Array.prototype.slice.call(document.querySelectorAll("#errors tbody tr"));
  var keys = rows.map(function (r) { return JSON.parse(r.dataset.e); });
  var chosen = {type: "", cat: ""};
  function show() {
    var n = 0;
    rows.forEach(function (r, i) {
      var ok = keys[i].some(function (k) {
        return (!chosen.type || k[0] === chosen.type) && (!chosen.cat || k[1] === chosen.cat);
      });
      r.hidden = !ok;
      if (ok) n++;
    });
    document.getElementById("shown-count").textContent = n;
  }
  document.querySelectorAll(".filters button").forEach(function (b) {
    b.addEventListener("click", function () {
      var group = "type" in b.dataset ? "type" : "cat";
      chosen[group] = b.dataset[group];
      b.parentNode.querySelectorAll("button").forEach(function (o) { o.setAttribute("aria-pressed", o === b); });
      show();
    });
  });
})();
"""


def _esc(value: object) -> str:
    return html.escape(str(value), quote=True)


def _pct(value: float) -> str:
    return f"{100 * value:.2f}"


def _type_classes(types: Iterable[str]) -> dict[str, str]:
    return {t: f"t{i % len(PALETTE)}" for i, t in enumerate(sorted(types))}


def _line(words: Sequence[str], spans: Sequence[tuple[Chunk, str, str, str]], colours: dict[str, str]) -> str:
    """A sentence with entity spans highlighted; a span is (chunk, extra class, title, text under it)."""
    by_start = {chunk.start: (chunk, extra, title, sub) for chunk, extra, title, sub in spans}
    pieces: list[str] = []
    i = 0
    while i < len(words):
        if i in by_start:
            chunk, extra, title, sub = by_start[i]
            text = " ".join(_esc(w) for w in words[chunk.start : chunk.end + 1])
            css = f"e {colours.get(chunk.entity, 't0')}{extra}"
            pieces.append(f'<span class="{css}" title="{_esc(title)}">{text}<sub>{_esc(sub)}</sub></span>')
            i = chunk.end + 1
        else:
            pieces.append(_esc(words[i]))
            i += 1
    return " ".join(pieces)


def _gold_line(sentence: TaggedSentence, outcomes: Sequence[EntityOutcome], colours: dict[str, str]) -> str:
    spans = [
        (o.gold, " x" if o.is_error else "", f"{o.gold.entity}: {NAMES[o.category]}", o.gold.entity)
        for o in outcomes
        if o.gold is not None
    ]
    return _line(sentence.words, spans, colours)


def _pred_line(
    sentence: TaggedSentence, predicted: Iterable[tuple[Chunk, str | None]], colours: dict[str, str]
) -> str:
    """The predicted entities of a sentence, each with its category (None: not shown) and confidence."""
    spans = []
    for chunk, category in predicted:
        confidence = sentence.entity_confidence(chunk)
        shown = "" if confidence is None else f"{confidence:.2f}"
        title = ", ".join(
            [f"{chunk.entity}: {NAMES[category]}" if category else chunk.entity]
            + ([f"confidence {shown}"] if shown else [])
        )
        error = category is not None and category != "correct"
        spans.append((chunk, " x" if error else "", title, f"{chunk.entity} {shown}".strip()))
    return _line(sentence.words, spans, colours)


def _predicted(outcomes: Sequence[EntityOutcome]) -> list[tuple[Chunk, str | None]]:
    return [(o.pred, o.category) for o in outcomes if o.pred is not None]


def _describe(o: EntityOutcome) -> str:
    if o.gold is not None and o.pred is not None and o.gold.entity != o.pred.entity:
        return f"{NAMES[o.category]}: {o.gold.entity} → {o.pred.entity}"
    return f"{NAMES[o.category]} {o.entity}"


def _scores_table(scores: Scores, kind: str, label: str) -> str:
    head = f'<tr><th class="s">{label}</th><th>precision</th><th>recall</th><th>F1</th><th>gold</th><th>predicted</th><th>correct</th></tr>'

    def row(name: str, c: LabelCounts, attr: str) -> str:
        return (
            f'<tr data-{kind}="{_esc(attr)}"><td class="s">{_esc(name)}</td><td>{_pct(c.precision)}</td>'
            f"<td>{_pct(c.recall)}</td><td>{_pct(c.f1)}</td><td>{c.tp + c.fn}</td><td>{c.tp + c.fp}</td>"
            f"<td>{c.tp}</td></tr>"
        )

    rows = [row(name, c, name) for name, c in scores.per_label.items()]
    rows.append(row("all (micro)", scores.total, ALL_TYPES))
    return f'<table id="{kind}-scores">{head}{"".join(rows)}</table>'


def _categories_table(counts: dict[str, dict[str, int]], colours: dict[str, str]) -> str:
    head = "".join(f"<th>{NAMES[c]}</th>" for c in CATEGORIES)
    rows = []
    for entity, row in counts.items():
        name = (
            "all types" if entity == ALL_TYPES else f'<span class="e {colours[entity]}">{_esc(entity)}</span>'
        )
        cells = "".join(
            f'<td data-type="{_esc(entity)}" data-category="{c}" data-count="{row[c]}">{row[c]}</td>'
            for c in CATEGORIES
        )
        rows.append(f'<tr><td class="s">{name}</td>{cells}</tr>')
    return f'<table id="categories"><tr><th class="s">gold type</th>{head}</tr>{"".join(rows)}</table>'


def _error_rows(analysis: ErrorAnalysis, colours: dict[str, str]) -> str:
    rows = []
    for i in analysis.error_sentences:
        sentence, outcomes = analysis.sentences[i], analysis.outcomes[i]
        errors = [o for o in outcomes if o.is_error]
        keys = sorted({(c.entity, o.category) for o in errors for c in (o.gold, o.pred) if c is not None})
        listed = "".join(f"<li>{_esc(_describe(o))}</li>" for o in errors)
        rows.append(
            f'<tr data-e="{_esc(json.dumps(keys, ensure_ascii=False))}" data-sentence="{i}">'
            f'<td class="n">{i + 1}</td><td class="n">{len(errors)}</td>'
            f"<td>{_gold_line(sentence, outcomes, colours)}</td><td>{_pred_line(sentence, _predicted(outcomes), colours)}</td>"
            f'<td class="small"><ul>{listed}</ul></td></tr>'
        )
    return "".join(rows)


def _errors_section(analysis: ErrorAnalysis, colours: dict[str, str]) -> str:
    total = analysis.counts[ALL_TYPES]
    types = "".join(f'<button data-type="{_esc(t)}">{_esc(t)}</button>' for t in sorted(colours))
    cats = "".join(f'<button data-cat="{c}">{NAMES[c]} ({total[c]})</button>' for c in ERROR_CATEGORIES)
    n = len(analysis.error_sentences)
    return (
        "<h2>Sentences with errors</h2>"
        f'<p><span id="shown-count">{n}</span> of <span id="error-sentences" data-count="{n}">{n}</span> '
        "sentences shown, most errors first (numbers count test sentences from 1). A red outline marks an "
        "error; hover an entity for its category. The type filter matches an error whose gold or predicted "
        "entity has that type.</p>"
        f'<div class="filters" id="type-filter"><button data-type="" aria-pressed="true">all types</button>{types}</div>'
        f'<div class="filters" id="category-filter"><button data-cat="" aria-pressed="true">all errors</button>{cats}</div>'
        '<table id="errors"><thead><tr><th>#</th><th>errors</th><th class="s">gold</th><th class="s">predicted '
        '(type, confidence)</th><th class="s">what went wrong</th></tr></thead>'
        f"<tbody>{_error_rows(analysis, colours)}</tbody></table>"
    )


def _example(analysis: ErrorAnalysis, i: int, colours: dict[str, str], predicted: str = "predicted") -> str:
    sentence, outcomes = analysis.sentences[i], analysis.outcomes[i]
    return (
        f'<div class="small">#{i + 1} gold: {_gold_line(sentence, outcomes, colours)}<br>'
        f"{predicted}: {_pred_line(sentence, _predicted(outcomes), colours)}</div>"
    )


def _confusions_section(analysis: ErrorAnalysis, colours: dict[str, str]) -> str:
    if not analysis.confusions:
        return "<h2>Most frequent confusions</h2><p>No entity was read as another type.</p>"
    rows = "".join(
        f'<tr data-confusion="{_esc(c.gold_type)} {_esc(c.pred_type)}" data-count="{c.count}">'
        f'<td class="s">{_esc(c.gold_type)} read as {_esc(c.pred_type)}</td><td>{c.count}</td>'
        f'<td class="s">{"".join(_example(analysis, i, colours) for i in c.examples)}</td></tr>'
        for c in analysis.confusions
    )
    return (
        "<h2>Most frequent confusions</h2><p>Gold entities predicted with another type (wrong type, or wrong "
        "type and boundary).</p>"
        f'<table id="confusions"><tr><th class="s">confusion</th><th>count</th><th class="s">examples</th></tr>{rows}</table>'
    )


def _changes(
    analysis: ErrorAnalysis,
    comparison: Comparison,
    kind: str,
    changes: list[EntityChange],
    colours: dict[str, str],
) -> str:
    """One list of the comparison (``kind`` is ``"fixed"`` or ``"broken"``), with the first examples."""
    items = []
    for change in changes[:CHANGE_EXAMPLES]:
        before = comparison.previous[change.previous_sentence]
        items.append(
            f"<li>{_esc(change.gold.entity)} «{_esc(' '.join(before.words[change.gold.start : change.gold.end + 1]))}»: "
            f"{NAMES[change.before.category]} → {NAMES[change.now.category]}"
            f"{_example(analysis, change.sentence, colours, 'now')}"
            f'<div class="small">{_esc(comparison.label)}: {_pred_line(before, [(c, None) for c in tags_to_chunks(before.pred)], colours)}</div></li>'
        )
    more = f"<p>and {len(changes) - CHANGE_EXAMPLES} more</p>" if len(changes) > CHANGE_EXAMPLES else ""
    return f'<h3>{kind} (<span id="{kind}-count" data-count="{len(changes)}">{len(changes)}</span>)</h3><ul>{"".join(items)}</ul>{more}'


def _comparison_section(analysis: ErrorAnalysis, colours: dict[str, str]) -> str:
    comparison = analysis.comparison
    if comparison is None:
        return ""
    label = _esc(comparison.label)
    rows = "".join(
        f'<tr data-category="{c}"><td class="s">{NAMES[c]}</td><td>{comparison.previous_counts[c]}</td>'
        f"<td>{comparison.counts[c]}</td><td>{comparison.counts[c] - comparison.previous_counts[c]:+d}</td></tr>"
        for c in CATEGORIES
    )
    return (
        f"<h2>Compared with {label}</h2><p>{comparison.matched} sentences tagged by both (same words and gold "
        f"tags); {comparison.unmatched} of this run's not found in {label}. Fixed: wrong before, correct now; "
        "broken: correct before, wrong now.</p>"
        f'<table id="comparison"><tr><th class="s">category</th><th>{label}</th><th>now</th><th>change</th></tr>{rows}</table>'
        f"{_changes(analysis, comparison, 'fixed', comparison.fixed, colours)}"
        f"{_changes(analysis, comparison, 'broken', comparison.broken, colours)}"
    )


def render_error_page(analysis: ErrorAnalysis, title: str) -> str:
    """The whole page as one HTML string.

    Args:
        analysis: from :func:`~sparktag.tracking.error_analysis.analyze_errors`.
        title: the page's heading.

    Returns:
        A complete HTML document that refers to no other file.
    """
    types = {t for t in analysis.counts if t != ALL_TYPES}
    colours = _type_classes(types)
    styles = "".join(f".{cls}{{background:{PALETTE[int(cls[1:])]}}}" for cls in sorted(set(colours.values())))
    legend = " ".join(f'<span class="e {colours[t]}">{_esc(t)}</span>' for t in sorted(types))
    total = analysis.counts[ALL_TYPES]
    gold = sum(total[c] for c in CATEGORIES if c != "spurious")
    n, with_errors = len(analysis.sentences), len(analysis.error_sentences)
    summary = (
        f'<p><span id="sentence-count" data-count="{n}">{n}</span> test sentences ({with_errors} with errors), '
        f'<span id="entity-count" data-count="{gold}">{gold}</span> gold entities; strict entity F1 '
        f'<span id="entity-f1">{_pct(analysis.entity.micro_f1)}</span>. Entity types: {legend or "none"}.</p>'
    )
    return (
        f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{_esc(title)}</title>'
        f'<meta name="viewport" content="width=device-width"><style>{CSS}{styles}</style></head><body>'
        f"<h1>{_esc(title)}</h1>{summary}"
        "<h2>Scores</h2><p>Entity level, strict (conlleval): type and both boundaries must match.</p>"
        f"{_scores_table(analysis.entity, 'entity', 'entity type')}"
        "<p>Token level (Spark NLP's NerDL log): one label per tag, O excluded.</p>"
        f"{_scores_table(analysis.token, 'token', 'tag')}"
        f"<h2>Errors by category</h2>{CATEGORY_HELP}"
        f"{_categories_table(analysis.counts, colours)}"
        f"{_confusions_section(analysis, colours)}{_comparison_section(analysis, colours)}"
        f"{_errors_section(analysis, colours)}<script>{SCRIPT}</script></body></html>"
    )

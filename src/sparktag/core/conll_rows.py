"""CoNLL documents as the rows Spark NLP's ``CoNLL().readDataset`` builds (see ``sparktag.core.conll`` for the
format): text, document, sentence, token, pos and label annotations, and the document id."""

from __future__ import annotations

import re

from sparktag.annotation import Annotation, AnnotatorType
from sparktag.core.conll import ConllDocument, ConllSentence

_SURROUNDING_HYPHENS = re.compile(r"-(.+)-")
_SENTENCE_SEPARATOR = "\n\n"


def document_rows(
    doc: ConllDocument, *, explode_sentences: bool = True, include_doc_id: bool = False
) -> list[dict[str, object]]:
    """The rows Spark NLP's CoNLL reader makes of one document: one per sentence, or one for the document.

    Args:
        doc: a document from :func:`read_conll_documents`.
        explode_sentences: one row per sentence (Spark NLP's default) instead of one per document.
        include_doc_id: add ``doc_id``: the ``-DOCSTART-`` id without surrounding hyphens, ``X`` if none.

    Returns:
        Dicts with keys ``doc_id`` (when asked), ``text``, ``document``, ``sentence``, ``token``, ``pos`` and
        ``label``; each annotation column is a ``list[Annotation]``.

    Example:
        >>> doc = ConllDocument([ConllSentence([ConllToken("Hi", "UH", "O", 1)], 0, "f", 1)], 0, "f", None)
        >>> document_rows(doc)[0]["token"][0].metadata
        {'sentence': '0'}
    """
    groups = [[s] for s in doc.sentences] if explode_sentences else [doc.sentences]
    doc_id = _remove_surrounding_hyphens(doc.doc_id or "X")
    rows: list[dict[str, object]] = []
    for group in groups:
        row: dict[str, object] = {"doc_id": doc_id} if include_doc_id else {}
        trailing = not explode_sentences and doc.ends_with_blank_line
        row.update(_pack(group, doc.delimiter, trailing))
        rows.append(row)
    return rows


def _pack(sentences: list[ConllSentence], delimiter: str, trailing_separator: bool) -> dict[str, object]:
    """Build the text and the five annotation columns of one row from its sentences."""
    parts: list[str] = []
    length = 0
    sentence_spans: list[tuple[int, int]] = []  # (begin, end) inclusive, per sentence
    token_col: list[Annotation] = []
    pos_col: list[Annotation] = []
    label_col: list[Annotation] = []
    for index, sentence in enumerate(sentences):
        if index:
            parts.append(_SENTENCE_SEPARATOR)
            length += len(_SENTENCE_SEPARATOR)
        sentence_begin = length
        meta = {"sentence": str(index)}
        for position, token in enumerate(sentence.tokens):
            if position:
                parts.append(delimiter)
                length += len(delimiter)
            begin, end = length, length + len(token.text) - 1  # inclusive end
            parts.append(token.text)
            length += len(token.text)
            token_col.append(Annotation(AnnotatorType.TOKEN, begin, end, token.text, dict(meta)))
            tagged_meta = {"word": token.text, **meta}
            pos_col.append(Annotation(AnnotatorType.POS, begin, end, token.pos, dict(tagged_meta)))
            label_col.append(Annotation(AnnotatorType.NAMED_ENTITY, begin, end, token.label, tagged_meta))
        sentence_spans.append((sentence_begin, length - 1))
    if trailing_separator:
        parts.append(_SENTENCE_SEPARATOR)
    text = "".join(parts)
    sentence_annotations = [
        Annotation(AnnotatorType.DOCUMENT, begin, end, text[begin : end + 1], {"sentence": str(index)})
        for index, (begin, end) in enumerate(sentence_spans)
    ]
    return {
        "text": text,
        "document": [Annotation(AnnotatorType.DOCUMENT, 0, len(text) - 1, text, {"training": "true"})],
        "sentence": sentence_annotations,
        "token": token_col,
        "pos": pos_col,
        "label": label_col,
    }


def _remove_surrounding_hyphens(doc_id: str) -> str:
    """Spark NLP's ``removeSurroundingHyphens``: ``-X-`` -> ``X``, ``-3-1-`` -> ``3-1``, ``3-2`` stays."""
    match = _SURROUNDING_HYPHENS.search(doc_id)
    return match.group(1) if match else doc_id

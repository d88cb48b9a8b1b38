"""Read CoNLL-2003 files into documents (``sparktag.core.conll_rows`` turns them into Spark NLP's rows).

Pure Python, no Spark: the Spark reader maps ``document_rows`` over :func:`read_conll_documents`.

The rows follow Spark NLP's ``com.johnsnowlabs.nlp.training.CoNLL`` (``readLines`` + ``coreTransformation``):

- the text of a row is the first column of each token line joined by ``delimiter``; with
  ``explode_sentences=False`` the sentences of one ``-DOCSTART-`` document are joined by ``"\\n\\n"``, and a
  document whose last sentence is followed by a blank line keeps a trailing ``"\\n\\n"``;
- ``document``: one ``document`` annotation over the whole text, metadata ``{"training": "true"}``;
- ``sentence``: annotator type ``document``, one per sentence, metadata ``{"sentence": i}``;
- ``token``: metadata ``{"sentence": i}``; ``pos`` and ``label`` (type ``pos`` / ``named_entity``):
  metadata ``{"word": token, "sentence": i}``; ``i`` counts sentences within the row from 0;
- ``doc_id``: the third field of the ``-DOCSTART-`` line with one pair of surrounding hyphens removed
  (``-X-`` -> ``X``), ``X`` when there is none.

Where Spark NLP silently skips or misreads a line (too few columns, a label column that holds no IOB tag) this
reader raises :class:`ConllFormatError` naming ``file:line`` instead.
"""

from __future__ import annotations

import glob
import os
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from sparktag.core.chunks import iob1_to_iob2, is_iob_tag
from sparktag.core.jvm import java_trim

DOCSTART = "-DOCSTART-"

_GLOB_CHARS = re.compile(r"[*?\[]")
# Spark NLP appends System.lineSeparator twice between sentences when explodeSentences is false (Linux: \n).


class ConllFormatError(ValueError):
    """A CoNLL file that cannot be read; the message starts with ``file:line:`` and says what to change."""


@dataclass
class ConllToken:
    """One token line: the word, its POS tag, its NER label and its 1-based line number in its file."""

    text: str
    pos: str
    label: str
    line: int


@dataclass
class ConllSentence:
    """A run of token lines between blank lines; ``line`` is the line of its first token."""

    tokens: list[ConllToken]
    doc_index: int
    path: str
    line: int


@dataclass
class ConllDocument:
    """The sentences between two ``-DOCSTART-`` lines (or the whole file when it has none).

    Args:
        sentences: the sentences, in file order (never empty).
        doc_index: 0-based position among all documents of one :func:`read_conll_documents` call.
        path: the file the document was read from.
        doc_id: the third field of the ``-DOCSTART-`` line as written (``"-X-"``), ``None`` when absent.
        ends_with_blank_line: whether a blank line followed the last sentence; Spark NLP then ends the
            unexploded text with ``"\\n\\n"``.
        delimiter: the column delimiter, which Spark NLP also puts between the tokens of the text.
    """

    sentences: list[ConllSentence]
    doc_index: int
    path: str
    doc_id: str | None
    ends_with_blank_line: bool = False
    delimiter: str = " "


def resolve_paths(path: str) -> list[str]:
    """The CoNLL files ``path`` names: a file, a folder (its regular, non-hidden files) or a glob, sorted.

    Raises:
        FileNotFoundError: when nothing matches; the message names ``path``.

    Example:
        >>> resolve_paths("data/conll/*")  # doctest: +SKIP
        ['data/conll/a.conll', 'data/conll/b.conll']
    """
    if os.path.isfile(path):
        return [path]
    if os.path.isdir(path):
        files = sorted(
            os.path.join(path, name)
            for name in os.listdir(path)
            if not name.startswith(".") and os.path.isfile(os.path.join(path, name))
        )
        if not files:
            raise FileNotFoundError(f"CoNLL folder {path!r} holds no regular (non-hidden) files")
        return files
    if _GLOB_CHARS.search(path):
        files = sorted(p for p in glob.glob(path) if os.path.isfile(p))
        if not files:
            raise FileNotFoundError(f"no CoNLL file matches the pattern {path!r}")
        return files
    raise FileNotFoundError(
        f"CoNLL path {path!r} does not exist (give a file, a folder or a glob like 'dir/*')"
    )


def read_conll_documents(
    path: str,
    *,
    label_index: int = 3,
    pos_index: int = 1,
    delimiter: str = " ",
    to_iob2: bool = False,
    split_every: int = 0,
) -> Iterator[ConllDocument]:
    """Stream the documents of the CoNLL file(s) at ``path`` (see :func:`resolve_paths`), line by line.

    Args:
        path: a file, a folder or a glob; each file is read on its own (a document never spans files).
        label_index: 0-based column of the NER label (Spark NLP's ``conllLabelIndex``).
        pos_index: 0-based column of the POS tag (Spark NLP's ``conllPosIndex``).
        delimiter: the literal string between columns (Spark NLP's ``delimiter``), e.g. ``" "`` or ``"\\t"``.
        to_iob2: rewrite each sentence's labels with :func:`iob1_to_iob2`.
        split_every: when > 0, a document of more sentences comes in parts of at most this many (same
            ``doc_index`` and ``doc_id``), so a file without ``-DOCSTART-`` lines is not held whole in memory;
            for callers that make one row per sentence.

    Returns:
        An iterator of :class:`ConllDocument`; an empty file, or one of only ``-DOCSTART-`` lines, gives none.

    Raises:
        FileNotFoundError: when ``path`` matches no file.
        ConllFormatError: a token line with too few columns, a label that is not ``O``/``B-``/``I-``/``E-``/
            ``S-<type>``, an empty token, or bytes that are not UTF-8; the message starts with ``file:line:``.

    Example:
        >>> for doc in read_conll_documents("train.conll"):  # doctest: +SKIP
        ...     rows = document_rows(doc, explode_sentences=True)
    """
    _check_format(label_index, pos_index, delimiter)
    doc_index = 0
    for file_path in resolve_paths(path):
        with open(file_path, "rb") as stream:  # bytes, so a bad byte is reported with its line
            for doc in _parse_lines(
                stream, file_path, label_index, pos_index, delimiter, to_iob2, doc_index, split_every
            ):
                doc_index = doc.doc_index + 1
                yield doc


def parse_conll_lines(
    lines: Iterable[bytes],
    path: str,
    *,
    label_index: int = 3,
    pos_index: int = 1,
    delimiter: str = " ",
    to_iob2: bool = False,
    split_every: int = 0,
) -> Iterator[ConllDocument]:
    """Stream the documents of one CoNLL file given as its raw lines (bytes, each ending in ``\\n`` or not).

    What :func:`read_conll_documents` does for one file, for content that is not on the local disk (the
    Spark reader parses each file's bytes where Spark read them). ``path`` only names the file in errors;
    ``split_every`` is :func:`read_conll_documents`'s.

    Example:
        >>> docs = list(parse_conll_lines([b"Hi UH O O\\n"], "mem.conll"))
        >>> docs[0].sentences[0].tokens[0].text
        'Hi'
    """
    _check_format(label_index, pos_index, delimiter)
    return _parse_lines(lines, path, label_index, pos_index, delimiter, to_iob2, 0, split_every)


def _check_format(label_index: int, pos_index: int, delimiter: str) -> None:
    if not delimiter:
        raise ValueError("delimiter must be a non-empty string, e.g. ' ' or '\\t'")
    if label_index < 0 or pos_index < 0:
        raise ValueError(f"label_index ({label_index}) and pos_index ({pos_index}) must be >= 0")


def _parse_lines(
    lines: Iterable[bytes],
    path: str,
    label_index: int,
    pos_index: int,
    delimiter: str,
    to_iob2: bool,
    first_doc_index: int,
    split_every: int = 0,
) -> Iterator[ConllDocument]:
    """The documents of one file, following Spark NLP's ``CoNLL.readLines`` state machine."""
    reader = _FileReader(path, label_index, pos_index, delimiter, to_iob2, first_doc_index, split_every)
    for line_no, raw in enumerate(lines, start=1):
        yield from reader.feed(line_no, _decode_line(raw, path, line_no))
    yield from reader.finish()


def _decode_line(raw: bytes, path: str, line_no: int) -> str:
    """A line as Spark NLP reads it: UTF-8 (no BOM on line 1), trimmed as Java's ``String.trim`` trims."""
    try:
        decoded = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        raise ConllFormatError(
            f"{path}:{line_no}: not valid UTF-8 (byte 0x{raw[e.start]:02x} at byte {e.start + 1} "
            f"of the line); re-encode the file as UTF-8, e.g. iconv -f latin1 -t utf-8"
        ) from None
    if line_no == 1:
        decoded = decoded.removeprefix("\ufeff")
    return java_trim(decoded)  # so \r from CRLF files, tabs, spaces; nothing else


class _FileReader:
    """The state of reading one file: the document, sentence and tokens being collected."""

    def __init__(
        self,
        path: str,
        label_index: int,
        pos_index: int,
        delimiter: str,
        to_iob2: bool,
        first_doc_index: int,
        split_every: int,
    ) -> None:
        self.path, self.label_index, self.pos_index = path, label_index, pos_index
        self.delimiter, self.to_iob2, self.split_every = delimiter, to_iob2, split_every
        self.min_columns = max(label_index, pos_index) + 1
        self.doc_index = first_doc_index
        self.parts = 0  # parts of the current document already yielded (split_every)
        self.doc_id: str | None = None
        self.sentences: list[ConllSentence] = []
        self.tokens: list[ConllToken] = []
        self.last_sentence_closed_by_blank = False

    def feed(self, line_no: int, line: str) -> Iterator[ConllDocument]:
        items = line.split(self.delimiter)
        if items[0] == DOCSTART or line.startswith(DOCSTART + " "):
            # the second test: "-DOCSTART- -X- -X- O" in a tab-separated file, which Spark NLP would
            # take for a blank line (one column) and so never start a new document
            yield from self.finish()
            fields = items if items[0] == DOCSTART else line.split()
            self.doc_id = fields[2] if len(fields) > 2 else None
            self.last_sentence_closed_by_blank = False
        elif not line:
            if self.tokens:
                self._close_sentence()
                self.last_sentence_closed_by_blank = True
                if self.split_every and len(self.sentences) >= self.split_every:
                    yield ConllDocument(
                        self.sentences, self.doc_index, self.path, self.doc_id, True, self.delimiter
                    )
                    self.sentences = []
                    self.parts += 1
        else:
            token = _parse_token(
                self.path, line_no, items, self.label_index, self.pos_index, self.min_columns
            )
            self.tokens.append(token)
            self.last_sentence_closed_by_blank = False

    def finish(self) -> Iterator[ConllDocument]:
        """Close the open sentence and document (at a -DOCSTART- line or the end of the file)."""
        self._close_sentence()
        if not self.sentences:
            if self.parts:  # its last part was yielded already
                self.doc_index += 1
                self.parts = 0
            return
        yield ConllDocument(
            self.sentences,
            self.doc_index,
            self.path,
            self.doc_id,
            self.last_sentence_closed_by_blank,
            self.delimiter,
        )
        self.sentences = []
        self.doc_index += 1
        self.parts = 0

    def _close_sentence(self) -> None:
        if self.tokens:
            if self.to_iob2:
                for token, tag in zip(self.tokens, iob1_to_iob2([t.label for t in self.tokens]), strict=True):
                    token.label = tag
            self.sentences.append(
                ConllSentence(list(self.tokens), self.doc_index, self.path, self.tokens[0].line)
            )
            self.tokens.clear()


def _parse_token(
    path: str, line_no: int, items: list[str], label_index: int, pos_index: int, min_columns: int
) -> ConllToken:
    if len(items) < min_columns:
        which = (
            f"label index {label_index} needs at least {label_index + 1} (set conllLabelIndex or delimiter?)"
            if len(items) <= label_index
            else f"pos index {pos_index} needs at least {pos_index + 1} (set conllPosIndex or delimiter?)"
        )
        plural = "column" if len(items) == 1 else "columns"
        raise ConllFormatError(f"{path}:{line_no}: token line has {len(items)} {plural}, {which}")
    word = items[0]
    if not java_trim(word):
        raise ConllFormatError(
            f"{path}:{line_no}: the token (first column) is empty; remove the leading delimiter"
        )
    label = items[label_index]
    if not is_iob_tag(label):
        raise ConllFormatError(
            f"{path}:{line_no}: label {label!r} in column {label_index} is not an IOB tag (expected 'O' or "
            f"B-/I-/E-/S-<type>); check conllLabelIndex, or prefix bare labels with I-"
        )
    return ConllToken(text=word, pos=items[pos_index], label=label, line=line_no)

"""The CoNLL reader: Spark NLP's readDataset rows, file:line errors, paths, and the bundled sample data."""

from __future__ import annotations

from pathlib import Path

import pytest

import sparktag
from sparktag.annotation import Annotation
from sparktag.core.conll import (
    ConllFormatError,
    parse_conll_lines,
    read_conll_documents,
    resolve_paths,
)
from sparktag.core.conll_rows import document_rows

SAMPLE = Path(sparktag.__file__).parent / "data" / "sample"

# Two documents; the first ends with a blank line, the second (id -7-) does not. IOB1 labels.
EXAMPLE = """-DOCSTART- -X- -X- O

Maria NNP I-NP I-PER
Lopez NNP I-NP I-PER
joined VBD I-VP O
Northwind NNP I-NP I-ORG
Bank NNP I-NP I-ORG
. . O O

LISBON NNP I-NP I-LOC

-DOCSTART- -X- -7- O

Porto NNP I-NP I-ORG
Benfica NNP I-NP B-ORG"""


def write(tmp_path: Path, text: str, name: str = "example.conll") -> str:
    path = tmp_path / name
    path.write_bytes(text.encode("utf-8"))
    return str(path)


def rows_of(path: str, **kwargs: object) -> list[dict[str, object]]:
    explode = bool(kwargs.pop("explode_sentences", True))
    include_doc_id = bool(kwargs.pop("include_doc_id", False))
    return [
        row
        for doc in read_conll_documents(path, **kwargs)  # type: ignore[arg-type]
        for row in document_rows(doc, explode_sentences=explode, include_doc_id=include_doc_id)
    ]


def tagged(kind: str, begin: int, end: int, result: str, word: str, sentence: str) -> Annotation:
    return Annotation(kind, begin, end, result, {"word": word, "sentence": sentence})


# -- Spark NLP's rows, checked by hand ---------------------------------------------------------------------


def test_unexploded_document_joins_sentences_with_blank_lines_and_keeps_the_trailing_one(
    tmp_path: Path,
) -> None:
    rows = rows_of(write(tmp_path, EXAMPLE), explode_sentences=False)

    assert len(rows) == 2
    row = rows[0]
    text = "Maria Lopez joined Northwind Bank .\n\nLISBON\n\n"
    assert row["text"] == text
    assert row["document"] == [Annotation("document", 0, 44, text, {"training": "true"})]
    assert row["sentence"] == [
        Annotation("document", 0, 34, "Maria Lopez joined Northwind Bank .", {"sentence": "0"}),
        Annotation("document", 37, 42, "LISBON", {"sentence": "1"}),
    ]
    assert row["token"] == [
        Annotation("token", 0, 4, "Maria", {"sentence": "0"}),
        Annotation("token", 6, 10, "Lopez", {"sentence": "0"}),
        Annotation("token", 12, 17, "joined", {"sentence": "0"}),
        Annotation("token", 19, 27, "Northwind", {"sentence": "0"}),
        Annotation("token", 29, 32, "Bank", {"sentence": "0"}),
        Annotation("token", 34, 34, ".", {"sentence": "0"}),
        Annotation("token", 37, 42, "LISBON", {"sentence": "1"}),
    ]
    assert row["pos"] == [
        tagged("pos", 0, 4, "NNP", "Maria", "0"),
        tagged("pos", 6, 10, "NNP", "Lopez", "0"),
        tagged("pos", 12, 17, "VBD", "joined", "0"),
        tagged("pos", 19, 27, "NNP", "Northwind", "0"),
        tagged("pos", 29, 32, "NNP", "Bank", "0"),
        tagged("pos", 34, 34, ".", ".", "0"),
        tagged("pos", 37, 42, "NNP", "LISBON", "1"),
    ]
    assert row["label"] == [
        tagged("named_entity", 0, 4, "I-PER", "Maria", "0"),
        tagged("named_entity", 6, 10, "I-PER", "Lopez", "0"),
        tagged("named_entity", 12, 17, "O", "joined", "0"),
        tagged("named_entity", 19, 27, "I-ORG", "Northwind", "0"),
        tagged("named_entity", 29, 32, "I-ORG", "Bank", "0"),
        tagged("named_entity", 34, 34, "O", ".", "0"),
        tagged("named_entity", 37, 42, "I-LOC", "LISBON", "1"),
    ]
    assert list(row) == ["text", "document", "sentence", "token", "pos", "label"]
    # every annotation's offsets point at its text
    for column in ("sentence", "token"):
        for a in row[column]:  # type: ignore[attr-defined]
            assert text[a.begin : a.end + 1] == a.result


def test_unexploded_document_without_a_final_blank_line_has_no_trailing_separator(tmp_path: Path) -> None:
    second = rows_of(write(tmp_path, EXAMPLE), explode_sentences=False)[1]

    assert second["text"] == "Porto Benfica"
    assert second["document"] == [Annotation("document", 0, 12, "Porto Benfica", {"training": "true"})]
    assert second["label"] == [
        tagged("named_entity", 0, 4, "I-ORG", "Porto", "0"),
        tagged("named_entity", 6, 12, "B-ORG", "Benfica", "0"),
    ]


def test_exploded_rows_are_one_sentence_each_with_offsets_from_zero(tmp_path: Path) -> None:
    rows = rows_of(write(tmp_path, EXAMPLE))

    assert [r["text"] for r in rows] == ["Maria Lopez joined Northwind Bank .", "LISBON", "Porto Benfica"]
    lisbon = rows[1]
    assert lisbon["document"] == [Annotation("document", 0, 5, "LISBON", {"training": "true"})]
    assert lisbon["sentence"] == [Annotation("document", 0, 5, "LISBON", {"sentence": "0"})]
    assert lisbon["token"] == [Annotation("token", 0, 5, "LISBON", {"sentence": "0"})]
    assert lisbon["pos"] == [tagged("pos", 0, 5, "NNP", "LISBON", "0")]
    assert lisbon["label"] == [tagged("named_entity", 0, 5, "I-LOC", "LISBON", "0")]
    assert rows[0]["document"] == [
        Annotation("document", 0, 34, "Maria Lopez joined Northwind Bank .", {"training": "true"})
    ]


def test_include_doc_id_strips_surrounding_hyphens_and_defaults_to_x(tmp_path: Path) -> None:
    rows = rows_of(write(tmp_path, EXAMPLE), include_doc_id=True)
    assert [r["doc_id"] for r in rows] == ["X", "X", "7"]
    assert list(rows[0]) == ["doc_id", "text", "document", "sentence", "token", "pos", "label"]

    text = (
        "a A O O\n\n-DOCSTART- POS -3-1- NER\nb B O O\n\n"
        "-DOCSTART- POS 3-2 NER\nc C O O\n\n-DOCSTART-\nd D O O"
    )
    rows = rows_of(write(tmp_path, text, "ids.conll"), include_doc_id=True, explode_sentences=False)
    # no -DOCSTART- before the first document, "-3-1-", "3-2" and a -DOCSTART- without an id
    assert [r["doc_id"] for r in rows] == ["X", "3-1", "3-2", "X"]


def test_to_iob2_rewrites_iob1_labels_per_sentence(tmp_path: Path) -> None:
    path = write(tmp_path, EXAMPLE)
    labels = [[a.result for a in r["label"]] for r in rows_of(path, to_iob2=True)]  # type: ignore[attr-defined]
    assert labels == [["B-PER", "I-PER", "O", "B-ORG", "I-ORG", "O"], ["B-LOC"], ["B-ORG", "B-ORG"]]

    untouched = [[a.result for a in r["label"]] for r in rows_of(path)]  # type: ignore[attr-defined]
    assert untouched[2] == ["I-ORG", "B-ORG"]


def test_iob2_input_reads_unchanged_with_or_without_to_iob2(tmp_path: Path) -> None:
    iob2 = "Anna NNP B-NP B-PER\nBerg NNP I-NP I-PER\nin IN B-PP O\nOslo NNP B-NP B-LOC\n"
    path = write(tmp_path, iob2)
    for to_iob2 in (False, True):
        (row,) = rows_of(path, to_iob2=to_iob2)
        assert [a.result for a in row["label"]] == ["B-PER", "I-PER", "O", "B-LOC"]  # type: ignore[attr-defined]


def test_documents_carry_file_line_numbers_and_indices(tmp_path: Path) -> None:
    path = write(tmp_path, EXAMPLE)
    docs = list(read_conll_documents(path))

    assert [d.doc_index for d in docs] == [0, 1]
    assert [d.doc_id for d in docs] == ["-X-", "-7-"]
    assert [[s.line for s in d.sentences] for d in docs] == [[3, 10], [14]]
    assert [t.line for t in docs[0].sentences[0].tokens] == [3, 4, 5, 6, 7, 8]
    assert {s.path for d in docs for s in d.sentences} == {path}
    assert [s.doc_index for s in docs[1].sentences] == [1]


def test_extra_blank_lines_give_one_separator_and_no_empty_sentences(tmp_path: Path) -> None:
    text = "\n\n-DOCSTART- -X- -X- O\n\n\n\na A O O\n\n\n\nb B O O\n\n\n"
    (row,) = rows_of(write(tmp_path, text), explode_sentences=False)
    assert row["text"] == "a\n\nb\n\n"
    assert [a.result for a in row["sentence"]] == ["a", "b"]  # type: ignore[attr-defined]


# -- inputs: folders, globs, line endings, delimiters ------------------------------------------------------


def test_folder_reads_regular_non_hidden_files_sorted_and_numbers_documents_on(tmp_path: Path) -> None:
    folder = tmp_path / "conll"
    folder.mkdir()
    (folder / "b.conll").write_text("b NN O I-ORG\n", encoding="utf-8")
    (folder / "a.conll").write_text("a NN O I-PER\n\nz NN O O\n", encoding="utf-8")
    (folder / ".hidden.conll").write_text("not a token line\n", encoding="utf-8")
    (folder / "sub").mkdir()

    assert resolve_paths(str(folder)) == [str(folder / "a.conll"), str(folder / "b.conll")]
    docs = list(read_conll_documents(str(folder)))
    assert [(Path(d.path).name, d.doc_index) for d in docs] == [("a.conll", 0), ("b.conll", 1)]
    assert [r["text"] for r in rows_of(str(folder), explode_sentences=False)] == ["a\n\nz", "b"]


def test_glob_matches_files_only(tmp_path: Path) -> None:
    for name in ("x1.conll", "x2.conll", "notes.txt"):
        (tmp_path / name).write_text("w NN O O\n", encoding="utf-8")
    (tmp_path / "x3.conll").mkdir()

    assert resolve_paths(str(tmp_path / "x*.conll")) == [
        str(tmp_path / "x1.conll"),
        str(tmp_path / "x2.conll"),
    ]
    assert len(resolve_paths(str(tmp_path / "*"))) == 3  # Spark NLP's 'folder/*' form


@pytest.mark.parametrize("missing", ["nope.conll", "empty_dir", "none*.conll"])
def test_nothing_to_read_names_the_path(tmp_path: Path, missing: str) -> None:
    (tmp_path / "empty_dir").mkdir()
    path = str(tmp_path / missing)
    with pytest.raises(FileNotFoundError, match=missing.replace("*", r"\*")):
        resolve_paths(path)
    with pytest.raises(FileNotFoundError):
        list(read_conll_documents(path))


@pytest.mark.parametrize(
    "text", ["", "-DOCSTART- -X- -X- O\n", "-DOCSTART- -X- -X- O\n\n-DOCSTART-\n\n", "\n \n\n"]
)
def test_files_without_tokens_give_no_documents(tmp_path: Path, text: str) -> None:
    assert list(read_conll_documents(write(tmp_path, text))) == []


def test_crlf_bom_and_trailing_spaces_read_like_plain_lf(tmp_path: Path) -> None:
    lf = rows_of(write(tmp_path, EXAMPLE + "\n", "lf.conll"), explode_sentences=False)
    messy = "\ufeff" + "\r\n".join(line + "  " for line in EXAMPLE.split("\n")) + "\r\n"
    crlf = rows_of(write(tmp_path, messy, "crlf.conll"), explode_sentences=False)
    assert crlf == lf
    assert crlf[0]["text"] == "Maria Lopez joined Northwind Bank .\n\nLISBON\n\n"


def test_tab_delimiter_splits_columns_on_tabs_and_joins_the_text_with_it(tmp_path: Path) -> None:
    # Spark NLP appends the delimiter between tokens, so a tab-separated file gives tab-joined text.
    path = write(tmp_path, "New York\tNNP\tI-NP\tI-LOC\nrain\tNN\tI-NP\tO\t\n")
    (row,) = rows_of(path, delimiter="\t")
    assert row["text"] == "New York\train"
    assert row["token"] == [
        Annotation("token", 0, 7, "New York", {"sentence": "0"}),
        Annotation("token", 9, 12, "rain", {"sentence": "0"}),
    ]


def test_space_separated_docstart_in_a_tab_separated_file_still_starts_a_document(tmp_path: Path) -> None:
    path = write(tmp_path, "-DOCSTART- -X- -4- O\n\na\tA\tO\tO\n\n-DOCSTART- -X- -5- O\n\nb\tB\tO\tO\n")
    docs = list(read_conll_documents(path, delimiter="\t"))
    assert [(d.doc_id, d.sentences[0].tokens[0].text) for d in docs] == [("-4-", "a"), ("-5-", "b")]


def test_label_and_pos_index_pick_other_columns(tmp_path: Path) -> None:
    path = write(tmp_path, "Oslo X NNP I-LOC\ntoday Y NN O\n")
    (row,) = rows_of(path, label_index=3, pos_index=2)
    assert [a.result for a in row["pos"]] == ["NNP", "NN"]  # type: ignore[attr-defined]
    (row,) = rows_of(write(tmp_path, "Oslo I-LOC NNP\n", "two.conll"), label_index=1, pos_index=2)
    assert [(a.result, a.metadata["word"]) for a in row["label"]] == [("I-LOC", "Oslo")]  # type: ignore[attr-defined]


def test_documents_stream_before_the_rest_of_the_file_is_read(tmp_path: Path) -> None:
    path = write(tmp_path, "-DOCSTART- -X- -X- O\n\na A O O\n\n-DOCSTART- -X- -X- O\n\nbroken line\n")
    docs = read_conll_documents(path)
    assert next(docs).sentences[0].tokens[0].text == "a"
    with pytest.raises(ConllFormatError, match=r"\.conll:7:"):
        next(docs)


# -- errors name file:line and say what to change -----------------------------------------------------------


def test_too_few_columns_for_the_label(tmp_path: Path) -> None:
    path = write(tmp_path, "-DOCSTART- -X- -X- O\n\nMaria NNP I-NP I-PER\nLopez NNP\n", "train.conll")
    with pytest.raises(ConllFormatError) as error:
        list(read_conll_documents(path))
    assert str(error.value) == (
        f"{path}:4: token line has 2 columns, label index 3 needs at least 4 "
        "(set conllLabelIndex or delimiter?)"
    )


def test_wrong_delimiter_is_reported_as_one_column(tmp_path: Path) -> None:
    path = write(tmp_path, "Maria NNP I-NP I-PER\n", "spaces.conll")
    with pytest.raises(ConllFormatError, match=r"spaces\.conll:1: token line has 1 column, label index 3"):
        list(read_conll_documents(path, delimiter="\t"))


def test_too_few_columns_for_the_pos_tag(tmp_path: Path) -> None:
    path = write(tmp_path, "a B C O\n\nx Y Z O\n", "pos.conll")
    with pytest.raises(
        ConllFormatError, match=r"pos\.conll:1: .*pos index 5 needs at least 6 \(set conllPosIndex"
    ):
        list(read_conll_documents(path, pos_index=5))


def test_non_iob_label(tmp_path: Path) -> None:
    path = write(tmp_path, "John NNP I-NP I-PER\n\nSmith NNP I-NP PER\n", "bare.conll")
    with pytest.raises(ConllFormatError, match=r"bare\.conll:3: label 'PER' in column 3 is not an IOB tag"):
        list(read_conll_documents(path))


def test_label_index_pointing_at_the_chunk_column(tmp_path: Path) -> None:
    path = write(tmp_path, "John NNP B-NP I-PER\n", "chunk.conll")
    # B-NP looks like IOB, so pick a column that is clearly not: the POS column
    with pytest.raises(ConllFormatError, match=r"chunk\.conll:1: label 'NNP'.*check conllLabelIndex"):
        list(read_conll_documents(path, label_index=1))


def test_non_utf8_names_the_line_of_the_first_bad_byte(tmp_path: Path) -> None:
    path = tmp_path / "latin1.conll"
    path.write_bytes("a A O O\n\nb B O O\nJos\u00e9 NNP I-NP I-PER\n".encode("latin-1"))
    with pytest.raises(ConllFormatError, match=r"latin1\.conll:4: not valid UTF-8 \(byte 0xe9.*iconv"):
        list(read_conll_documents(str(path)))


def test_empty_token_column(tmp_path: Path) -> None:
    path = write(tmp_path, "a|A|O|O\n|B|O|O\n", "pipes.conll")
    with pytest.raises(ConllFormatError, match=r"pipes\.conll:2: the token \(first column\) is empty"):
        list(read_conll_documents(path, delimiter="|"))


def test_bad_arguments() -> None:
    with pytest.raises(ValueError, match="delimiter"):
        list(read_conll_documents(str(SAMPLE / "test.conll"), delimiter=""))
    with pytest.raises(ValueError, match="label_index"):
        list(read_conll_documents(str(SAMPLE / "test.conll"), label_index=-1))


# -- the bundled sample ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "n_docs", "n_sentences"), [("train.conll", 20, 400), ("test.conll", 6, 120)]
)
def test_sample_sizes(name: str, n_docs: int, n_sentences: int) -> None:
    path = str(SAMPLE / name)
    docs = list(read_conll_documents(path))
    assert len(docs) == n_docs
    assert sum(len(d.sentences) for d in docs) == n_sentences
    assert len(rows_of(path)) == n_sentences
    assert len(rows_of(path, explode_sentences=False)) == n_docs


def entities(name: str) -> dict[str, set[str]]:
    """Entity strings per type, read with IOB2 conversion so adjacent same-type entities stay apart."""
    found: dict[str, set[str]] = {"PER": set(), "ORG": set(), "LOC": set(), "MISC": set()}
    for doc in read_conll_documents(str(SAMPLE / name), to_iob2=True):
        for sentence in doc.sentences:
            current: list[str] = []
            kind = ""
            for token in [*sentence.tokens, None]:
                label = token.label if token else "O"
                if current and not label.startswith("I-"):
                    found[kind].add(" ".join(current))
                    current = []
                if token and label != "O":
                    current.append(token.text)
                    kind = label[2:]
    return found


def test_sample_is_iob1_like_conll_2003() -> None:
    for name in ("train.conll", "test.conll"):
        for doc in read_conll_documents(str(SAMPLE / name)):
            for sentence in doc.sentences:
                previous = "O"
                for token in sentence.tokens:
                    if token.label.startswith("B-"):  # IOB1: B- only right after an entity of its type
                        assert previous[2:] == token.label[2:], (name, token.line)
                    previous = token.label
    labels = {
        t.label
        for d in read_conll_documents(str(SAMPLE / "train.conll"))
        for s in d.sentences
        for t in s.tokens
    }
    assert {"I-PER", "I-ORG", "I-LOC", "I-MISC", "O"} <= labels
    assert any(label.startswith("B-") for label in labels)


def test_sample_has_varied_entities_partly_unseen_in_test() -> None:
    train, test = entities("train.conll"), entities("test.conll")
    full_names = {name for name in train["PER"] if " " in name}
    assert len(full_names) >= 150
    assert len(train["ORG"]) >= 80 and len(train["LOC"]) >= 80 and len(train["MISC"]) >= 40
    for kind in train:
        assert test[kind] & train[kind], kind
        assert test[kind] - train[kind], kind


def _sentences_without_docstart(n: int) -> list[bytes]:
    lines = []
    for i in range(n):
        lines += [f"w{i} NN B-NP I-PER\n".encode(), f"x{i} NN I-NP O\n".encode(), b"\n"]
    return lines


def test_split_every_streams_a_file_without_docstart_in_parts():
    lines = _sentences_without_docstart(10)
    consumed = []

    def reading():
        for number, line in enumerate(lines, start=1):
            consumed.append(number)
            yield line

    parts = parse_conll_lines(reading(), "big.conll", split_every=4)
    first = next(parts)
    assert [s.tokens[0].text for s in first.sentences] == ["w0", "w1", "w2", "w3"]
    assert len(consumed) == 12  # the first part came after its 4 sentences, not after the whole file
    rest = list(parts)
    assert [len(p.sentences) for p in rest] == [4, 2]
    assert {p.doc_index for p in [first, *rest]} == {0}

    whole = list(parse_conll_lines(lines, "big.conll"))
    assert len(whole) == 1
    exploded = [r for p in [first, *rest] for r in document_rows(p, include_doc_id=True)]
    assert exploded == document_rows(whole[0], include_doc_id=True)


def test_split_every_keeps_document_indexes_across_files(tmp_path):
    (tmp_path / "a.conll").write_bytes(b"".join(_sentences_without_docstart(5)))
    (tmp_path / "b.conll").write_bytes(b"-DOCSTART- -X- -7- O\n\n" + b"".join(_sentences_without_docstart(2)))
    docs = list(read_conll_documents(str(tmp_path), split_every=2))
    assert [(d.doc_index, len(d.sentences), d.doc_id) for d in docs] == [
        (0, 2, None),
        (0, 2, None),
        (0, 1, None),
        (1, 2, "-7-"),
    ]

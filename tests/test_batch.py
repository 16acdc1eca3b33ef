"""File reading and scoring (toxic.commentfile, toxic.batch) with real files and the real model: what is refused,
what is read and how, and that every output reads back exactly with ``csv`` and with pandas."""

from __future__ import annotations

import csv
import re

import pandas as pd
import pytest

from tests.conftest import MODEL_LABELS, SCORE_COLUMNS
from tests.csv_cases import ACCEPTED, REFUSED
from toxic.batch import escape_formula, score_file
from toxic.commentfile import looks_like_header, sniff
from toxic.errors import InputError

ODD_CELLS = [
    "plain",
    "line one\nline two",
    "carriage\rreturn",
    "\r=1+1",  # read back as an extra row when a bare CR was written unquoted
    "crlf\r\ninside",
    'say "hi", ok',
    "semi;colon|pipe\ttab",
    '=HYPERLINK("http://x")',
    "+1",
    "-",
    "@home",
    "\tlead tab",
    "   spaces   ",
    "é ünïcode 🙂 日本語",
    "",
]


def read_back(path, delimiter=","):
    """The output twice: with the csv module and with pandas (all strings)."""
    with path.open(encoding="utf-8", newline="") as f:
        rows = list(csv.reader(f, delimiter=delimiter))
    frame = pd.read_csv(path, sep=delimiter, dtype=str, keep_default_na=False)
    return rows, frame


@pytest.mark.parametrize("delimiter", [",", ";", "\t"])
def test_every_cell_reads_back_exactly(clf, tmp_path, delimiter):
    src = tmp_path / "odd.csv"
    header = ["id", '=HYPERLINK("http://x")', "text"]
    with src.open("w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f, delimiter=delimiter, quoting=csv.QUOTE_ALL)
        writer.writerow(header)
        for i, cell in enumerate(ODD_CELLS):
            writer.writerow([str(i), cell, f"comment {i}: {cell}"])
    out = tmp_path / "out.csv"
    summary = score_file(clf, src, out, column="text")
    assert summary.rows == len(ODD_CELLS) and summary.skipped == 0
    rows, frame = read_back(out, delimiter)
    want_header = ["id", '\'=HYPERLINK("http://x")', "text", *SCORE_COLUMNS]
    assert rows[0] == want_header and list(frame.columns) == want_header
    assert len(rows) == len(ODD_CELLS) + 1 and len(frame) == len(ODD_CELLS)
    for i, cell in enumerate(ODD_CELLS):
        assert rows[i + 1][:3] == [str(i), escape_formula(cell), f"comment {i}: {cell}"]
        assert frame.iloc[i, 1] == escape_formula(cell)
    raw = out.read_bytes()
    assert raw.startswith(b'"id"') and b'\n"0"' in raw  # every cell quoted, numbers too


def test_the_probabilities_and_labels_read_back_as_numbers(clf, tmp_path):
    src = tmp_path / "in.csv"
    src.write_text("text\nyou are a disgusting idiot\nthanks for the help\n", encoding="utf-8")
    out = tmp_path / "out.csv"
    score_file(clf, src, out)
    frame = pd.read_csv(out)
    assert frame["toxic"].dtype == float and frame["toxic_label"].tolist() == [1, 0]
    probs = clf.predict_proba(["you are a disgusting idiot", "thanks for the help"])  # the same batch
    assert frame["toxic"].tolist() == pytest.approx(probs[:, 0].tolist(), abs=1e-6)


@pytest.mark.parametrize("name", list(REFUSED))
def test_refused_files(clf, tmp_path, name):
    content, message = REFUSED[name]
    src = tmp_path / "comments.csv"
    src.write_bytes(content)
    with pytest.raises(InputError, match=re.escape(message)) as e:
        score_file(clf, src, tmp_path / "out.csv")
    assert str(tmp_path) not in str(e.value)  # the file's name, never the server's path
    assert not (tmp_path / "out.csv").exists()


@pytest.mark.parametrize("name", list(ACCEPTED))
def test_odd_files_are_read_right(clf, tmp_path, name):
    content, rows, note = ACCEPTED[name]
    src = tmp_path / "comments.csv"
    src.write_bytes(content)
    summary = score_file(clf, src, tmp_path / "out.csv")
    assert summary.rows == rows
    assert any(note in n for n in summary.notes), summary.notes
    assert len(pd.read_csv(tmp_path / "out.csv", dtype=str)) == rows


def test_cr_only_file_keeps_its_texts(clf, tmp_path):
    src = tmp_path / "mac.csv"
    src.write_bytes(b'id,text\r1,hello there\r2,"quoted\rline"\r')
    out = tmp_path / "out.csv"
    score_file(clf, src, out)
    assert pd.read_csv(out, dtype=str)["text"].tolist() == ["hello there", "quoted\rline"]


def test_encodings_are_detected_and_reported(clf, tmp_path):
    cases = {
        "cp1252": ("text\ncafé\n", "cp1252", "Windows-1252"),  # a short sample fits cp775 just as well
        "quotes": ("text\nHe said “hello” – and left… for €5\n", "cp1252", "Windows-1252"),
        "russian": ("text\nПривет мир, как у тебя дела сегодня\nТы идиот и дурак\n", "cp1251", "cp1251"),
        "utf8": ("text\ncafé 🙂\n", "utf-8", "UTF-8"),
    }
    for name, (text, encoding, shown) in cases.items():
        src = tmp_path / f"{name}.csv"
        src.write_bytes(text.encode(encoding))
        out = tmp_path / f"{name}.out.csv"
        summary = score_file(clf, src, out)
        assert summary.encoding == encoding, name
        assert f"encoding: {shown}" in summary.notes[0], name
        assert pd.read_csv(out, dtype=str)["text"].tolist() == text.splitlines()[1:], name


def test_headerless_files_keep_their_first_comment(clf, tmp_path):
    src = tmp_path / "plain.csv"
    src.write_text("you are an idiot\nhave a nice day\n", encoding="utf-8")
    out = tmp_path / "out.csv"
    summary = score_file(clf, src, out)
    assert summary.rows == 2 and not summary.header and summary.column == "text"
    assert pd.read_csv(out)["text"].tolist() == ["you are an idiot", "have a nice day"]

    two = tmp_path / "two.csv"
    two.write_text("1,you are an idiot\n2,have a nice day\n", encoding="utf-8")
    summary = score_file(clf, two, out)
    assert summary.rows == 2 and summary.column == "column_2"

    # the caller can say: a header after all, or none in a file that looks like it has one
    assert score_file(clf, two, out, header=True, column="you are an idiot").rows == 1
    named = tmp_path / "named.csv"
    named.write_text("text\nhello\n", encoding="utf-8")
    assert score_file(clf, named, out, header=False).rows == 2


@pytest.mark.parametrize(
    ("rows", "header"),
    [
        ([["id", "text"], ["1", "hello there"]], True),
        ([["Comment Text", "Date"], ["you idiot", "2026-01-02"]], True),
        ([["a", "b"], ["1", "2"], ["3", "4"]], True),
        ([["comment_text"]], True),
        ([["Timestamp", "What do you think of the product?"], ["2026/01/02 10:00", "great"]], True),
        ([["you are an idiot"], ["have a nice day"]], False),
        ([["1", "you are an idiot"], ["2", "thanks"]], False),
        ([["Great product, would buy again!"]], False),
        ([["see https://example.com"], ["ok"]], False),
    ],
)
def test_header_detection(rows, header):
    assert looks_like_header(rows) is header


def test_malformed_rows_are_counted_not_scored(clf, tmp_path):
    src = tmp_path / "mixed.csv"
    src.write_text(
        "id,text\n1,hello there\n2;you are an idiot\n3,fine\n4,too,many\n5,last\n", encoding="utf-8"
    )
    out = tmp_path / "out.csv"
    summary = score_file(clf, src, out)
    assert summary.rows == 3 and summary.skipped == 2 and summary.skipped_lines == [3, 5]
    assert "2 row(s) skipped" in " ".join(summary.notes)
    assert pd.read_csv(out, dtype=str)["id"].tolist() == ["1", "3", "5"]


def test_one_column_rows_with_the_delimiter_inside_are_read_whole(clf, tmp_path):
    src = tmp_path / "one.csv"
    src.write_text("text\nhello, you idiot\nfine\n", encoding="utf-8")
    out = tmp_path / "out.csv"
    summary = score_file(clf, src, out, delimiter=",")
    assert pd.read_csv(out, dtype=str)["text"].tolist() == ["hello, you idiot", "fine"]
    assert any("read as one text" in n for n in summary.notes)


def test_bad_delimiter_argument_is_a_clear_error(tmp_path):
    src = tmp_path / "a.csv"
    src.write_text("text\nhi\n")
    with pytest.raises(InputError, match="one character"):
        sniff(src, delimiter="ab")
    assert sniff(src, delimiter="tab").delimiter == "\t"


def test_thresholds_and_chunks_reach_the_callback(clf, tmp_path):
    src = tmp_path / "in.csv"
    src.write_text("text\n" + "".join(f"comment number {i}\n" for i in range(25)), encoding="utf-8")
    seen = []
    summary = score_file(
        clf,
        src,
        tmp_path / "out.csv",
        chunk_rows=10,
        thresholds={label: 0.0 if label == "toxic" else 1.0 for label in MODEL_LABELS},
        on_scored=lambda texts, probs, decisions: seen.append((texts, decisions)),
    )
    assert [len(t) for t, _ in seen] == [10, 10, 5] and seen[0][0][0] == "comment number 0"
    assert summary.flagged == {label: 25 if label == "toxic" else 0 for label in MODEL_LABELS}
    assert all(d[:, 0].all() for _, d in seen)


def test_blank_lines_in_a_one_column_file_are_empty_cells_between_rows_only(clf, tmp_path):
    """pandas writes an empty cell of a one-column frame as a blank line: it reads back as that row."""
    src = tmp_path / "one.csv"
    pd.DataFrame({"text": ["first", "", "third"]}).to_csv(src, index=False)
    src.write_bytes(b"\n" + src.read_bytes() + b"\n\n")  # a blank line before the header, two at the end
    out = tmp_path / "out.csv"
    summary = score_file(clf, src, out)
    assert pd.read_csv(out, dtype=str, keep_default_na=False)["text"].tolist() == ["first", "", "third"]
    assert "1 row(s) with an empty text" in " ".join(summary.notes)


def test_texts_over_the_cell_limit_are_left_out_and_counted(clf, tmp_path):
    src = tmp_path / "long.csv"
    pd.DataFrame({"id": [1, 2, 3], "text": ["you idiot", "x " * 600, "have a nice day"]}).to_csv(
        src, index=False
    )
    out = tmp_path / "out.csv"
    summary = score_file(clf, src, out, max_cell_chars=1000)
    assert summary.rows == 2 and pd.read_csv(out)["id"].tolist() == [1, 3]
    assert any("1 row(s) with a text over 1,000 characters" in n for n in summary.notes)

"""The `toxic` command line, as a user runs it: real files, a real subprocess, every bad input."""

import csv
import io
import json
import zipfile

import pandas as pd
import pytest

from tests.conftest import MODEL_LABELS, REPO, SCORE_COLUMNS, toxic_cli


def test_predict_prints_json_lines():
    out = toxic_cli("predict", "You are a disgusting idiot.", "Lovely weather today.")
    assert out.returncode == 0, out.stderr
    lines = [json.loads(line) for line in out.stdout.splitlines()]
    assert len(lines) == 2 and all(set(line) == {"text", *MODEL_LABELS, "labels"} for line in lines), lines
    assert "toxic" in lines[0]["labels"] and lines[0]["toxic"] > 0.5
    assert lines[1]["labels"] == [] and lines[1]["toxic"] < 0.5 and lines[1]["hate"] < 0.5


def test_predict_undoes_look_alike_spellings_unless_raw():
    seen = toxic_cli("predict", "k1ll y0urs3lf")
    raw = toxic_cli("predict", "--raw", "k1ll y0urs3lf")
    assert seen.returncode == 0 and raw.returncode == 0, seen.stderr + raw.stderr
    seen, raw = (pd.read_json(io.StringIO(out.stdout), typ="series") for out in (seen, raw))
    assert "toxic" in seen["labels"] and seen["toxic"] > raw["toxic"] + 0.2


def test_predict_reads_stdin():
    out = toxic_cli("predict", input="one\ntwo\n")
    assert out.returncode == 0 and len(out.stdout.splitlines()) == 2


def test_score_detects_column_escapes_formulas_and_keeps_columns(tmp_path):
    src = tmp_path / "in.csv"
    pd.DataFrame(
        {
            "id": [1, 2, 3, 4],
            "comment": ["You are a disgusting idiot.", '=HYPERLINK("http://x")', "Nice work!", ""],
            "note": ["+1", "-", "@home", "ok"],
        }
    ).to_csv(src, index=False)
    out = toxic_cli("score", str(src), "-o", str(tmp_path / "out.csv"))
    assert out.returncode == 0, out.stderr
    assert "column 'comment'" in out.stderr
    scored = pd.read_csv(tmp_path / "out.csv", keep_default_na=False)
    assert list(scored.columns) == ["id", "comment", "note", *SCORE_COLUMNS]
    assert scored["comment"][1].startswith("'=") and scored["note"].tolist() == ["'+1", "'-", "'@home", "ok"]
    assert scored["toxic_label"].tolist()[0] == 1 and scored["toxic"][3] == 0.0


def test_score_semicolon_tab_and_quoted_multiline(tmp_path):
    src = tmp_path / "in.csv"
    src.write_text(
        'id;text\n1;"first line\nsecond line; with a semicolon"\n2;"you idiot"\n', encoding="utf-8"
    )
    out = toxic_cli("score", str(src), "-o", str(tmp_path / "o.csv"))
    assert out.returncode == 0, out.stderr
    scored = pd.read_csv(tmp_path / "o.csv", sep=";")
    assert len(scored) == 2 and "second line" in scored["text"][0]
    tsv = tmp_path / "in.tsv"
    tsv.write_text("text\tlabel\nhello there\t0\nyou idiot\t1\n")
    out = toxic_cli("score", str(tsv), "-o", str(tmp_path / "o.tsv"))
    assert out.returncode == 0, out.stderr


def test_score_txt_one_comment_a_line(tmp_path):
    src = tmp_path / "in.txt"
    src.write_text("hello\nyou idiot\n\nthird\n")
    out = toxic_cli("score", str(src), "-o", str(tmp_path / "o.csv"))
    assert out.returncode == 0, out.stderr
    assert len(pd.read_csv(tmp_path / "o.csv", keep_default_na=False)) == 4


def test_score_not_utf8_is_detected(tmp_path):
    src = tmp_path / "latin.csv"
    src.write_bytes("text\ncafé crème brûlée à la française très déçu\nçà et là\n".encode("cp1252"))
    out = toxic_cli("score", str(src), "-o", str(tmp_path / "o.csv"))
    assert out.returncode == 0, out.stderr
    assert "not UTF-8" in out.stderr
    assert "crème" in (tmp_path / "o.csv").read_text(encoding="utf-8")


def test_score_example_file():
    out = toxic_cli("score", str(REPO / "examples" / "comments.csv"), "-o", "/dev/null", "-q")
    assert out.returncode == 0 and "scored 45 rows" in out.stderr


def _bad(tmp_path, name: str, content: bytes | None):
    path = tmp_path / name
    if content is not None:
        path.write_bytes(content)
    return path


def _zip_bytes() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("a.csv", "text\nhello\n")
    return buf.getvalue()


@pytest.mark.parametrize(
    ("name", "content", "args", "message"),
    [
        ("missing.csv", None, [], "no such file"),
        ("empty.csv", b"", [], "empty (0 bytes)"),
        ("blank.csv", b"   \n\n", [], "only whitespace"),
        ("header.csv", b"id,text\n", [], "no rows"),
        ("numbers.csv", b"a,b\n1,2\n3,4\n", [], "cannot tell which column"),
        ("col.csv", b"text\nhello\n", ["--column", "body"], "no column 'body'"),
        ("semi.csv", b"id;body\n1;hello there friend\n", ["--delimiter", ","], "another delimiter"),
        ("binary.csv", bytes(range(256)) * 8, [], "binary file"),
        ("archive.csv", _zip_bytes(), [], "archive"),
    ],
)
def test_score_bad_input_is_one_clear_line(tmp_path, name, content, args, message):
    path = _bad(tmp_path, name, content)
    out = toxic_cli("score", str(path), "-o", str(tmp_path / "out.csv"), *args)
    assert out.returncode == 2, out.stdout + out.stderr
    assert message in out.stderr
    assert "Traceback" not in out.stderr and len(out.stderr.strip().splitlines()) == 1


def test_score_refuses_to_overwrite_input(tmp_path):
    src = tmp_path / "a.csv"
    src.write_text("text\nhi\n")
    out = toxic_cli("score", str(src), "-o", str(src))
    assert out.returncode == 2 and "overwrite" in out.stderr


def test_bad_model_is_one_clear_line(tmp_path):
    out = toxic_cli("predict", "hi", "--model", str(tmp_path))
    assert out.returncode == 2 and "not a toxic model directory" in out.stderr


def test_data_verify(tmp_path):
    ok = toxic_cli("data", "verify")
    assert ok.returncode == 0 and ok.stdout.startswith("ok")
    import shutil

    shutil.copytree(REPO / "data", tmp_path / "data")
    with (tmp_path / "data" / "davidson2017" / "labeled_data.csv").open("a") as f:
        f.write("x\n")
    bad = toxic_cli("data", "verify", "--data-dir", str(tmp_path / "data"))
    assert bad.returncode == 1 and "davidson2017/labeled_data.csv" in bad.stderr


def test_csv_module_round_trip_of_odd_cells(tmp_path):
    src = tmp_path / "odd.csv"
    with src.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["text", "text"])  # duplicate column names
        w.writerow(['hello, "quoted" world', "dup"])
    out = toxic_cli("score", str(src), "-o", str(tmp_path / "o.csv"))
    assert out.returncode == 0, out.stderr
    assert "duplicate column names" in out.stderr
    assert pd.read_csv(tmp_path / "o.csv").columns.tolist()[:2] == ["text", "text.1"]

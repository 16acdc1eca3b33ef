"""The refused and odd files of tests/csv_cases.py through the running app's /score_csv (gradio_client, real
HTTP) and the CLI: each refused file is one clear message naming no server path, each odd file is scored
right, and a normal file scores after each of them."""

from __future__ import annotations

import re

import pandas as pd
import pytest
from gradio_client import handle_file
from gradio_client.exceptions import AppError

from tests.conftest import toxic_cli
from tests.csv_cases import ACCEPTED, REFUSED


@pytest.fixture
def normal_file(tmp_path):
    path = tmp_path / "normal.csv"
    path.write_text("id,text\n1,have a nice day\n2,you are an idiot\n", encoding="utf-8")
    return path


def still_serves(client, normal_file) -> None:
    out, summary, *_ = client.predict(handle_file(str(normal_file)), None, api_name="/score_csv")
    assert "Scored **2** rows" in summary and len(pd.read_csv(out)) == 2


@pytest.mark.parametrize("name", list(REFUSED))
def test_refused_files_through_the_app(client, app_server, tmp_path, normal_file, name):
    content, message = REFUSED[name]
    path = tmp_path / "comments.csv"
    path.write_bytes(content)
    with pytest.raises(AppError, match=re.escape(message)) as e:
        client.predict(handle_file(str(path)), None, api_name="/score_csv")
    assert "/tmp" not in str(e.value) and "gradio" not in str(e.value).lower()
    still_serves(client, normal_file)


@pytest.mark.parametrize("name", list(ACCEPTED))
def test_odd_files_through_the_app(client, tmp_path, normal_file, name):
    content, rows, note = ACCEPTED[name]
    path = tmp_path / "comments.csv"
    path.write_bytes(content)
    out, summary, *_ = client.predict(handle_file(str(path)), None, api_name="/score_csv")
    assert f"Scored **{rows}** rows" in summary and note in summary
    assert len(pd.read_csv(out, dtype=str)) == rows
    still_serves(client, normal_file)


def test_refused_files_through_the_cli(tmp_path):
    for name in ("pdf", "png", "zip", "every row malformed"):
        content, message = REFUSED[name]
        path = tmp_path / "comments.csv"
        path.write_bytes(content)
        out = toxic_cli("score", str(path), "-o", str(tmp_path / "out.csv"))
        assert out.returncode == 2 and message in out.stderr, (name, out.stderr)
        assert len(out.stderr.strip().splitlines()) == 1 and "Traceback" not in out.stderr

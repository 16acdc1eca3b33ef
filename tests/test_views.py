"""What the UI shows, as plain functions: verdicts, the explanation colour scale, tables and plot frames."""

import math

import numpy as np
import pandas as pd
import pytest

from toxic.serve import views


@pytest.mark.parametrize(
    ("value", "expected"),
    [(-1, 0.01), (0.0, 0.01), (0.5, 0.5), (1.5, 0.99), (None, 0.4), ("", 0.4), ("abc", 0.4), (math.nan, 0.4)],
)
def test_clamp_keeps_a_value_in_range_and_defaults_an_empty_one(value, expected):
    assert views.clamp(value, 0.01, 0.99, 0.4) == expected


def test_verdict_says_over_threshold_at_the_given_thresholds():
    scores = {"toxic": 0.87, "hate": 0.48}
    over = views.verdict(scores, {"toxic": 0.4, "hate": 0.5})
    assert over.startswith("**Over threshold:** `toxic` (87% ≥ 0.40)") and "hate" not in over
    under = views.verdict(scores, {"toxic": 0.9, "hate": 0.9})
    assert under == "**Under every threshold** (toxic 0.90, hate 0.90)."
    assert "flag" not in (over + under).lower()  # "flag" is kept for nothing; reports are "mistakes"
    assert views.verdict(scores, {"toxic": 0.9, "hate": 0.9}, "you `idiot`").endswith(
        "Read as: `you 'idiot'`"
    )


def test_colour_scale_is_fixed_the_same_weight_the_same_colour():
    assert views.colour(0.0) == views.colour(0.049) == views.colour(-0.049) == "transparent"
    assert views.colour(0.05) == "rgba(239, 68, 60, 0.15)"  # the faintest colour a shown word gets
    assert views.colour(1.0) == "rgba(239, 68, 60, 0.56)"
    assert views.colour(2.0) == views.colour(7.5) == "rgba(239, 68, 60, 1.00)"
    assert views.colour(-2.0) == "rgba(58, 90, 213, 1.00)"
    # a small weight on a text whose largest weight is small stays faint (no rescaling to the largest)
    alone = views.explanation_html([("harmless", -0.067)], "toxic")
    assert views.colour(-0.067) in alone and "rgba(58, 90, 213, 0.16)" in alone


def test_explanation_shows_figures_and_escapes_the_text():
    weights = [("<script>alert(1)</script>", 0.0), ("idiot", 2.31), ('"quoted"', -0.4), ("you", 0.01)]
    out = views.explanation_html(weights, "hate", note="first 128 words explained")
    assert "<script>" not in out and "&lt;script&gt;" in out and "&quot;quoted&quot;" in out
    assert 'title="+2.310 log-odds"' in out and 'title="-0.400 log-odds"' in out
    assert "idiot +2.31, &quot;quoted&quot; -0.40." in out  # strongest first; "you" is under the cut
    assert "<b>hate</b>" in out and "first 128 words explained" in out
    assert views.explanation_html([], "toxic") == ""


def test_count_lines(tmp_path):
    path = tmp_path / "f.csv"
    path.write_bytes(b"text\na\nb\n")
    assert views.count_lines(path) == 3
    path.write_bytes(b"no newline")
    assert views.count_lines(path) == 1


def test_batch_summary():
    text = views.batch_summary(200, "body", {"toxic": 50, "hate": 1}, ["not UTF-8: read as cp1252"])
    assert text == (
        "Scored **200** rows of column `body`. Over threshold: **toxic**: 50 (25.0%), **hate**: 1 (0.5%).\n\n"
        "- not UTF-8: read as cp1252"
    )


def test_preview_keeps_row_numbers_and_an_id_column():
    top = pd.DataFrame(
        {
            "ID": ["a7", "b2"],
            "note": ["x", "y"],
            "body": ["you idiot", "meh"],
            "toxic": np.float32([0.921, 0.5]),
        },
        index=[41, 3],
    )
    top["hate"] = np.float32([0.1, 0.2])
    out = views.preview_frame(top, "body", ["toxic", "hate"])
    assert list(out.columns) == ["row", "ID", "body", "toxic", "hate"]
    assert out["row"].tolist() == [42, 4] and out["toxic"].tolist() == [0.921, 0.5]
    assert views.preview_frame(None, "body", ["toxic"]).empty


def test_one_histogram_per_label_counts_every_row_once():
    frame = views.histogram_frame(np.array([5, 0, 0, 0, 0, 0, 0, 0, 1, 2]))
    assert frame["score"].tolist()[:2] == ["0.0-0.1", "0.1-0.2"] and frame["texts"].sum() == 8


def test_drift_waiting_says_how_many_are_logged():
    assert views.drift_waiting(12, 30) == (
        "12 of the 30 predictions a report needs are logged. Classify more texts, then compute drift again."
    )
    assert "1 of the 30 predictions a report needs is logged" in views.drift_waiting(1, 30)
    assert views.drift_waiting(0, 30).startswith("No predictions are logged yet")


def test_drift_table_and_frames():
    summary = {
        "dataset_drift": True,
        "drift_share": 0.5,
        "drifted_features": ["toxic", "length"],
        "embedding": {"score": 0.1234, "drifted": False},
        "toxic_rate": {"current": 0.3, "reference": 0.25},
        "hate_rate": {"current": None, "reference": 0.1},
        "window": {"predictions": 1200, "start": "s", "end": "e"},
    }
    table = views.drift_table(summary, ["a note"])
    assert "| dataset drift | **yes** |" in table and "50% (toxic, length)" in table
    assert "| over-threshold rate, window vs reference | toxic 30.0% vs 25.0% |" in table
    assert "| window | 1,200 predictions, s to e |" in table and table.endswith("- a note")
    series = pd.DataFrame(
        {"predictions": [3, 4], "toxic_rate": [0.1, 0.2]},
        index=pd.Index(pd.to_datetime(["2026-01-01 00:00", "2026-01-01 01:00"]), name="time"),
    )
    counts, rates = views.drift_frames(series)
    assert counts["value"].tolist() == [3, 4] and set(rates["series"]) == {"toxic_rate"}


def test_report_iframe_keeps_the_report_out_of_the_page():
    assert views.report_iframe('<p class="x">a & b</p>') == (
        '<iframe srcdoc="&lt;p class=&quot;x&quot;&gt;a &amp; b&lt;/p&gt;" '
        'style="width:100%;height:900px;border:0"></iframe>'
    )


def test_label_list_names_each_label_with_its_meaning():
    assert views.label_list(["toxic"]) == f"**toxic** ({views.LABEL_MEANINGS['toxic']})"
    two = views.label_list(["toxic", "hate"])
    assert two.startswith("**toxic** (") and " and **hate** (" in two
    assert views.label_list(["toxic", "hate", "spam"]).endswith(
        ", **hate** (" + views.LABEL_MEANINGS["hate"] + ") and **spam**"
    )

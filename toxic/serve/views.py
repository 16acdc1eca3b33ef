"""What the UI shows, as plain functions of plain values: verdicts, explanation colours, tables and plot frames.

No Gradio here: each function takes scores, weights, summaries or frames and returns a string or a frame, so each
can be tested without a browser. Words mean one thing each: "over threshold" is the model's verdict at the
moderator's thresholds; "report a mistake" is a human correction.
"""

from __future__ import annotations

import html
import math
from pathlib import Path

import pandas as pd

from toxic.explain import MIN_SHOWN

THRESHOLD_RANGE = (0.01, 0.99)  # a threshold of 0 or 1 would put every text over (or under) it
# Explanation colours: the same weight gets the same colour on every text. A word's weight is in log-odds; at
# FULL_COLOUR or more it is drawn at full strength, below MIN_SHOWN not at all (at p = 0.5, ~0.0125 in probability).
FULL_COLOUR = 2.0
FAINTEST = 0.15  # the opacity of a word just over MIN_SHOWN, so that every coloured word can be seen
UP, DOWN = (239, 68, 60), (58, 90, 213)  # red: pushed the score up; blue: pulled it down
ID_NAMES = ("id", "comment_id", "row_id", "message_id", "post_id", "tweet_id", "uuid")


# What each label means, for the page's heading; a label not named here is shown by its name alone.
LABEL_MEANINGS = {
    "toxic": "rude, disrespectful or abusive: insults, profanity, threats, hate",
    "hate": "an attack on people for who they are: a protected group or its members",
    "insult": "an insult or threat aimed at a person or a group",
}


def label_list(labels) -> str:
    """The model's labels in bold, each with its meaning: ``**toxic** (rude, ...) and **hate** (...)``."""
    parts = [
        f"**{label}** ({LABEL_MEANINGS[label]})" if label in LABEL_MEANINGS else f"**{label}**"
        for label in labels
    ]
    return ", ".join(parts[:-1]) + f" and {parts[-1]}" if len(parts) > 1 else "".join(parts)


# --- the Classify tab ---------------------------------------------------------------------------------------------


def clamp(value, low: float, high: float, default: float) -> float:
    """``value`` within [low, high]; an empty or non-numeric value is ``default``."""
    try:
        value = float(value)
    except (TypeError, ValueError):
        return default
    if math.isnan(value):
        return default
    return min(max(value, low), high)


def verdict(scores: dict[str, float], thresholds: dict[str, float], read_as: str | None = None) -> str:
    """The model's verdict at the moderator's thresholds, as Markdown."""
    over = [label for label in scores if scores[label] >= thresholds[label]]
    if over:
        text = "**Over threshold:** " + ", ".join(
            f"`{label}` ({scores[label]:.0%} ≥ {thresholds[label]:.2f})" for label in over
        )
    else:
        text = "**Under every threshold** (" + ", ".join(f"{k} {v:.2f}" for k, v in thresholds.items()) + ")."
    if read_as:  # look-alike spellings were undone: show what the model scored
        text += "\n\nRead as: `" + read_as.replace("`", "'") + "`"
    return text


def colour(weight: float) -> str:
    """The background of a word of this weight (log-odds), on one fixed scale: ``transparent`` below MIN_SHOWN."""
    if abs(weight) < MIN_SHOWN:
        return "transparent"
    strength = FAINTEST + (1 - FAINTEST) * min((abs(weight) - MIN_SHOWN) / (FULL_COLOUR - MIN_SHOWN), 1.0)
    r, g, b = UP if weight > 0 else DOWN
    return f"rgba({r}, {g}, {b}, {strength:.2f})"


def explanation_html(weights: list[tuple[str, float]], label: str, note: str = "") -> str:
    """Each word on a background coloured by its weight, the number on hover, a legend and the strongest words
    in figures. Words are escaped: the text is the user's."""
    if not weights:
        return ""
    spans = " ".join(
        f'<span class="toxic-word" style="background:{colour(w)};padding:0 2px;border-radius:3px" '
        f'title="{w:+.3f} log-odds">{html.escape(word)}</span>'
        for word, w in weights
    )
    strongest = sorted((x for x in weights if abs(x[1]) >= MIN_SHOWN), key=lambda x: -abs(x[1]))[:5]
    figures = ", ".join(f"{html.escape(word)} {w:+.2f}" for word, w in strongest) or "none"
    legend = (
        f'<span style="background:{colour(-FULL_COLOUR)};padding:0 4px">−{FULL_COLOUR:g}</span>'
        f'<span style="background:{colour(-MIN_SHOWN)};padding:0 4px">−{MIN_SHOWN:g}</span>'
        f'<span style="padding:0 4px">0</span>'
        f'<span style="background:{colour(MIN_SHOWN)};padding:0 4px">+{MIN_SHOWN:g}</span>'
        f'<span style="background:{colour(FULL_COLOUR)};padding:0 4px">+{FULL_COLOUR:g} or more</span>'
    )
    return (
        f'<div class="toxic-explanation"><p style="line-height:2">{spans}</p>'
        f"<p><small>Strongest words for <b>{html.escape(label)}</b> (log-odds): {figures}. "
        f"Colour scale, the same for every text: {legend}</small></p>"
        + (f"<p><small>{html.escape(note)}</small></p>" if note else "")
        + "</div>"
    )


# --- the Batch CSV tab --------------------------------------------------------------------------------------------


def count_lines(path: str | Path) -> int:
    """Lines in a file (at least 1), read in 1 MB blocks: the progress bar's total."""
    with Path(path).open("rb") as f:
        return max(1, sum(block.count(b"\n") for block in iter(lambda: f.read(1 << 20), b"")))


def batch_summary(rows: int, column: str, over: dict[str, int], notes: list[str]) -> str:
    counts = ", ".join(f"**{label}**: {n:,} ({n / max(rows, 1):.1%})" for label, n in over.items())
    text = f"Scored **{rows:,}** rows of column `{column}`. Over threshold: {counts}."
    if notes:
        text += "\n\n" + "\n".join(f"- {n}" for n in notes)
    return text


def preview_frame(top: pd.DataFrame | None, column: str, labels: list[str], n: int = 20) -> pd.DataFrame:
    """The most toxic rows: the file's row number (1 = the first row under the header), an id column when the
    file has one, the text and the scores to 3 decimals."""
    if top is None or not len(top):
        return pd.DataFrame()
    top = top.head(n)
    ids = [c for c in top.columns if c.strip().lower() in ID_NAMES and c != column][:1]
    out = pd.DataFrame({"row": [int(i) + 1 for i in top.index]}, index=top.index)
    for c in [*ids, column]:
        out[c] = top[c]
    for label in labels:
        # float64 before rounding: float32 0.921 prints as 0.9210000038146973 (the file keeps 6 decimals)
        out[label] = top[label].astype(float).round(3)
    return out.reset_index(drop=True)


def histogram_frame(counts) -> pd.DataFrame:
    """One label's score histogram, 10 bins over [0, 1], as rows (score bin, texts) for a bar plot."""
    return pd.DataFrame(
        {
            "score": [f"{i / 10:.1f}-{(i + 1) / 10:.1f}" for i in range(len(counts))],
            "texts": [int(c) for c in counts],
        }
    )


# --- the Drift tab ------------------------------------------------------------------------------------------------


def drift_waiting(logged: int, needed: int) -> str:
    """The Drift tab before the log holds enough predictions for a report."""
    if logged == 0:
        return f"No predictions are logged yet: a report needs {needed}. Classify some texts first."
    return (
        f"{logged} of the {needed} predictions a report needs {'is' if logged == 1 else 'are'} logged. "
        "Classify more texts, then compute drift again."
    )


def drift_table(summary: dict, notes: list[str]) -> str:
    """The drift report's headline figures as a Markdown table, then its notes."""
    emb = summary.get("embedding") or {}
    rates = "; ".join(
        f"{label} {v['current']:.1%} vs {v['reference']:.1%}"
        for label in ("toxic", "hate")
        if (v := summary.get(f"{label}_rate")) and v["current"] is not None and v["reference"] is not None
    )
    window = summary["window"]
    rows = [
        ("dataset drift", "**yes**" if summary["dataset_drift"] else "no"),
        (
            "share of drifted features",
            f"{summary['drift_share']:.0%} ({', '.join(summary['drifted_features']) or 'none'})",
        ),
        (
            "embedding drift score",
            f"{emb['score']:.3f} (drifted: {emb['drifted']})" if "score" in emb else "n/a",
        ),
        ("over-threshold rate, window vs reference", rates or "n/a"),
        ("window", f"{window['predictions']:,} predictions, {window['start']} to {window['end']}"),
    ]
    table = "| | |\n|---|---|\n" + "\n".join(f"| {k} | {v} |" for k, v in rows)
    return table + ("\n\n" + "\n".join(f"- {n}" for n in notes) if notes else "")


def drift_frames(series: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The per-hour series as long frames: (predictions per hour, every other series)."""
    frame = series.reset_index().melt(id_vars="time", var_name="series", value_name="value")
    return frame[frame["series"] == "predictions"], frame[frame["series"] != "predictions"]


def report_iframe(report_html: str) -> str:
    """Evidently's report, sandboxed in an iframe (its scripts and styles stay out of the app's page)."""
    return f'<iframe srcdoc="{html.escape(report_html)}" style="width:100%;height:900px;border:0"></iframe>'

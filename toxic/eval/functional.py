"""Our functional test suite (``data/functional/``): templates with slot fillers and an expected label per case.

Each half (``train.json``, ``eval.json``) lists ``fillers`` (slot -> words) and ``cases``: a ``functionality``, a
``template`` with ``{slot}`` fields, an ``expect`` table (label -> 1, 0 or null; null = not asserted, e.g. whether
harmless profanity is ``toxic``) and optionally ``spelling``: a :mod:`toxic.eval.perturb` kind applied to one slot's
filler. The training half feeds augmentation; the evaluation half is only ever scored. The halves share no frame,
filler or identity term (a test checks), so the score measures generalisation, not recall of our own sentences.

    >>> cases = expand(load_half("eval"))
    >>> report = score(cases, probs, labels, thresholds)   # accuracy per functionality and label
"""

from __future__ import annotations

import itertools
import json
import random
import string
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from toxic.data import MISSING, data_dir
from toxic.errors import DataError
from toxic.eval.perturb import perturb

# Every functionality both halves cover, in our own words (after the functional tests of hate-speech models in
# the literature: Röttger et al., ACL 2021, "HateCheck"); data/functional/README.md explains each.
FUNCTIONALITIES = {
    "derogation_explicit": "a protected group described in openly negative terms",
    "dehumanisation": "a protected group likened to animals, vermin, disease or filth",
    "derogation_implicit": "a protected group demeaned through stereotype or insinuation, no slur or insult word",
    "threat_direct": "the writer says they will harm members of a protected group",
    "threat_normative": "harm to a protected group called for or called right",
    "slur": "a group slur used against the group it names",
    "profanity_hateful": "hate with swearing in it",
    "profanity_harmless": "swearing with no target: not hate, not an insult (toxic not asserted: OLID counts it)",
    "pronoun_reference": "hate where the group is named once and attacked through a pronoun",
    "negated_hate": "a hateful claim negated: not hate",
    "hate_as_question": "hate phrased as a question",
    "hate_as_opinion": "hate phrased as the writer's opinion",
    "identity_neutral": "a neutral statement naming a protected group",
    "identity_positive": "a positive statement about a protected group",
    "slur_reclaimed": "a slur reclaimed by a member of the group, about themselves",
    "counter_quote": "counter-speech that quotes hate to reject it",
    "counter_reference": "counter-speech that refers to hate without quoting it",
    "abuse_individual": "an insult at one person with no identity named: toxic and insult, not hate",
    "abuse_nonprotected_group": "abuse of a group that is not protected (a trade, a hobby): toxic and insult, not hate",
    "abuse_object": "abuse of a thing: toxic, not hate, not an insult",
    "spelling_variants": "hate with a word misspelt on purpose (dropped, swapped or repeated letters, leetspeak, spaces)",
}
HALVES = ("train", "eval")
EXPECTED = (0, 1, None)
IDENTITY_SLOT = "group"  # the slot that names a protected group
PER_CASE = 24  # filled sentences per case in the expanded evaluation half (all combinations when fewer)


@dataclass(frozen=True)
class Case:
    functionality: str
    template: str
    text: str
    expect: dict[str, int | None]


def functional_dir() -> Path:
    return data_dir() / "functional"


def load_half(half: str, folder: Path | None = None) -> dict:
    if half not in HALVES:
        raise DataError(f"unknown functional half {half!r}: choose from {', '.join(HALVES)}")
    path = (folder or functional_dir()) / f"{half}.json"
    if not path.exists():
        raise DataError(f"functional suite not found at {path}")
    return json.loads(path.read_text(encoding="utf-8"))


def slots(template: str) -> list[str]:
    """The ``{slot}`` fields of a template, in order, without repeats."""
    names = [name for _, name, _, _ in string.Formatter().parse(template) if name]
    return list(dict.fromkeys(names))


def _fill(case: dict, values: dict[str, str], rng: random.Random) -> str:
    spelling = case.get("spelling")
    if spelling:
        values = {**values, spelling["slot"]: perturb(values[spelling["slot"]], spelling["kind"], rng)}
    return case["template"].format(**values)


def expand(half: dict, per_case: int = PER_CASE, seed: int = 0) -> list[Case]:
    """Every case filled with up to ``per_case`` combinations of its slots' fillers (a seeded choice when there
    are more), deterministic for a seed."""
    out = []
    for i, case in enumerate(half["cases"]):
        names = slots(case["template"])
        combos = list(itertools.product(*(half["fillers"][n] for n in names)))
        rng = random.Random(f"{seed}:{i}")
        if len(combos) > per_case:
            combos = rng.sample(combos, per_case)
        for combo in combos:
            text = _fill(case, dict(zip(names, combo, strict=True)), rng)
            out.append(Case(case["functionality"], case["template"], text, dict(case["expect"])))
    return out


def sample(half: dict, n: int, labels: tuple[str, ...], seed: int = 0) -> tuple[list[str], list[list[int]]]:
    """``n`` random sentences of a half (training augmentation): texts and per-label targets, -1 where a case
    asserts nothing for a label. A case is drawn uniformly, then one filler per slot."""
    rng = random.Random(seed)
    texts, targets = [], []
    for _ in range(n):
        case = rng.choice(half["cases"])
        values = {name: rng.choice(half["fillers"][name]) for name in slots(case["template"])}
        text = _fill(case, values, rng)
        if rng.random() < 0.3:
            text = text[:1].upper() + text[1:]
        texts.append(text)
        targets.append(
            [MISSING if case["expect"].get(label) is None else case["expect"][label] for label in labels]
        )
    return texts, targets


def score(cases: list[Case], probs: np.ndarray, labels: list[str], thresholds: dict[str, float]) -> dict:
    """Accuracy per functionality and label at the model's thresholds, overall accuracy per label and over all
    asserted (case, label) pairs, the worst functionality, and the failed sentences."""
    per: dict[str, dict[str, list[bool]]] = {}
    failures = []
    for case, row in zip(cases, probs, strict=True):
        for j, label in enumerate(labels):
            want = case.expect.get(label)
            if want is None:
                continue
            ok = bool((row[j] >= thresholds[label]) == bool(want))
            per.setdefault(case.functionality, {}).setdefault(label, []).append(ok)
            if not ok:
                failures.append(
                    {"functionality": case.functionality, "label": label, "text": case.text,
                     "expected": want, "score": round(float(row[j]), 4)}
                )  # fmt: skip
    table = {
        f: {label: {"accuracy": float(np.mean(v)), "n": len(v)} for label, v in by_label.items()}
        for f, by_label in per.items()
    }
    for f, by_label in per.items():
        every = [x for v in by_label.values() for x in v]
        table[f]["all"] = {"accuracy": float(np.mean(every)), "n": len(every)}
    overall = [x for by_label in per.values() for v in by_label.values() for x in v]
    by_label = {
        label: float(np.mean([x for b in per.values() for x in b.get(label, [])]))
        for label in labels
        if any(label in b for b in per.values())
    }
    worst = min(table, key=lambda f: table[f]["all"]["accuracy"])
    return {
        "n_cases": len(cases),
        "accuracy": float(np.mean(overall)),
        "accuracy_by_label": by_label,
        "worst": {"functionality": worst, "accuracy": table[worst]["all"]["accuracy"]},
        "functionalities": table,
        "failures": failures,
    }

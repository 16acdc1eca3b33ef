"""Load, clean and split the labelled data in ``data/`` into our label format (``LABELS``: toxic, hate, insult).

Every source becomes a frame with columns ``text, toxic, hate, insult, source``; a label a source does not give is
-1 and is masked out of the loss. The rules, applied in this order and tested in ``tests/test_data.py``:

0. TweetEval offensive tweets get OLID's levels B and C (``olid/``, the same tweets) by normalised text
   (:func:`olid_key`): ``insult`` is OLID's targeted offence (TIN), and ``hate`` is known to be 0 where OLID says
   the tweet is not offensive, untargeted, or aimed at an individual or at something other than a group; a
   tweet aimed at a group leaves ``hate`` unknown (OLID's groups include parties and fans, not only identities);

1. texts are normalised with :func:`toxic.text.clean_text`; texts left empty are dropped;
2. Davidson gets a deterministic, stratified (by class), seeded 90/10 train/val split;
3. within each split, rows with the same cleaned text are merged: per label, the known values must agree; a label
   whose values conflict becomes unknown (-1), and a row with no known label left is dropped;
4. any train text that also appears in any val split is removed from train (val stays untouched).

``datasets`` is imported only where a ``DatasetDict`` is returned, so serving code can use the frames.
"""

from __future__ import annotations

import csv
import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from toxic.errors import DataError
from toxic.settings import env_data_dir
from toxic.text import clean_text

if TYPE_CHECKING:
    from datasets import DatasetDict

LABELS = ("toxic", "hate", "insult")
MISSING = -1
# The val split each label is judged on (a source name in the validation frame), and the Perspective attribute
# each label answers for: the one place training, export, evaluation and calibration read them from.
BENCHMARKS = {"toxic": "tweeteval_offensive", "hate": "tweeteval_hate", "insult": "tweeteval_offensive"}
PERSPECTIVE = {"toxic": "TOXICITY", "hate": "IDENTITY_ATTACK", "insult": "INSULT"}
# Where each label's training labels come from (human labels unless said): the model card shows it.
LABEL_SOURCES = {
    "toxic": "TweetEval offensive (OLID level A), Davidson et al. 2017 (hate or offensive), hateful TweetEval hate "
    "tweets; our functional-suite training templates and identity templates",
    "hate": "TweetEval hate (HatEval), Davidson et al. 2017 (hate speech); OLID level C: offensive tweets aimed at "
    "an individual, at no one or at something other than a group, and inoffensive ones, are not hate; our "
    "templates",
    "insult": "OLID level B (targeted insult or threat, TIN; research use only) on the TweetEval offensive tweets; "
    "hateful TweetEval hate tweets; our templates",
}
REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_RUDDIT = REPO_ROOT.parent / "shared" / "data" / "ruddit" / "ruddit_with_text.csv"


def data_dir() -> Path:
    """Where the labelled data lives: ``$TOXIC_DATA_DIR`` or the repo's ``data/``."""
    return env_data_dir()


# What Davidson's "offensive, not hate" training tweets teach `hate`: 0 (as published), nothing, or nothing only
# where the tweet uses a slur aimed at women (HatEval, hate's val benchmark, calls hostility to women hate).
DAVIDSON_OFFENSIVE_HATE = ("zero", "unknown", "unknown-at-women")
# A word list, not a label: the gendered slurs that make up most of Davidson's offensive class.
SLURS_AT_WOMEN = re.compile(
    r"\b(?:bitch\w*|hoes?|whores?|sluts?|slutty|cunts?|puss(?:y|ies))\b", re.IGNORECASE
)


@dataclass(frozen=True)
class SplitConfig:
    davidson_val_fraction: float = 0.1  # share of Davidson held out for validation, per class
    seed: int = 13  # fixes the Davidson split
    olid_individual_hate: bool = True  # OLID tweets aimed at one person: hate 0 (False: unknown)
    davidson_offensive_hate: str = (
        "zero"  # its offensive-not-hate train tweets' hate: DAVIDSON_OFFENSIVE_HATE
    )

    def __post_init__(self) -> None:
        if not 0 < self.davidson_val_fraction < 1:
            raise DataError(f"davidson_val_fraction must be in (0, 1), got {self.davidson_val_fraction}")
        if self.davidson_offensive_hate not in DAVIDSON_OFFENSIVE_HATE:
            raise DataError(
                f"davidson_offensive_hate must be one of {', '.join(DAVIDSON_OFFENSIVE_HATE)},"
                f" got {self.davidson_offensive_hate!r}"
            )


# --- reading the raw sources -------------------------------------------------------------------------------------


def _read_lines(path: Path) -> list[str]:
    # Split on "\n" only: tweets may contain other line separators (U+2028, \r) that str.splitlines would break on.
    text = path.read_text(encoding="utf-8")
    if text.endswith("\n"):
        text = text[:-1]
    return text.split("\n")


def _read_tweeteval(folder: Path, split: str) -> tuple[list[str], np.ndarray]:
    texts = _read_lines(folder / f"{split}_text.txt")
    labels = np.array([int(x) for x in _read_lines(folder / f"{split}_labels.txt")])
    if len(texts) != len(labels):
        raise DataError(f"{folder}/{split}: {len(texts)} texts but {len(labels)} labels")
    return texts, labels


_OLID_URL = re.compile(r"\bURL\b")
_NOT_ALNUM = re.compile(r"[^0-9a-z]+")


def olid_key(text: str) -> str:
    """The text OLID and TweetEval share: OLID's ``URL`` placeholder gone, cleaned (entities, ``@USER`` ->
    ``@user``), lower-cased, letters and digits only (TweetEval changed some emoji and casing)."""
    return _NOT_ALNUM.sub("", clean_text(_OLID_URL.sub(" ", text)).lower())


def read_olid(root: Path, individual_hate: bool = True) -> pd.DataFrame:
    """OLID levels A-C per :func:`olid_key`: ``key, offensive, insult, hate``; keys whose rows disagree on a
    label get -1 for it. ``hate`` is unknown for tweets aimed at a group, and for tweets aimed at one person unless
    ``individual_hate`` (HatEval counts abuse of one woman as hate; OLID's level C does not)."""
    raw = pd.read_csv(
        root / "olid" / "olid-training-v1.0.tsv",
        sep="\t",
        quoting=csv.QUOTE_NONE,
        dtype=str,
        keep_default_na=False,
    )
    offensive = (raw["subtask_a"] == "OFF").astype(int)
    insult = (raw["subtask_b"] == "TIN").astype(int)  # NOT and UNT are both "no targeted offence"
    unknown = ["GRP"] if individual_hate else ["GRP", "IND"]
    hate = np.where(raw["subtask_c"].isin(unknown), MISSING, 0)
    frame = pd.DataFrame(
        {"key": [olid_key(t) for t in raw["tweet"]], "offensive": offensive, "insult": insult}
    )
    frame["hate"] = hate
    return _merge_labels(frame, "key", ["offensive", "insult", "hate"])


def _merge_labels(frame: pd.DataFrame, key: str, labels: list[str]) -> pd.DataFrame:
    """One row per ``key`` (first-seen order). Per label, the known values are kept when they agree and become
    unknown (-1) when they conflict or none is known: their min and max per key are equal exactly when there is
    one known value."""
    known = frame[labels].where(frame[labels] != MISSING)  # unknown -> NaN, which min and max skip
    grouped = known.assign(**{key: frame[key]}).groupby(key, sort=False)
    low, high = grouped.min(), grouped.max()
    return low.where(low == high).fillna(MISSING).astype(int).reset_index()


def read_offensive(root: Path, split: str, individual_hate: bool = True) -> pd.DataFrame:
    texts, y = _read_tweeteval(root / "tweeteval_offensive", split)
    frame = pd.DataFrame(
        {"text": texts, "toxic": y, "hate": MISSING, "insult": MISSING, "source": "tweeteval_offensive"}
    )
    if not (root / "olid").exists():  # a data version without OLID: toxic only
        return frame
    olid = read_olid(root, individual_hate).set_index("key")
    found = olid.reindex([olid_key(t) for t in texts])
    # Levels B and C only count where OLID's level A agrees with TweetEval's label (99.9% of tweets).
    agree = found["offensive"].to_numpy() == y
    for label in ("insult", "hate"):
        values = found[label].fillna(MISSING).to_numpy().astype(int)
        frame[label] = np.where(agree, values, MISSING)
    return frame


def read_hate(root: Path, split: str) -> pd.DataFrame:
    texts, y = _read_tweeteval(root / "tweeteval_hate", split)
    # Hate is offensive by OLID's definition, so a hateful tweet is also toxic; a non-hateful one may or may not be.
    # HatEval's hate is aimed at a group (immigrants, women), so it is also a targeted offence: insult.
    toxic = np.where(y == 1, 1, MISSING)
    return pd.DataFrame(
        {"text": texts, "toxic": toxic, "hate": y, "insult": toxic, "source": "tweeteval_hate"}
    )


def read_davidson(root: Path) -> pd.DataFrame:
    raw = pd.read_csv(root / "davidson2017" / "labeled_data.csv")
    cls = raw["class"].to_numpy()  # 0 hate speech, 1 offensive, 2 neither
    return pd.DataFrame(
        {
            "text": raw["tweet"].astype(str),
            "toxic": (cls != 2).astype(int),
            "hate": (cls == 0).astype(int),
            "insult": MISSING,  # Davidson does not say whether a tweet is aimed at someone
            "source": "davidson2017",
            "cls": cls,
        }
    )


def split_davidson(frame: pd.DataFrame, cfg: SplitConfig) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Deterministic stratified split: within each class, a seeded permutation; the first share goes to val."""
    rng = np.random.default_rng(cfg.seed)
    val_idx: list[int] = []
    for cls in sorted(frame["cls"].unique()):
        idx = np.flatnonzero(frame["cls"].to_numpy() == cls)
        idx = idx[rng.permutation(len(idx))]
        val_idx.extend(idx[: round(len(idx) * cfg.davidson_val_fraction)].tolist())
    is_val = np.zeros(len(frame), dtype=bool)
    is_val[val_idx] = True
    frame = frame.drop(columns="cls")
    return frame[~is_val].reset_index(drop=True), frame[is_val].reset_index(drop=True)


# --- cleaning ----------------------------------------------------------------------------------------------------


def clean_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """Normalise texts and drop the ones left empty."""
    frame = frame.assign(text=[clean_text(t) for t in frame["text"]])
    return frame[frame["text"] != ""].reset_index(drop=True)


def merge_duplicates(frame: pd.DataFrame) -> pd.DataFrame:
    """One row per text. Per label, agreeing known values are kept; conflicting ones become unknown (-1)."""
    labels = [label for label in LABELS if label in frame.columns]
    dup = frame["text"].duplicated(keep=False)
    if not dup.any():
        return frame.reset_index(drop=True)
    merged = _merge_labels(frame[dup], "text", labels)
    sources = frame[dup].groupby("text", sort=False)["source"].agg(lambda s: "+".join(sorted(set(s))))
    merged["source"] = sources.to_numpy()  # the same first-seen order of texts
    merged = merged[(merged[labels] != MISSING).any(axis=1)]
    return pd.concat([frame[~dup], merged], ignore_index=True)


def remove_leaks(train: pd.DataFrame, val: pd.DataFrame) -> pd.DataFrame:
    """Drop from train every text that appears in val."""
    return train[~train["text"].isin(set(val["text"]))].reset_index(drop=True)


def read_extra(path: Path | str) -> pd.DataFrame:
    """Extra labelled rows from a CSV with a ``text`` column and a column per label: 1, 0, or -1 / empty for
    unknown (``toxic corrections export`` writes one, with a ``source`` column that is kept). A label without a
    column is unknown. Cleaned and merged like every source."""
    path = Path(path)
    if not path.exists():
        raise DataError(f"extra data not found at {path}: pass a CSV written by `toxic corrections export`")
    raw = pd.read_csv(path, dtype={"text": str}, keep_default_na=False)
    if "text" not in raw.columns or not set(LABELS) & set(raw.columns):
        raise DataError(f"{path}: needs a text column and at least one of {', '.join(LABELS)}")
    frame = pd.DataFrame({"text": raw["text"].astype(str)})
    for label in LABELS:
        cells = raw[label].astype(str).str.strip() if label in raw.columns else pd.Series("", index=raw.index)
        values = pd.to_numeric(cells.where(cells != "", str(MISSING)), errors="coerce")
        if not values.isin([0, 1, MISSING]).all():
            raise DataError(f"{path}: column {label} must hold 1, 0, or -1 / nothing for unknown")
        frame[label] = values.astype(int)
    frame["source"] = raw["source"].astype(str) if "source" in raw.columns else "extra"
    frame = merge_duplicates(clean_frame(frame))
    return frame[(frame[list(LABELS)] != MISSING).any(axis=1)].reset_index(drop=True)


def mask_davidson_offensive(dav: pd.DataFrame, mode: str) -> pd.DataFrame:
    """Davidson's offensive-not-hate rows with ``hate`` unknown instead of 0: all of them (``unknown``), those
    using a slur at women (``unknown-at-women``), or none (``zero``)."""
    if mode == "zero":
        return dav
    offensive = (dav["toxic"] == 1) & (dav["hate"] == 0)
    if mode == "unknown-at-women":
        offensive &= dav["text"].map(clean_text).str.contains(SLURS_AT_WOMEN)  # not in @handles or links
    return dav.assign(hate=dav["hate"].mask(offensive, MISSING))


def build_splits(root: Path | None = None, cfg: SplitConfig | None = None) -> dict[str, pd.DataFrame]:
    """All labelled sources, cleaned, merged and leak-free, as ``{"train": frame, "validation": frame}``."""
    root = root or data_dir()
    cfg = cfg or SplitConfig()
    dav_train, dav_val = split_davidson(read_davidson(root), cfg)
    dav_train = mask_davidson_offensive(dav_train, cfg.davidson_offensive_hate)
    offensive = read_offensive(root, "train", cfg.olid_individual_hate)
    train = pd.concat([offensive, read_hate(root, "train"), dav_train], ignore_index=True)
    val = pd.concat([read_offensive(root, "val"), read_hate(root, "val"), dav_val], ignore_index=True)
    # Val keeps one row per source: each benchmark is scored on its own split, as published.
    val = pd.concat(
        [merge_duplicates(clean_frame(g)) for _, g in val.groupby("source", sort=False)], ignore_index=True
    )
    train = remove_leaks(merge_duplicates(clean_frame(train)), val)
    assert not set(train["text"]) & set(val["text"]), "a val text leaked into train"
    return {"train": train, "validation": val}


def load_splits(root: Path | None = None, cfg: SplitConfig | None = None) -> DatasetDict:
    """:func:`build_splits` as a ``datasets.DatasetDict`` (training environment)."""
    from datasets import Dataset, DatasetDict

    return DatasetDict(
        {k: Dataset.from_pandas(v, preserve_index=False) for k, v in build_splits(root, cfg).items()}
    )


def benchmark_val(label: str, root: Path | None = None) -> pd.DataFrame:
    """A label's val split (``BENCHMARKS``): TweetEval offensive for toxic and insult (insult from OLID level B),
    TweetEval hate for hate; rows without the label dropped."""
    root = root or data_dir()
    read = read_hate if BENCHMARKS[label] == "tweeteval_hate" else read_offensive
    frame = clean_frame(read(root, "val"))
    frame = frame[frame[label] != MISSING]
    return frame.rename(columns={label: "label"})[["text", "label"]].reset_index(drop=True)


# --- evaluation-only sources ------------------------------------------------------------------------------------


def load_bias_madlibs(root: Path | None = None) -> pd.DataFrame:
    """Bias madlibs: ``text, label (1 = BAD), template``. Evaluation only."""
    raw = pd.read_csv((root or data_dir()) / "bias_madlibs" / "bias_madlibs_77k.csv")
    return pd.DataFrame(
        {"text": raw["Text"], "label": (raw["Label"] == "BAD").astype(int), "template": raw["Template"]}
    )


def load_ruddit(path: Path | str = DEFAULT_RUDDIT) -> pd.DataFrame:
    """Ruddit comments with text: ``text, score`` (offensiveness in [-1, 1]); deleted/removed bodies dropped."""
    path = Path(path)
    if not path.exists():
        raise DataError(f"Ruddit not found at {path}: pass --ruddit PATH to ruddit_with_text.csv")
    raw = pd.read_csv(path)
    raw = raw[~raw["comment_body"].isin(["[deleted]", "[removed]"])]
    return pd.DataFrame(
        {"text": raw["comment_body"].astype(str), "score": raw["offensiveness_score"].astype(float)}
    ).reset_index(drop=True)


# --- the manifest: the version of the training data ---------------------------------------------------------------


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _rows(path: Path) -> int:
    with path.open("rb") as f:
        n = sum(1 for _ in f)
    return n - 1 if path.suffix in {".csv", ".tsv"} else n  # a header line


SOURCES = {  # folder -> (origin repo @ commit, license); details in data/README.md
    "tweeteval_offensive": (
        "cardiffnlp/tweeteval@4fbd22cd78421f05b1ecdb4fc5725bc7a7bd8f66",
        "TweetEval terms; cite OLID",
    ),
    "tweeteval_hate": (
        "cardiffnlp/tweeteval@4fbd22cd78421f05b1ecdb4fc5725bc7a7bd8f66",
        "TweetEval terms; cite HatEval",
    ),
    "olid": (
        "idontflow/OLID@66fa62b22d57965986884d6b1491da2aed452f07",
        "no license stated; research use only; cite OLID",
    ),
    "davidson2017": (
        "t-davidson/hate-speech-and-offensive-language@cb50f7e9eb855a99abc51423bf40df0e26d6fe30",
        "MIT",
    ),
    "functional": ("written for this project (data/functional/README.md)", "as the repository's code"),
    "bias_madlibs": (
        "conversationai/unintended-ml-bias-analysis@9c7d91aaa53406a362354661a93e07956d95e59a",
        "CC BY 4.0",
    ),
}


def build_manifest(root: Path | None = None) -> dict:
    root = root or data_dir()
    files = sorted(
        p
        for p in root.rglob("*")
        if p.is_file() and p.suffix in {".txt", ".csv", ".tsv", ".json"} and p.name != "manifest.json"
    )
    entries = {}
    for p in files:
        name = str(p.relative_to(root))
        origin, license_ = SOURCES.get(name.split("/")[0], ("unknown", "unknown"))
        entries[name] = {"sha256": _sha256(p), "rows": _rows(p), "origin": origin, "license": license_}
    return {"files": entries}


def manifest_hash(root: Path | None = None) -> str:
    """One hash for the whole data version: the sha256 of the manifest file."""
    return _sha256((root or data_dir()) / "manifest.json")


def verify_manifest(root: Path | None = None) -> list[str]:
    """Problems found comparing the files with ``manifest.json``; empty when everything matches."""
    root = root or data_dir()
    path = root / "manifest.json"
    if not path.exists():
        raise DataError(f"no manifest at {path}")
    expected = json.loads(path.read_text())["files"]
    problems = []
    for name, want in expected.items():
        file = root / name
        if not file.exists():
            problems.append(f"{name}: missing")
        elif (got := _sha256(file)) != want["sha256"]:
            problems.append(
                f"{name}: sha256 {got[:12]}… does not match the manifest's {want['sha256'][:12]}…"
            )
    return problems

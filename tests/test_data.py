"""Cleaning, merging and splitting invariants on the real data; the manifest catches a changed file."""

import json
import shutil

import numpy as np
import pandas as pd
import pytest

from toxic import data
from toxic.data import MISSING, SplitConfig, build_splits, merge_duplicates, split_davidson, verify_manifest
from toxic.errors import DataError
from toxic.text import clean_text


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("Tom &amp; Jerry &lt;3", "Tom & Jerry <3"),
        ("lol &#128514;", "lol 😂"),
        ("double &amp;amp; escaped", "double & escaped"),
        ("USA ðŸ‡ºðŸ‡¸ forever", "USA 🇺🇸 forever"),
        ("@realDonaldTrump you lie", "@user you lie"),
        ("(@a_b) you f@g, r3t@rd", "(@user) you f@g, r3t@rd"),  # an @ inside a word is not a mention
        ("RT @mayasolovely: As a woman", "As a woman"),
        ("read this https://t.co/abc123 now", "read this now"),
        ("see www.example.com/x?y=1", "see"),
        ("tabs\tand\nnewlines\r\n", "tabs and newlines"),
        ("bell\x07char", "bellchar"),  # ftfy drops control characters
        ("   ", ""),
        ("", ""),
    ],
)
def test_clean_text(raw, clean):
    assert clean_text(raw) == clean


def test_clean_text_is_idempotent():
    samples = ["RT @a: &amp; ðŸ˜‚ http://x.y z", "plain text", "@user @user hi"]
    for s in samples:
        assert clean_text(clean_text(s)) == clean_text(s)


def test_merge_duplicates_rule():
    frame = pd.DataFrame(
        {
            "text": ["a", "a", "b", "b", "c", "d", "d"],
            "toxic": [1, 1, 1, 0, 0, 1, MISSING],
            "hate": [MISSING, MISSING, 0, 0, 1, MISSING, 1],
            "source": ["s"] * 7,
        }
    )
    merged = merge_duplicates(frame).set_index("text")
    assert merged.loc["a", "toxic"] == 1  # agreeing duplicates: one row
    assert (
        merged.loc["b", "toxic"] == MISSING and merged.loc["b", "hate"] == 0
    )  # conflict: that label unknown
    assert merged.loc["d", "toxic"] == 1 and merged.loc["d", "hate"] == 1  # labels from two rows combine
    assert merged.index.is_unique


def test_merge_drops_rows_with_no_label_left():
    frame = pd.DataFrame(
        {"text": ["x", "x"], "toxic": [1, 0], "hate": [MISSING, MISSING], "source": ["s", "s"]}
    )
    assert len(merge_duplicates(frame)) == 0


@pytest.fixture(scope="module")
def splits():
    return build_splits()


@pytest.fixture(scope="module")
def offensive_train():
    """TweetEval offensive train merged with OLID levels B and C, as training reads it by default."""
    return data.read_offensive(data.data_dir(), "train")


def test_splits_have_no_leaks_duplicates_or_empties(splits):
    train, val = splits["train"], splits["validation"]
    assert not set(train["text"]) & set(val["text"])
    assert train["text"].is_unique
    assert (train["text"].str.strip() != "").all() and (val["text"].str.strip() != "").all()
    for frame in (train, val):
        known = (frame["toxic"] != MISSING) | (frame["hate"] != MISSING)
        assert known.all()


def test_splits_label_sources(splits):
    train = splits["train"]
    off = train[train["source"] == "tweeteval_offensive"]
    assert set(off["toxic"]) == {0, 1} and set(off["hate"]) == {0, MISSING}  # OLID says only "not hate"
    assert (off["insult"] != MISSING).mean() > 0.99  # OLID level B for (almost) every tweet
    assert (off.loc[off["insult"] == 1, "toxic"] == 1).all()  # a targeted offence is an offence
    assert (off.loc[off["toxic"] == 0, "hate"] == 0).mean() > 0.99  # not offensive: not hate (but conflicts)
    assert (dav_insult := train.loc[train["source"] == "davidson2017", "insult"]).eq(MISSING).all(), (
        dav_insult
    )
    hate = train[train["source"] == "tweeteval_hate"]
    assert (hate.loc[hate["hate"] == 1, "toxic"] == 1).all()  # hate implies toxic
    assert (hate.loc[hate["hate"] == 0, "toxic"] == MISSING).all()
    assert (hate["insult"] == hate["toxic"]).all()  # HatEval's hate is aimed at a group: an insult too
    dav = train[train["source"] == "davidson2017"]
    assert not ((dav["hate"] == 1) & (dav["toxic"] == 0)).any()
    assert not train["text"].str.contains("&amp;").any()
    assert not train["text"].str.contains(r"https?://").any()


@pytest.mark.parametrize("mode", ["unknown", "unknown-at-women"])
def test_davidson_offensive_tweets_can_leave_hate_unknown(splits, mode):
    masked = build_splits(cfg=SplitConfig(davidson_offensive_hate=mode))["train"]
    before, after = (f[f["source"] == "davidson2017"].set_index("text") for f in (splits["train"], masked))
    assert after.index.equals(before.index) and after["toxic"].equals(before["toxic"])
    offensive = (before["toxic"] == 1) & (before["hate"] == 0)
    assert offensive.sum() > 15_000  # most of Davidson: offensive, not hate
    unknown = offensive & (after["hate"] == MISSING)
    if mode == "unknown":
        assert unknown.equals(offensive)
    else:  # only the tweets with a slur at women: most of them
        assert 0.8 < unknown.sum() / offensive.sum() < 0.9
        words = before.index.str.lower().str.findall(r"[a-z]+").map(set)
        slur = words.map(
            lambda w: bool(w & {"bitch", "bitches", "hoe", "hoes", "whore", "slut", "cunt", "pussy"})
        )
        stem = before.index.str.contains("bitch|hoe|whore|slut|cunt|puss", case=False)
        assert (slur & offensive).le(unknown).all() and unknown.le(stem).all()
    kept = ~unknown & (before["hate"] != MISSING)  # a conflict with an offensive duplicate was unknown
    assert kept.sum() > 1_000 and after.loc[kept, "hate"].equals(before.loc[kept, "hate"])
    others = (f[f["source"] != "davidson2017"] for f in (splits["train"], masked))
    assert next(others).equals(next(others))


def test_an_unknown_davidson_mode_is_refused():
    with pytest.raises(
        DataError, match="davidson_offensive_hate must be one of zero, unknown, unknown-at-women"
    ):
        SplitConfig(davidson_offensive_hate="women")


def test_davidson_split_is_deterministic_and_stratified():
    raw = data.read_davidson(data.data_dir())
    t1, v1 = split_davidson(raw, SplitConfig(seed=3))
    t2, v2 = split_davidson(raw, SplitConfig(seed=3))
    _, v3 = split_davidson(raw, SplitConfig(seed=4))
    assert v1["text"].tolist() == v2["text"].tolist()
    assert v1["text"].tolist() != v3["text"].tolist()
    assert len(t1) + len(v1) == len(raw)
    share = v1["hate"].mean() / raw["hate"].mean()
    assert 0.97 < share < 1.03 and abs(len(v1) / len(raw) - 0.1) < 0.001


def test_split_config_validates():
    with pytest.raises(data.DataError):
        SplitConfig(davidson_val_fraction=1.5)


def test_manifest_verifies_and_catches_a_changed_file(tmp_path):
    assert verify_manifest() == []
    copy = tmp_path / "data"
    shutil.copytree(data.data_dir(), copy)
    assert verify_manifest(copy) == []
    with (copy / "tweeteval_hate" / "val_labels.txt").open("a") as f:
        f.write("1\n")
    problems = verify_manifest(copy)
    assert len(problems) == 1 and "tweeteval_hate/val_labels.txt" in problems[0]
    (copy / "davidson2017" / "labeled_data.csv").unlink()
    assert any("missing" in p for p in verify_manifest(copy))


def test_bias_madlibs_is_balanced():
    frame = data.load_bias_madlibs()
    assert len(frame) == 76564 and np.isclose(frame["label"].mean(), 0.5)


def test_olid_key_joins_olid_and_tweeteval_spellings():
    olid = "@USER @USER Go home you&amp;#8217;re drunk!!! @USER #MAGA URL"
    tweeteval = "@user @user Go home you’re drunk!!! @user #MAGA "
    assert data.olid_key(olid) == data.olid_key(tweeteval) == "useruserGohomeyouredrunkuserMAGA".lower()


def test_every_tweeteval_offensive_tweet_finds_its_olid_row(offensive_train):
    olid = data.read_olid(data.data_dir()).set_index("key")
    for frame in (offensive_train, data.read_offensive(data.data_dir(), "val")):
        found = olid.reindex([data.olid_key(t) for t in frame["text"]])
        assert found["offensive"].notna().all()  # all 13,240 tweets merge
        agree = (found["offensive"].to_numpy() == frame["toxic"].to_numpy()).mean()
        assert (
            agree > 0.995
        )  # level A agrees with TweetEval's label (or conflicting OLID duplicates); else B, C unknown
        assert (
            frame.loc[found["offensive"].to_numpy() != frame["toxic"].to_numpy(), "insult"] == MISSING
        ).all()


def test_olid_individual_targets_are_not_hate_or_unknown_by_choice(offensive_train):
    """Level C: a tweet aimed at a group leaves hate unknown (OLID's groups include parties and fans); one aimed at
    one person is hate 0 by default, or unknown (HatEval counts abuse of one woman as hate)."""
    root = data.data_dir()
    raw = pd.read_csv(
        root / "olid" / "olid-training-v1.0.tsv", sep="\t", quoting=3, dtype=str, keep_default_na=False
    )
    keys = np.array([data.olid_key(t) for t in raw["tweet"]])
    individual, group = set(keys[raw["subtask_c"] == "IND"]), set(keys[raw["subtask_c"] == "GRP"])
    zero = offensive_train
    unknown = data.read_offensive(root, "train", individual_hate=False)
    target = np.array([data.olid_key(t) for t in zero["text"]])
    only_group = np.isin(target, list(group - individual))
    assert only_group.sum() > 500 and (zero.loc[only_group, "hate"] == MISSING).all()
    changed = (zero["hate"] != unknown["hate"]).to_numpy()
    assert changed.sum() > 2000  # OLID has 2,407 tweets aimed at one person
    assert (zero.loc[changed, "hate"] == 0).all() and (unknown.loc[changed, "hate"] == MISSING).all()
    assert np.isin(target[changed], list(individual)).all()
    assert zero[["text", "toxic", "insult"]].equals(unknown[["text", "toxic", "insult"]])


def test_insult_val_is_held_out_human_labels(splits):
    val = data.benchmark_val("insult")
    assert len(val) > 1300 and 0.25 < val["label"].mean() < 0.40  # 415 targeted of 1,318
    assert not set(val["text"]) & set(splits["train"]["text"])
    assert data.BENCHMARKS.keys() == data.PERSPECTIVE.keys() == data.LABEL_SOURCES.keys() == set(data.LABELS)


def test_read_extra_takes_a_corrections_export(tmp_path):
    path = (
        tmp_path / "corrections.csv"
    )  # as `toxic corrections export` writes it: -1 = unknown, a source column
    path.write_text(
        "text,toxic,hate,insult,source\n"
        "you utter clown,1,0,1,corrections:ui\n"
        "lovely day &amp; sun,0,-1,-1,corrections:perspective\n"
        "you utter clown,1,0,1,corrections:ui\n"
        "nothing known,-1,-1,-1,corrections:ui\n"
    )
    extra = data.read_extra(path).set_index("text")
    assert extra.loc["you utter clown"].tolist() == [1, 0, 1, "corrections:ui"]  # duplicates merged
    assert extra.loc["lovely day & sun"].tolist() == [
        0,
        MISSING,
        MISSING,
        "corrections:perspective",
    ]  # cleaned
    assert "nothing known" not in extra.index  # a row with no known label teaches nothing
    only_toxic = tmp_path / "toxic_only.csv"
    only_toxic.write_text("text,toxic\nhi there,0\nblank cell,\n")
    frame = data.read_extra(only_toxic)
    assert frame["text"].tolist() == ["hi there"] and frame[["hate", "insult"]].eq(MISSING).all().all()
    assert (frame["source"] == "extra").all()
    bad = tmp_path / "bad.csv"
    bad.write_text("text,toxic\nhi,2\n")
    with pytest.raises(data.DataError, match="1, 0, or -1"):
        data.read_extra(bad)
    with pytest.raises(data.DataError, match="not found"):
        data.read_extra(tmp_path / "missing.csv")


def test_the_manifest_records_olid_as_research_only():
    manifest = json.loads((data.data_dir() / "manifest.json").read_text())["files"]
    entry = manifest["olid/olid-training-v1.0.tsv"]
    assert entry["rows"] == 13240 and "research" in entry["license"]

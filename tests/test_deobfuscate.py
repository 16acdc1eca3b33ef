"""toxic.deobfuscate with the packaged lexicon and the embedded model's vocabulary, and through the Classifier."""

import random
import subprocess
import sys

import numpy as np
import pytest

from tests.conftest import REPO
from toxic import Classifier
from toxic.deobfuscate import Deobfuscator, build_lexicon
from toxic.eval.perturb import perturb


@pytest.fixture(scope="module")
def deob(clf):
    return Deobfuscator.load(clf.tokenizer.get_vocab())


@pytest.mark.parametrize(
    ("obfuscated", "plain"),
    [
        ("you are an 1d10t", "you are an idiot"),
        ("sh!t", "shit"),
        ("what an @ss!", "what an ass!"),
        ("you are a f4gg0t", "you are a faggot"),
        ("stuuupid b1tch", "stupid bitch"),
        ("BITCHHHHHH", "bitch"),
        ("you i d i o t", "you idiot"),
        ("what an idi ot!", "what an idiot!"),
        ("sutpid moron", "stupid moron"),  # swapped letters
        ("so stpid", "so stupid"),  # a missing letter
        ("f*ck you", "fuck you"),  # asterisks: one letter each
        ("what a c*nt", "what a cunt"),
        ("you f**king sh*t", "you fucking shit"),
        ("you are an 𝐢𝐝𝐢𝐨𝐭", "you are an idiot"),  # styled letters (mathematical bold)
        ("ⓘⓓⓘⓞⓣ", "idiot"),  # circled
        ("you are an \u0456d\u0456\u043et", "you are an idiot"),  # Cyrillic і and о among Latin letters
        ("\u0455h\u0456t", "shit"),
        ("id\u200biot", "idiot"),  # a zero-width space inside the word
    ],
)
def test_obfuscations_are_undone(deob, obfuscated, plain):
    assert deob(obfuscated) == plain


@pytest.mark.parametrize(
    "text",
    [
        "I rapped at the party last night",  # a real double letter: never "raped"
        "We caved in and ordered pizza",  # a real word the lexicon lacks: typo repair does not touch it
        "1st place, 100k views, back in the 50s, see you at 10pm",
        "#BuildTheWalll and #V4 are hashtags, @user is a mention",
        "H-1B visa holders and the A1 road",
        "Have a lovely day, friend!!!",
        "R2D2 and C3PO",
        "*sigh* 5*3=15 and a*b, rated 4*",
        "Привет, как дела? καλημέρα, café naïve",  # other scripts on their own are not look-alikes
        "👨\u200d👩\u200d👧 family",  # a zero-width joiner between emoji stays
        "It cost $50, then $107 more",
        "the N word, me n my friends, u r late",  # a single letter does not join a known word
    ],
)
def test_ordinary_text_is_left_alone(deob, text):
    assert deob(text) == text


def test_pathological_texts_are_left_alone_quickly(deob):
    """Work stays linear: a 1 MB unbroken string, 100k single letters, 100k masked words."""
    for text in ("x1" * 500_000, "a b " * 50_000 + "you i d i o t", "f*ck " * 20_000):
        out = deob(text)
        assert len(out) <= len(text)
    spelled = deob("a b " * 50_000 + "you i d i o t")
    assert spelled.startswith("a b a b") and spelled.endswith("a b you idiot")  # the long run kept as it was
    assert deob("x1" * 500_000) == "x1" * 500_000


def test_it_undoes_the_suites_perturbations_of_offensive_words(deob):
    """Each word-level kind of toxic.eval.perturb, drawn on an insult with 20 seeds, mostly comes back whole (spaces
    least: a split that leaves a known piece and a letter, `an d`, stays split)."""
    text = "you are a stupid idiot and a disgusting bitch"
    back = {
        kind: np.mean([deob(perturb(text, kind, random.Random(seed))) == text for seed in range(20)])
        for kind in ("leet", "duplicate", "spaces", "swap", "drop")
    }
    assert min(back.values()) >= 0.4 and np.mean(list(back.values())) >= 0.75, back
    assert np.mean([perturb(text, "leet", random.Random(seed)) == text for seed in range(20)]) == 0


def test_the_classifier_scores_an_obfuscated_insult_like_the_plain_one(clf):
    assert clf.deobfuscator is not None  # on by default
    plain, leet, spaced = clf.predict_proba(["you are an idiot", "you are an 1d10t", "you are an i d i o t"])
    np.testing.assert_allclose(leet, plain, atol=1e-6)
    np.testing.assert_allclose(spaced, plain, atol=1e-6)
    raw = Classifier.load(deobfuscate=False)
    assert raw.deobfuscator is None
    # what it undoes matters: trained on obfuscated copies too, the model reads "1d10t" alone, but not this
    kill, leet = clf.predict_proba(["kill yourself", "k1ll y0urs3lf"])[:, 0]
    assert leet == pytest.approx(kill, abs=1e-6) and raw.predict_proba(["k1ll y0urs3lf"])[0, 0] < kill - 0.2


def test_the_app_service_says_what_the_model_read(clf):
    from toxic.serve.service import Service
    from toxic.settings import Settings

    service = Service(Settings.from_env(), classifier=clf)
    assert service.read_as("you are an 1d10t") == "you are an idiot"
    assert service.read_as("you are an idiot") is None  # nothing undone: nothing to show
    assert service.read_as("&amp; you i d i o t") == "& you idiot"
    long = service.read_as("1d10t " + "ok " * 150)
    assert long.startswith("idiot ok ok") and long.endswith("…") and len(long) == 301  # cut at 300


def test_the_environment_turns_it_off(monkeypatch):
    monkeypatch.setenv("TOXIC_DEOBFUSCATE", "0")
    assert Classifier.load().deobfuscator is None


def test_lexicon_targets_follow_the_rule():
    lexicon = build_lexicon(
        ["you idiot"] * 15 + ["an idiot idea"] * 3 + ["nice weather"] * 20 + ["idiot"],
        [1] * 15 + [0] * 3 + [0] * 20 + [-1],
    )
    assert lexicon["counts"]["idiot"] == 19  # every text counts words, labelled or not
    # 15 of 18 labelled texts offensive (0.83 >= 0.8); "you" has too few letters
    assert lexicon["targets"] == ["idiot"]
    assert "weather" not in lexicon["targets"]


def test_the_committed_lexicon_is_what_the_data_gives():
    result = subprocess.run(
        [sys.executable, "-m", "train.make_lexicon", "--check"],
        cwd=REPO,
        capture_output=True,
        text=True,
        env={"PYTHONPATH": str(REPO), "PATH": ""},
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr

"""The reference profile: what the model's input looked like in training, for drift to compare against.

    python -m train.make_profile models/default     # writes models/default/reference.parquet

One row per sampled training text: text descriptors (:data:`DESCRIPTORS`), the model's scores and decisions, and
the model's own pooled embedding (``emb_0`` ... ``emb_383``, float16: drift needs its shape, not its last bits).
``train/export.py`` writes it beside every exported model. The texts themselves are not stored.

Descriptors are computed on the text as the model reads it (:func:`toxic.text.clean_text`), so already-cleaned
training texts and raw logged texts are measured alike:

- ``length`` characters, ``words`` whitespace-separated words;
- ``non_letter_share``: non-space characters that are not letters, over non-space characters;
- ``oov_share``: words (as our tokenizer pre-splits them, punctuation included) that become ``[UNK]`` or more than
  two word pieces, over words: a word the vocabulary does not know well;
- ``mentions`` (``@user``), ``urls`` (what survives cleaning: bare domains such as ``example.com``), ``emoji``;
- ``upper_share``: upper-case letters (Latin, Greek, Cyrillic) over letters.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd

from toxic.errors import DriftError, ModelError
from toxic.text import clean_text

DESCRIPTORS = (
    "length",
    "words",
    "non_letter_share",
    "oov_share",
    "mentions",
    "urls",
    "emoji",
    "upper_share",
)
PROFILE_FILE = "reference.parquet"
EMBEDDING_PREFIX = "emb_"

_MENTION = re.compile(r"@\w+")
_URL = re.compile(
    r"(?:https?://|www\.)\S+|\b[a-z0-9-]+(?:\.[a-z0-9-]+)*\.(?:com|org|net|io|co|ly|me|gov|edu|uk|de|be|gl|tv)\b"
    r"(?:/\S*)?",
    re.IGNORECASE,
)
# Pictographs, emoticons, transport and map symbols, dingbats, misc symbols, flags (regional indicators).
_UPPER = re.compile("[A-Z\u00c0-\u00d6\u00d8-\u00de\u0391-\u03a9\u0410-\u042f]")  # Latin, Greek, Cyrillic
_EMOJI = re.compile("[\U0001f1e6-\U0001f1ff\U0001f300-\U0001faff\u2600-\u27bf\u2b50\u2b55]")


def describe(texts: list[str], tokenizer) -> pd.DataFrame:
    """The descriptors of each text, as a frame with columns :data:`DESCRIPTORS`.
    ``tokenizer`` is the model's ``tokenizers.Tokenizer`` (``Classifier.tokenizer``)."""
    cleaned = pd.Series([clean_text(t) if isinstance(t, str) else "" for t in texts], dtype=object)
    n = len(cleaned)
    chars = cleaned.str.len().to_numpy()
    spaces = cleaned.str.count(r"\s").to_numpy()
    letters = cleaned.str.count(r"[^\W\d_]").to_numpy()
    upper = cleaned.str.count(_UPPER.pattern).to_numpy()
    visible = chars - spaces
    frame = pd.DataFrame(
        {
            "length": chars,
            "words": cleaned.str.split().str.len().to_numpy(),
            "non_letter_share": np.divide(visible - letters, visible, out=np.zeros(n), where=visible > 0),
            "oov_share": _oov_share(cleaned.tolist(), tokenizer),
            "mentions": cleaned.str.count(_MENTION.pattern).to_numpy(),
            "urls": cleaned.map(lambda t: len(_URL.findall(t))).to_numpy(),
            "emoji": cleaned.str.count(_EMOJI.pattern).to_numpy(),
            "upper_share": np.divide(upper, letters, out=np.zeros(n), where=letters > 0),
        }
    )
    return frame.astype({c: "int64" for c in ("length", "words", "mentions", "urls", "emoji")})


def _oov_share(cleaned: list[str], tokenizer) -> np.ndarray:
    """Per text, the share of its words that become [UNK] or more than two word pieces (vectorised over all
    pieces: one global word number per (text, word))."""
    encodings = tokenizer.encode_batch(cleaned, add_special_tokens=False)
    n = len(cleaned)
    # No special tokens were added, so every piece belongs to a word.
    word_ids = [np.asarray(e.word_ids, dtype=np.int64) for e in encodings]
    words_per_text = np.array([w.max() + 1 if len(w) else 0 for w in word_ids], dtype=np.int64)
    if not words_per_text.sum():
        return np.zeros(n)
    offsets = np.concatenate([[0], np.cumsum(words_per_text)[:-1]])
    piece_word = np.concatenate([w + o for w, o in zip(word_ids, offsets, strict=True)])
    piece_ids = np.concatenate([np.asarray(e.ids, dtype=np.int64) for e in encodings])
    total = int(words_per_text.sum())
    pieces = np.bincount(piece_word, minlength=total)
    unknown = np.bincount(piece_word[piece_ids == tokenizer.token_to_id("[UNK]")], minlength=total)
    oov = (pieces > 2) | (unknown > 0)
    word_text = np.repeat(np.arange(n), words_per_text)
    counts = np.bincount(word_text, weights=oov, minlength=n)
    return np.divide(counts, words_per_text, out=np.zeros(n), where=words_per_text > 0)


def scores_and_embeddings(clf, texts: list[str]) -> tuple[pd.DataFrame, np.ndarray]:
    """The model's scores and decisions (columns ``toxic, hate, toxic_label, hate_label``) and pooled embeddings,
    in one pass over the model."""
    probs, embeddings = clf.run(list(texts), embeddings=True)
    if embeddings is None or embeddings.size == 0:
        raise ModelError(
            f"the model in {clf.info.path} has no 'embedding' output: re-export it with train/export.py"
        )
    decisions = clf.decide(probs)
    frame = pd.DataFrame({label: probs[:, j].astype(float) for j, label in enumerate(clf.labels)})
    for j, label in enumerate(clf.labels):
        frame[f"{label}_label"] = decisions[:, j].astype("int64")
    return frame, embeddings


def embedding_frame(embeddings: np.ndarray, index=None) -> pd.DataFrame:
    columns = [f"{EMBEDDING_PREFIX}{i}" for i in range(embeddings.shape[1])]
    return pd.DataFrame(embeddings.astype(np.float16), columns=columns, index=index)


def build_profile(clf, texts, n: int = 5000, seed: int = 0) -> pd.DataFrame:
    """A seeded sample of ``n`` texts profiled: descriptors, scores, decisions and embeddings."""
    texts = [t for t in texts if isinstance(t, str) and t.strip()]
    if not texts:
        raise DriftError("no texts to build a reference profile from")
    if len(texts) > n:
        keep = np.sort(np.random.default_rng(seed).choice(len(texts), size=n, replace=False))
        texts = [texts[i] for i in keep]
    scores, embeddings = scores_and_embeddings(clf, texts)
    return pd.concat([describe(texts, clf.tokenizer), scores, embedding_frame(embeddings)], axis=1)


def profile_path(model_dir: str | Path) -> Path:
    return Path(model_dir) / PROFILE_FILE


def save_profile(profile: pd.DataFrame, model_dir: str | Path) -> Path:
    path = profile_path(model_dir)
    profile.to_parquet(path, index=False, compression="zstd", use_dictionary=False)
    return path


def load_profile(model_dir: str | Path) -> pd.DataFrame:
    path = profile_path(model_dir)
    if not path.exists():
        raise DriftError(
            f"no reference profile at {path}: build it with `python -m train.make_profile {model_dir}`"
        )
    try:
        # pyarrow itself, not pd.read_parquet: `python app.py` imports pandas with pyarrow kept out
        # (toxic/serve/startup.py), and pandas then cannot read parquet, while pyarrow's own reader still can
        import pyarrow.parquet as pq

        return pq.read_table(path).to_pandas()
    except Exception as e:  # pyarrow raises its own types for truncated or foreign files
        raise DriftError(f"cannot read the reference profile {path}: {e}") from e


def write_profile(model_dir: str | Path, n: int = 5000, seed: int = 0) -> Path:
    """Profile a sample of the training texts (``toxic.data.build_splits()["train"]``) with the model in
    ``model_dir`` and save it there."""
    from toxic.classifier import Classifier
    from toxic.data import build_splits

    clf = Classifier.load(model_dir)
    texts = build_splits()["train"]["text"].tolist()
    return save_profile(build_profile(clf, texts, n=n, seed=seed), model_dir)

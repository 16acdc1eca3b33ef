"""Write toxic/lexicon.json.gz, the word list behind toxic.deobfuscate, from the training split.

    .venv/bin/python -m train.make_lexicon          # rewrites toxic/lexicon.json.gz
    .venv/bin/python -m train.make_lexicon --check  # exits 1 if the committed file differs

Only the train split of data/ (never val, bias madlibs or Ruddit): every lower-cased word with its count, and the
target words (4+ letters, in 15+ labelled texts, 80% or more of them offensive) that typo repair may map to.
Deterministic: the same data gives the same bytes (gzip without a timestamp).
"""

from __future__ import annotations

import argparse
import gzip
import io
import json
import sys

from toxic.data import build_splits
from toxic.deobfuscate import LEXICON, build_lexicon


def lexicon_bytes() -> bytes:
    train = build_splits()["train"]
    lexicon = {
        "about": "word counts and offensive-leaning words of the train split of data/ (train/make_lexicon.py)",
        **build_lexicon(train["text"].tolist(), train["toxic"].tolist()),
    }
    buf = io.BytesIO()
    with gzip.GzipFile(fileobj=buf, mode="wb", mtime=0, filename="") as f:
        f.write(json.dumps(lexicon, ensure_ascii=False, separators=(",", ":")).encode("utf-8"))
    return buf.getvalue()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="compare with the committed file, write nothing")
    args = parser.parse_args()
    data = lexicon_bytes()
    if args.check:
        same = LEXICON.exists() and LEXICON.read_bytes() == data
        print(f"{LEXICON}: {'up to date' if same else 'differs from the data: rerun without --check'}")
        sys.exit(0 if same else 1)
    LEXICON.write_bytes(data)
    lexicon = json.loads(gzip.decompress(data))
    print(
        f"wrote {LEXICON} ({len(data) / 1024:.0f} KB): {len(lexicon['counts']):,} words, "
        f"{len(lexicon['targets'])} targets"
    )


if __name__ == "__main__":
    main()

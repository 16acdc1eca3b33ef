"""Write the reference profile of a model directory (``reference.parquet``), for drift monitoring.

    python scripts/make_profile.py models/default [--n 5000] [--seed 0]

A seeded sample of the training texts (``toxic.data.build_splits()["train"]``) is profiled with the model in the
directory: text descriptors, scores, decisions and pooled embeddings (see ``toxic/monitor/profile.py``).
``train/export.py`` runs the same at the end of every export.
"""

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from toxic.errors import ToxicError  # noqa: E402
from toxic.monitor.profile import write_profile  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model_dir")
    parser.add_argument("--n", type=int, default=5000, help="training texts to sample (default 5000)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    started = time.perf_counter()
    try:
        path = write_profile(args.model_dir, n=args.n, seed=args.seed)
    except ToxicError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    size = path.stat().st_size / 1e6
    print(f"wrote {path} ({size:.1f} MB) in {time.perf_counter() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())

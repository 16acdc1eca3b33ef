"""Write the reference profile of a model directory (``reference.parquet``), for drift monitoring.

    python -m train.make_profile models/default [--n 5000] [--seed 0]

A seeded sample of the training texts (``toxic.data.build_splits()["train"]``) is profiled with the model in the
directory: text descriptors, scores, decisions and pooled embeddings (see ``toxic/monitor/profile.py``).
``train/export.py`` runs the same at the end of every export.
"""

import argparse
import sys
import time

from toxic.errors import ToxicError
from toxic.monitor.profile import write_profile


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

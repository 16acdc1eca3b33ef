"""How long a drift report takes: 10,000 logged predictions against the 5,000-row reference profile.

    python -m bench.bench_drift [--rows 10000] [--evidently-embeddings]

Setup (not timed): a SQLite log of ``--rows`` training texts outside the profile's sample, scored by the embedded
model. Timed: reading the window, its descriptors, embeddings of a sample of its texts, and the Evidently report
with its HTML. Target: <= 10 s. ``--evidently-embeddings`` also times Evidently's own ``EmbeddingsDrift`` on the
same principal components, to show why it is not used (it runs t-SNE for its plot).
"""

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

from toxic.classifier import Classifier
from toxic.data import build_splits
from toxic.monitor.drift import COMPONENTS, _components, compare, current_frame
from toxic.monitor.predlog import open_log
from toxic.monitor.profile import load_profile


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--evidently-embeddings", action="store_true")
    args = parser.parse_args()

    clf = Classifier.load()
    reference = load_profile(clf.info.path)
    texts = build_splits()["train"]["text"].sample(args.rows, random_state=123).tolist()
    started = time.perf_counter()
    log = open_log(Path(tempfile.mkdtemp(prefix="bench-drift-")) / "log.sqlite")
    for i in range(0, len(texts), 500):
        chunk = texts[i : i + 500]
        probs = clf.predict_proba(chunk)
        log.record_many(
            chunk, probs, clf.decide(probs), clf.info.model_id, clf.info.version, labels=clf.labels
        )
    print(f"setup: logged {len(texts):,} scored texts in {time.perf_counter() - started:.0f} s (not timed)")

    t0 = time.perf_counter()
    import evidently  # noqa: F401  (a one-off cost per process, paid when the app starts its Drift tab)

    t1 = time.perf_counter()
    window = log.read(last=args.rows)
    t2 = time.perf_counter()
    current, notes = current_frame(clf, window)
    t3 = time.perf_counter()
    result = compare(current, reference, notes)
    t4 = time.perf_counter()
    print(
        f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs; import evidently {t1 - t0:.1f} s (once)"
    )
    print(
        f"drift report, {len(window):,} logged vs {len(reference):,} reference rows: {t4 - t1:.1f} s "
        f"(read {t2 - t1:.2f} s, descriptors + embeddings {t3 - t2:.1f} s, Evidently report + HTML {t4 - t3:.1f} s)"
    )
    s = result.summary
    print(
        f"dataset drift {s['dataset_drift']}, drift share {s['drift_share']:.2f}, embedding AUC "
        f"{s['embedding']['score']:.3f}; HTML {len(result.html) / 1e6:.1f} MB; notes: {'; '.join(s['notes'])}"
    )

    if args.evidently_embeddings:
        from evidently import DataDefinition, Dataset, Report
        from evidently.metrics import EmbeddingsDrift

        cur, ref, _ = _components(current, reference, COMPONENTS)
        cur = cur.dropna()
        definition = DataDefinition(
            numerical_columns=list(cur.columns), embeddings={"pcs": list(cur.columns)}
        )
        t5 = time.perf_counter()
        Report([EmbeddingsDrift(embeddings_name="pcs")]).run(
            Dataset.from_pandas(cur, data_definition=definition),
            Dataset.from_pandas(ref, data_definition=definition),
        )
        print(
            f"Evidently EmbeddingsDrift on the same {COMPONENTS} components ({len(cur):,} vs {len(ref):,} rows): "
            f"{time.perf_counter() - t5:.1f} s"
        )
    log.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())

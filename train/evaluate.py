"""The evaluation suite, one command: any number of model directories side by side (see ``toxic/eval/suite.py``).

    python -m train.evaluate models/default runs/x/onnx --out reports/eval     # the full suite (the default)
    python -m train.evaluate models/default --quick                            # subsampled, for development
    python -m train.evaluate models/default --report bias                      # one report: reports/bias/
    python -m train.evaluate models/default runs/x/onnx --report val functional   # val + our functional suite
    python -m train.evaluate models/default --report ruddit --ruddit PATH      # Ruddit, read in place
    python -m train.evaluate runs/x/onnx --write-card                          # + report.json and README.md
    python -m train.evaluate models/default runs/old --readme                  # + the README's results table
    python -m train.evaluate --readme-from reports/eval/results.json           # that table again, no new run

Writes ``results.json`` (everything), ``results.md`` (the tables, the functional suite per functionality and label
among them; the summary is printed) and PNGs (``reliability.png``,
``bias.png``, ``ruddit.png``, ``robustness.png``) under ``--out``. With ``--write-card`` each model directory gets
its own ``report.json`` and a model card regenerated from it (``train.card.write_card``). With ``--readme`` the
side-by-side table replaces the block between ``<!-- suite-table: RESULTS -->`` and ``<!-- /suite-table -->`` in the
repository's README.md (a test checks that the README's table is exactly what its results.json gives).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

REPO = Path(__file__).resolve().parents[1]

from toxic.classifier import Classifier  # noqa: E402
from toxic.data import DEFAULT_RUDDIT, LABELS  # noqa: E402
from toxic.errors import ToxicError  # noqa: E402
from toxic.eval.perturb import KINDS  # noqa: E402
from toxic.eval.suite import SECTIONS, SuiteConfig, run_suite  # noqa: E402

# The targets for the default model, shown beside the figures.
TARGETS = {"macro_f1": {"toxic": ">= 0.80", "hate": ">= 0.78", "insult": ">= 0.75"}, "ece": "<= 0.04"}
TARGETS |= {"min_bpsn": ">= 0.90", "bias": ">= 0.98", "ruddit": ">= 0.86", "drop": "<= 2.0"}
TARGETS |= {"speed": ">= 0.9x the shipped model's", "functional": ">= 0.90", "functional_worst": ">= 0.75"}
TARGETS |= {"individual_hate": "<= 0.05"}
# The targets of the two-label model, for a results.json written before runs recorded their targets in its meta.
FIRST_TARGETS = {"macro_f1": {"toxic": ">= 0.80", "hate": ">= 0.80"}, "ece": "<= 0.03", "min_bpsn": ">= 0.90"}
FIRST_TARGETS |= {
    "bias": ">= 0.93",
    "ruddit": ">= 0.85",
    "drop": "<= 3.0",
    "speed": ">= 0.9x the previous model's",
}


# --- Markdown ------------------------------------------------------------------------------------------------------


def _cell(report: dict, path: tuple, fmt: str) -> str:
    value = report
    for key in path:
        if not isinstance(value, dict) or key not in value:
            return "–"
        value = value[key]
    if isinstance(value, list):
        return ", ".join(map(str, value[:3]))
    return fmt.format(value) if isinstance(value, int | float) else str(value)


def _summary_spec(targets: dict) -> list[tuple[str, str, tuple, str]]:
    """(metric, target, path in a model's results, format) for each row of the side-by-side table."""
    t = dict.fromkeys(TARGETS, "") | {"macro_f1": {}} | targets  # a target the run did not have: blank
    spec = []
    for label in LABELS:
        spec += [
            (f"`{label}` val macro-F1 @ own threshold", "", ("val", label, "macro_f1"), "{:.3f}"),
            ("  own threshold", "", ("val", label, "threshold"), "{:.2f}"),
            (f"`{label}` val macro-F1 @ tuned threshold", t["macro_f1"].get(label, ""), ("val", label, "tuned_macro_f1"), "{:.3f}"),
            ("  tuned threshold", "", ("val", label, "tuned_threshold"), "{:.2f}"),
            ("  scored by (a model without the label: its stand-in)", "", ("val", label, "scored_by"), ""),
            (f"`{label}` val ROC-AUC", "", ("val", label, "roc_auc"), "{:.3f}"),
            (f"`{label}` val PR-AUC", "", ("val", label, "pr_auc"), "{:.3f}"),
            (f"`{label}` ECE (15 bins)", t["ece"], ("calibration", label, "ece"), "{:.3f}"),
            (f"`{label}` Brier", "", ("calibration", label, "brier"), "{:.3f}"),
        ]  # fmt: skip
    return spec + [
        ("functional suite (eval half): accuracy", t["functional"], ("functional", "accuracy"), "{:.3f}"),
        ("functional suite: worst functionality", t["functional_worst"], ("functional", "worst", "accuracy"), "{:.3f}"),
        ("  worst functionality", "", ("functional", "worst", "functionality"), ""),
        ("insults at individuals over the `hate` threshold", t["individual_hate"], ("functional", "individual_abuse_over_hate_threshold"), "{:.3f}"),
        ("bias madlibs: final bias score", t["bias"], ("bias", "final_bias_score"), "{:.3f}"),
        ("bias madlibs: min BPSN AUC", t["min_bpsn"], ("bias", "min_bpsn_auc"), "{:.3f}"),
        ("  worst identities (BPSN)", "", ("bias", "worst_identities"), ""),
        ("bias madlibs: mean Subgroup AUC", "", ("bias", "mean_subgroup_auc"), "{:.3f}"),
        ("bias madlibs: overall AUC", "", ("bias", "overall_auc"), "{:.3f}"),
        ("Ruddit ROC-AUC", t["ruddit"], ("ruddit", "roc_auc"), "{:.3f}"),
        ("Ruddit Spearman", "", ("ruddit", "spearman"), "{:.3f}"),
        ("obfuscation: mean macro-F1 drop (points)", t["drop"], ("robustness", "mean_drop"), "{:.2f}"),
        ("obfuscation: worst drop (points)", "", ("robustness", "worst_drop", "drop"), "{:.2f}"),
        ("  worst perturbation", "", ("robustness", "worst_drop", "where"), ""),
        ("speed: texts/s through toxic.Classifier", t["speed"], ("speed", "texts_per_s"), "{:.0f}"),
    ]  # fmt: skip


def summary_rows(results: dict, targets: dict | None = None) -> list[tuple[str, str, list[str]]]:
    """(metric, target, one cell per model) for the side-by-side table; rows no model has are left out."""
    rows = []
    for metric, target, path, fmt in _summary_spec(targets or TARGETS):
        cells = [_cell(r, path, fmt) for r in results.values()]
        if any(c != "–" for c in cells):
            rows.append((metric, target, cells))
    return rows


def _table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return "\n".join(lines + ["| " + " | ".join(row) + " |" for row in rows])


def markdown(results: dict, meta: dict) -> str:
    names = list(results)
    out = [
        "# Evaluation suite",
        "",
        f"`{meta['command']}` on {meta['date']}"
        + (" — **--quick: subsampled, for development only**" if meta["quick"] else "")
        + ". Val figures are on the benchmarks' val splits (TweetEval offensive for `toxic`, TweetEval hate for "
        "`hate`), where thresholds were tuned: they are optimistic. Bias madlibs and Ruddit were never trained or "
        "tuned on.",
        "",
        _table(
            ["metric", "target", *[f"`{n}`" for n in names]],
            [[m, t, *c] for m, t, c in summary_rows(results)],
        ),
    ]
    notes = [
        f"- `{n}` Ruddit: {r['ruddit']['skipped']}"
        for n, r in results.items()
        if "skipped" in r.get("ruddit", {})
    ]
    if notes:
        out += ["", *notes]
    for name, report in results.items():
        if "identities" in report.get("bias", {}):
            rows = [
                [i["identity"], str(i["n"]), f"{i['subgroup_auc']:.3f}", f"{i['bpsn_auc']:.3f}", f"{i['bnsp_auc']:.3f}",
                 f"{i['mean_score_non_toxic']:.3f}"]
                for i in report["bias"]["identities"]
            ]  # fmt: skip
            out += [
                "",
                f"## Bias madlibs per identity: `{name}` (worst BPSN first; {report['bias']['n']:,} sentences)",
                "",
                _table(["identity", "n", "Subgroup AUC", "BPSN AUC", "BNSP AUC", "mean p (non-toxic)"], rows),
            ]
    if any("robustness" in r for r in results.values()):
        header = ["perturbation", *[f"`{n}` {label}" for n in names for label in LABELS]]
        rows = [
            [kind, *[_cell(r, ("robustness", "kinds", kind, label, "drop"), "{:+.2f}") for r in results.values() for label in LABELS]]
            for kind in KINDS
        ]  # fmt: skip
        clean = ["clean macro-F1", *[_cell(r, ("robustness", "clean_macro_f1", label), "{:.3f}") for r in results.values() for label in LABELS]]  # fmt: skip
        out += [
            "",
            "## Robustness: macro-F1 drop in points against clean val (own thresholds)",
            "",
            _table(header, [clean, *rows]),
        ]
    out += functional_tables(results)
    pngs = sorted(p for p in meta.get("plots", []))
    if pngs:
        out += ["", "## Plots", "", *[f"![{p}]({p})" for p in pngs]]
    return "\n".join(out) + "\n"


def functional_tables(results: dict) -> list[str]:
    """Accuracy per functionality and label, every model side by side (a label a model lacks: –)."""
    have = {n: r["functional"] for n, r in results.items() if "functionalities" in r.get("functional", {})}
    if not have:
        return []
    labels = [*LABELS, "all"]
    first = next(iter(have.values()))
    header = ["functionality", "cases", *[f"`{n}` {label}" for n in have for label in labels]]
    rows = []
    for f in first["functionalities"]:
        n = max(v["n"] for v in first["functionalities"][f].values() if isinstance(v, dict))
        cells = [
            _cell(r, ("functionalities", f, label, "accuracy"), "{:.2f}")
            for r in have.values()
            for label in labels
        ]
        rows.append([f, str(n), *cells])
    overall = [_cell(r, ("accuracy_by_label", label), "{:.2f}") if label != "all" else _cell(r, ("accuracy",), "{:.2f}")
               for r in have.values() for label in labels]  # fmt: skip
    return [
        "",
        f"## Functional suite, evaluation half: accuracy per functionality and label ({first['n_cases']} sentences)",
        "",
        "Templates, fillers and expected labels: `data/functional/eval.json` (never trained on). A label a case does "
        "not assert (whether harmless profanity is `toxic`) is not counted.",
        "",
        _table(header, [*rows, ["**all**", str(first["n_cases"]), *overall]]),
    ]


# --- plots ---------------------------------------------------------------------------------------------------------


def plot_reliability(results: dict, out: Path) -> str | None:
    if not any("calibration" in r for r in results.values()):
        return None
    fig, axes = plt.subplots(1, len(LABELS), figsize=(5 * len(LABELS), 4.6))
    for ax, label in zip(axes, LABELS, strict=True):
        ax.plot([0, 1], [0, 1], "k:", lw=0.8, label="perfect")
        for name, r in results.items():
            c = r.get("calibration", {}).get(label)
            if c:
                bins = c["bins"]
                ax.plot([b["mean_p"] for b in bins], [b["positive"] for b in bins], "o-", ms=3,
                        label=f"{name} (ECE {c['ece']:.3f})")  # fmt: skip
        ax.set(title=f"{label}: reliability on val", xlabel="predicted probability", ylabel="share positive",
               xlim=(0, 1), ylim=(0, 1))  # fmt: skip
        ax.legend(fontsize=7)
    return _save(fig, out / "reliability.png")


def plot_bias(results: dict, out: Path) -> str | None:
    have = {n: r["bias"]["identities"] for n, r in results.items() if "identities" in r.get("bias", {})}
    if not have:
        return None
    first = next(iter(have.values()))
    order = [i["identity"] for i in sorted(first, key=lambda i: i["bpsn_auc"], reverse=True)]
    fig, axes = plt.subplots(1, 3, figsize=(13, max(5, 0.2 * len(order))), sharey=True)
    for ax, metric in zip(axes, ("subgroup_auc", "bpsn_auc", "bnsp_auc"), strict=True):
        for name, rows in have.items():
            by = {i["identity"]: i[metric] for i in rows}
            ax.plot([by.get(i, float("nan")) for i in order], range(len(order)), "o", ms=3, label=name)
        ax.axvline(0.9, color="grey", ls=":", lw=0.8)
        ax.set(title=metric.replace("_", " ").replace("auc", "AUC"), xlim=(0, 1.01))
    axes[0].set_yticks(range(len(order)), order, fontsize=6)
    axes[0].legend(fontsize=7, loc="lower left")
    fig.suptitle("Bias madlibs per identity (dotted: 0.90)")
    return _save(fig, out / "bias.png")


def plot_ruddit(results: dict, out: Path) -> str | None:
    have = {n: r["ruddit"] for n, r in results.items() if "bands" in r.get("ruddit", {})}
    if not have:
        return None
    fig, ax = plt.subplots(figsize=(6, 4.2))
    for name, r in have.items():
        ax.plot([b["score"] for b in r["bands"]], [b["mean_p"] for b in r["bands"]], "o-",
                label=f"{name} (ROC-AUC {r['roc_auc']:.3f}, ρ {r['spearman']:.3f})")  # fmt: skip
    ax.axvline(0, color="grey", ls=":", lw=0.8)
    ax.set(title="Ruddit: mean toxic probability per offensiveness band", xlabel="offensiveness_score",
           ylabel="mean P(toxic)", ylim=(0, 1))  # fmt: skip
    ax.legend(fontsize=7)
    return _save(fig, out / "ruddit.png")


def plot_robustness(results: dict, out: Path) -> str | None:
    have = {n: r["robustness"] for n, r in results.items() if "robustness" in r}
    if not have:
        return None
    fig, axes = plt.subplots(1, len(LABELS), figsize=(6 * len(LABELS), 4), sharey=True)
    width = 0.8 / len(have)
    for ax, label in zip(axes, LABELS, strict=True):
        for k, (name, r) in enumerate(have.items()):
            drops = [r["kinds"][kind].get(label, {}).get("drop", float("nan")) for kind in KINDS]
            ax.bar([i + k * width for i in range(len(KINDS))], drops, width, label=name)
        ax.axhline(3, color="grey", ls=":", lw=0.8)
        ax.set_xticks([i + 0.4 - width / 2 for i in range(len(KINDS))], KINDS, rotation=40, ha="right")
        ax.set(title=f"{label}: macro-F1 drop vs clean val (points)")
        ax.legend(fontsize=7)
    return _save(fig, out / "robustness.png")


def _save(fig, path: Path) -> str:
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path.name


# --- the command ---------------------------------------------------------------------------------------------------


def _names(models: list[str]) -> list[str]:
    names = []
    for m in models:
        name = m.rstrip("/")
        names.append(name if name not in names else f"{name}#{len(names) + 1}")
    return names


def write_cards(results: dict, dirs: dict[str, Path], meta: dict) -> None:
    from train.card import write_card

    for name, report in results.items():
        path = dirs[name] / "report.json"
        path.write_text(json.dumps({"quick": meta["quick"], "date": meta["date"], **report}, indent=2))
        print(f"wrote {path} and {write_card(dirs[name])}", file=sys.stderr)


README_BLOCK = re.compile(r"<!-- suite-table: \S+ -->\n.*?<!-- /suite-table -->", re.S)


def readme_block(results_file: Path) -> str:
    """The README's results table: the metrics that have a target, side by side, from one suite run, naming its
    command and output (where every other metric is)."""
    data = json.loads(results_file.read_text())
    meta, results = data["meta"], data["models"]
    targets = meta.get("targets", FIRST_TARGETS)
    where = (
        results_file.resolve().relative_to(REPO)
        if results_file.resolve().is_relative_to(REPO)
        else results_file
    )
    return "\n".join(
        [
            f"<!-- suite-table: {where} -->",
            f"From `{meta['command']}` ({meta['date']}"
            + (", **--quick: subsampled**" if meta["quick"] else "")
            + f"); every metric and plot: `{where.parent}/results.md`.",
            "",
            _table(
                ["metric", "target", *[f"`{n}`" for n in results]],
                [[m, t, *c] for m, t, c in summary_rows(results, targets) if t],
            ),
            "<!-- /suite-table -->",
        ]
    )


def write_readme(results_file: Path, readme: Path) -> None:
    text = readme.read_text()
    if not README_BLOCK.search(text):
        raise ToxicError(f"{readme} has no <!-- suite-table: ... --> ... <!-- /suite-table --> block to fill")
    block = readme_block(results_file)
    readme.write_text(README_BLOCK.sub(lambda _: block, text, count=1))
    print(f"wrote the results table from {results_file} into {readme}", file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n")[0], formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("models", nargs="*", help="model directories (or Hub ids) to compare")
    parser.add_argument(
        "--out", default=None, help="output folder (default reports/eval, or reports/<report>)"
    )
    parser.add_argument(
        "--report", nargs="+", choices=SECTIONS, default=list(SECTIONS), help="only these reports"
    )
    parser.add_argument("--ruddit", default=None, help=f"ruddit_with_text.csv (default {DEFAULT_RUDDIT})")
    parser.add_argument("--quick", action="store_true", help="subsample every set (development)")
    parser.add_argument(
        "--write-card", action="store_true", help="write report.json + README.md in each model dir"
    )
    parser.add_argument("--threads", type=int, default=None, help="onnxruntime threads per model")
    parser.add_argument("--seed", type=int, default=0, help="subsamples and perturbations")
    parser.add_argument(
        "--deobfuscate",
        choices=("on", "off", "both"),
        default="on",
        help="undo look-alike spellings before scoring (toxic.deobfuscate; on, as served); both: each model\n"
        "twice, the second named '<model> raw'",
    )
    parser.add_argument(
        "--readme",
        nargs="?",
        const=str(REPO / "README.md"),
        default=None,
        help="fill the README's results table from this run (default README.md)",
    )
    parser.add_argument(
        "--readme-from", default=None, help="only fill the README's results table from this results.json"
    )
    args = parser.parse_args(argv)
    if args.readme_from:
        try:
            write_readme(Path(args.readme_from), Path(args.readme or REPO / "README.md"))
        except (ToxicError, OSError, KeyError, ValueError) as e:
            print(f"error: {e}", file=sys.stderr)
            return 2
        return 0
    if not args.models:
        parser.error("give at least one model directory (or --readme-from RESULTS_JSON)")
    sections = tuple(s for s in SECTIONS if s in args.report)
    out = Path(args.out or ("reports/eval" if sections == SECTIONS else "reports/" + "-".join(sections)))
    try:
        cfg = SuiteConfig(
            sections=sections,
            quick=args.quick,
            ruddit=Path(args.ruddit) if args.ruddit else DEFAULT_RUDDIT,
            ruddit_required=args.ruddit is not None,
            seed=args.seed,
            speed_rounds=1 if args.quick else 3,
        )
        names = _names(args.models)
        modes = {"on": (True,), "off": (False,), "both": (True, False)}[args.deobfuscate]
        classifiers = {
            (f"{n} raw" if args.deobfuscate == "both" and not on else n): Classifier.load(
                m, threads=args.threads, deobfuscate=on
            )
            for on in modes
            for n, m in zip(names, args.models, strict=True)
        }
        started = time.perf_counter()
        results = run_suite(classifiers, cfg, log=lambda m: print(m, file=sys.stderr, flush=True))
    except ToxicError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    out.mkdir(parents=True, exist_ok=True)
    meta = {
        "command": "python -m train.evaluate " + " ".join(argv if argv is not None else sys.argv[1:]),
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "quick": args.quick,
        "sections": list(sections),
        "seconds": round(time.perf_counter() - started, 1),
        "models": {n: str(c.info.path) for n, c in classifiers.items()},
        "targets": TARGETS,
    }
    plotters = (plot_reliability, plot_bias, plot_ruddit, plot_robustness)
    meta["plots"] = [p for p in (f(results, out) for f in plotters) if p]
    (out / "results.json").write_text(json.dumps({"meta": meta, "models": results}, indent=2))
    text = markdown(results, meta)
    (out / "results.md").write_text(text)
    print(
        text.split("\n## ")[0]
    )  # the side-by-side summary; per-identity and per-kind tables are in the file
    print(f"wrote {out}/results.json, results.md, {', '.join(meta['plots'])}", file=sys.stderr)
    if args.write_card:
        write_cards(results, {n: c.info.path for n, c in classifiers.items()}, meta)
    if args.readme:
        try:
            write_readme(out / "results.json", Path(args.readme))
        except ToxicError as e:
            print(f"error: {e}", file=sys.stderr)
            return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""The model card (README.md with Hugging Face model-index metadata) written beside an exported model.

Figures come from files in the model directory: metrics.json (val, from training), parity.json (int8 vs PyTorch)
and, when ``python -m train.evaluate --write-card`` has run, report.json (Ruddit, bias madlibs, calibration,
robustness, the functional suite). The labels are the model's own (toxic.json), each with its data source. Plain
string templating: the metadata block is YAML that ``huggingface_hub.ModelCard`` parses (a test checks it).
"""

from __future__ import annotations

import json
from pathlib import Path

from toxic.data import BENCHMARKS

# Hugging Face dataset id, config and name of each benchmark val split (toxic.data.BENCHMARKS names the split).
SPLITS = {
    "tweeteval_offensive": ("tweet_eval", "offensive", "TweetEval offensive (val)"),
    "tweeteval_hate": ("tweet_eval", "hate", "TweetEval hate (val)"),
}
LABEL_NOTE = {"insult": " with OLID level B"}  # insult's labels on that split come from OLID
DATASETS = {
    label: (*SPLITS[split][:2], SPLITS[split][2] + LABEL_NOTE.get(label, ""))
    for label, split in BENCHMARKS.items()
}


def _model_index(name: str, metrics: dict, labels: list[str]) -> str:
    lines = ["model-index:", f"- name: {name}", "  results:"]
    for label in labels:
        dataset, config, pretty = DATASETS[label]
        m = metrics["val"][label]
        lines += [
            "  - task: {type: text-classification, name: Text Classification}",
            f"    dataset: {{type: {dataset}, name: {pretty}, config: {config}, split: validation}}",
            "    metrics:",
            f"    - {{type: f1, value: {m['macro_f1']:.4f}, name: macro-F1 ({label})}}",
            f"    - {{type: roc_auc, value: {m['roc_auc']:.4f}, name: ROC-AUC ({label})}}",
        ]
    return "\n".join(lines)


def functional_table(functional: dict, labels: list[str]) -> str:
    """Accuracy per functionality and label on the functional suite's evaluation half ("" when not run)."""
    table = functional.get("functionalities")
    if not table:
        return ""
    rows = "\n".join(
        f"| {name} | "
        + " | ".join(f"{by[label]['accuracy']:.2f}" if label in by else "–" for label in labels)
        + f" | {by['all']['accuracy']:.2f} |"
        for name, by in table.items()
    )
    return f"""
### Functional suite (our own templates, evaluation half: never trained on)

| functionality | {" | ".join(f"`{label}`" for label in labels)} | all |
|---|{"---|" * (len(labels) + 1)}
{rows}
"""


def write_card(model_dir: Path, run_dir: Path | None = None) -> Path:
    model_dir = Path(model_dir)
    metrics = json.loads((model_dir / "metrics.json").read_text())
    meta = json.loads((model_dir / "toxic.json").read_text())
    parity = (
        json.loads((model_dir / "parity.json").read_text()) if (model_dir / "parity.json").exists() else None
    )
    report = (
        json.loads((model_dir / "report.json").read_text()) if (model_dir / "report.json").exists() else None
    )
    name = meta.get("model_id", "toxic-minilm-l6-int8")
    labels = [label for label in meta["labels"] if label in DATASETS]

    # The int8 model's own figures when the suite has run (report.json), else the PyTorch checkpoint's from training.
    int8_val = report is not None and all(label in report.get("val", {}) for label in labels)
    val = report["val"] if int8_val else metrics["val"]
    which = (
        "the int8 model, at its shipped thresholds (`python -m train.evaluate`)"
        if int8_val
        else "the PyTorch checkpoint before int8 export"
    )
    val_rows = "\n".join(
        f"| `{label}` | {DATASETS[label][2]} | {m['macro_f1']:.3f} | {m['roc_auc']:.3f} | {m['pr_auc']:.3f} | "
        f"{m['accuracy']:.3f} | {m['threshold']:.2f} |"
        for label in labels
        for m in [val[label]]
    )
    attributes = meta.get("attributes", {})
    by_label = {label: attr for attr, label in attributes.items()}
    sources = meta.get("label_sources", {})  # written by train/export.py from toxic.data.LABEL_SOURCES
    source_rows = "\n".join(
        f"| `{label}` | {by_label.get(label, '–')} | {sources.get(label, 'not recorded with this model')} | "
        f"{DATASETS[label][2]}: macro-F1 {val[label]['macro_f1']:.3f} |"
        for label in labels
    )
    parity_text = (
        "Decisions of the int8 model agree with the PyTorch model on "
        + ", ".join(f"{parity[label]['decision_agreement']:.2%} ({label})" for label in labels)
        + f" of {parity['n']} val texts; the largest probability difference is "
        + f"{max(parity[label]['max_abs_diff'] for label in labels):.3f}."
        if parity
        else ""
    )
    report_text = ""
    if report:  # written by train/evaluate.py --write-card; a section it skipped has no rows
        r, b = report.get("ruddit", {}), report.get("bias", {})
        c, o = report.get("calibration", {}), report.get("robustness", {})
        rows = []
        if "roc_auc" in r:
            rows += [
                f"| Ruddit (Reddit, never trained on): ROC-AUC, `offensiveness_score > 0` positive | {r['roc_auc']:.3f} |",
                f"| Ruddit: Spearman correlation of `toxic` with `offensiveness_score` | {r['spearman']:.3f} |",
            ]
        if "final_bias_score" in b:
            rows += [
                f"| Bias madlibs: mean Subgroup AUC | {b['mean_subgroup_auc']:.3f} |",
                f"| Bias madlibs: minimum BPSN AUC (worst: {b['worst_bpsn_identity']}) | {b['min_bpsn_auc']:.3f} |",
                f"| Bias madlibs: final bias score (Borkan et al. 2019) | {b['final_bias_score']:.3f} |",
            ]
        for label in (x for x in labels if x in c):
            rows.append(
                f"| Calibration on {DATASETS[label][2]}: ECE (15 bins) / Brier of `{label}`"
                f"{' (calibrated on val)' if c[label].get('calibrated') else ''} | "
                f"{c[label]['ece']:.3f} / {c[label]['brier']:.3f} |"
            )
        if "mean_drop" in o:
            w = o["worst_drop"]
            rows.append(
                f"| Obfuscation ({len(o['kinds'])} perturbations of val texts): mean / worst macro-F1 drop, points "
                f"(worst: {w['kind']}, {w['label']}) | {o['mean_drop']:.1f} / {w['drop']:.1f} |"
            )
        f = report.get("functional", {})
        if "accuracy" in f:
            rows.append(
                f"| Functional suite, evaluation half: accuracy over {f['n_cases']} sentences (worst: "
                f"{f['worst']['functionality']}, {f['worst']['accuracy']:.2f}) | {f['accuracy']:.3f} |"
            )
        if "individual_abuse_over_hate_threshold" in f:
            rows.append(
                "| Functional suite: insults at one person (no identity named) over the `hate` threshold | "
                f"{f['individual_abuse_over_hate_threshold']:.1%} |"
            )
        quick = " Figures from a subsample (`--quick`), for development only." if report.get("quick") else ""
        table = "\n".join(rows)
        report_text = f"""
## Beyond the training data

Measured on the int8 model by `python -m train.evaluate`.{quick}

| check | figure |
|---|---|
{table}
{functional_table(f, labels)}"""

    batch_note = (
        "\n- Activations are quantized per batch: a text scored alone and in a batch can differ by ~0.01 on average"
        " and up to ~0.1 (on val, 2% of `toxic` decisions); treat scores near a threshold as undecided."
        if meta["quantization"].startswith("int8 dynamic")
        else ""
    )
    card = f"""---
language: en
license: apache-2.0
library_name: onnxruntime
pipeline_tag: text-classification
tags: [toxicity, hate-speech, onnx, int8, twitter]
datasets: [tweet_eval]
base_model: sentence-transformers/all-MiniLM-L6-v2
metrics: [f1, roc_auc]
{_model_index(name, {"val": val}, labels)}
---

# {name}

A toxic-comment classifier with {len(labels)} labels ({", ".join(f"`{label}`" for label in labels)}) as independent
probabilities: `toxic` (offensive per OLID: profanity, insults, threats, hate), `hate` (attacks on a protected
group){", `insult` (a targeted insult or threat at a person or a group, OLID level B)" if "insult" in labels else ""}. A 6-layer MiniLM ({meta["backbone"]}) fine-tuned on
TweetEval offensive, TweetEval hate and Davidson et al. 2017, exported to ONNX and quantized to int8
({meta["quantization"]}; graph: {meta.get("graph", "as exported")}). It runs with onnxruntime and `tokenizers` alone: `pip install toxic`, then
`toxic.Classifier.load(PATH_OR_REPO).predict("some text")`.

## Intended use

Triage of English social-media comments for human moderators: rank, filter, flag for review. Not for automated
sanctions without a person in the loop.

## Validation metrics

Decision thresholds were tuned on each benchmark's validation split (macro-F1); figures are on those splits, for
{which}.

| label | split | macro-F1 | ROC-AUC | PR-AUC | accuracy | threshold |
|---|---|---|---|---|---|---|
{val_rows}

{parity_text}
{report_text}
## Training data

TweetEval offensive (OLID) and TweetEval hate (HatEval), train splits; Davidson et al. 2017 (MIT), a seeded 90/10
split. Data version (sha256 of the manifest): `{meta["data_manifest_sha256"][:16]}`.

| label | Perspective attribute | training labels from | val metric |
|---|---|---|---|
{source_rows}

## Limitations and ethical considerations

- Trained on English tweets from 2017-2019: other platforms, languages, dialects and newer slang score worse.
- `hate` follows HatEval: hate against immigrants and women. Hate against other groups is learnt mostly from
  Davidson, whose labels carry known racial-dialect bias (Davidson et al., 2019): African-American English is
  more often marked offensive.
- Naming an identity group can still raise scores on harmless sentences (most for LGBTQ terms); see the bias-madlibs figures.
- Obfuscated spelling (leetspeak, spaced letters) lowers scores.
- Reclaimed slurs, quotes, counter-speech and sarcasm are often misread.{batch_note}
"""
    path = model_dir / "README.md"
    path.write_text(card)
    return path

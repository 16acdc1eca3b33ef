"""``toxic``: the command line. Every expected failure becomes one line on stderr and exit code 2.

toxic predict "some text" ["more text" ...]      # JSON lines
toxic score comments.csv -o scored.csv [--column text] [--model DIR_OR_REPO]
toxic eval [--model DIR_OR_REPO]                 # val metrics of a model directory
toxic data verify                                # the data files against data/manifest.json
toxic drift --log URI [--last N | --since ISO] --out report.html [--check --threshold X --webhook URL]
toxic push MODEL_DIR ORG/NAME [--dry-run] [--revision BRANCH]   # publish a model folder to the HF Hub
toxic serve                                      # the app (as python app.py); needs toxic[app,monitor]
toxic corrections export -o corrections.csv [--dir FLAG_DIR]     # flagged corrections as labelled training data
toxic log export --log URI -o audit.csv|audit.parquet [--since ISO] [--until ISO] [--source S ...]
toxic beam --input GLOB --output PREFIX [--column C] [Beam options]  # files of any size, locally or on Dataflow

Files are read only from the paths given here; a destination that cannot be written is reported before any work.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

from toxic.errors import ToxicError
from toxic.text import safe_text


def _load(args):
    from toxic.classifier import Classifier

    return Classifier.load(
        args.model,
        revision=getattr(args, "revision", None),
        threads=args.threads,
        deobfuscate=False if args.raw else None,
    )


def cmd_predict(args) -> int:
    # bytes that are not UTF-8 (in an argument, or on stdin) arrive as lone surrogates: U+FFFD in the output
    texts = [safe_text(t) for t in args.texts or [line.rstrip("\n") for line in sys.stdin]]
    clf = _load(args)
    for text, result in zip(texts, clf.predict(texts), strict=True):
        print(json.dumps({"text": text, **result}, ensure_ascii=False))
    return 0


def cmd_score(args) -> int:
    from toxic.batch import score_file

    src = Path(args.input)
    out = (
        Path(args.output)
        if args.output
        else src.with_name(src.stem + ".scored" + (src.suffix if src.suffix != ".txt" else ".csv"))
    )
    if out.resolve() == src.resolve():
        raise ToxicError("the output would overwrite the input: choose another -o")
    writable(out, "-o")
    clf = _load(args)
    started = time.perf_counter()
    bar = _progress_bar(args.quiet)
    log = _ScoreLog(args.log, clf) if args.log else None
    try:
        summary = score_file(
            clf,
            src,
            out,
            column=args.column,
            delimiter=delimiter(args.delimiter),
            progress=bar,
            header=args.header,
            on_scored=log,
        )
    finally:
        if log is not None:
            log.close()
    elapsed = time.perf_counter() - started
    for note in summary.notes:
        print(f"note: {note}", file=sys.stderr)
    flagged = ", ".join(f"{k}: {v:,}" for k, v in summary.flagged.items())
    print(
        f"scored {summary.rows:,} rows of column {summary.column!r} in {elapsed:.1f} s "
        f"({summary.rows / elapsed:,.0f} rows/s); flagged {flagged} -> {out}",
        file=sys.stderr,
    )
    return 0


class _ScoreLog:
    """``toxic score --log URI``: every scored row into the prediction log, as source "cli", one request id."""

    def __init__(self, uri: str, clf) -> None:
        import uuid

        from toxic.monitor.predlog import open_log
        from toxic.settings import Settings

        settings = Settings.from_env()
        self.log = open_log(uri, settings.log_text, settings.log_salt)
        self.clf = clf
        self.request_id = uuid.uuid4().hex

    def __call__(self, texts, probs, decisions) -> None:
        info = self.clf.info
        self.log.record_many(
            texts,
            probs,
            decisions,
            info.model_id,
            info.version,
            source="cli",
            request_id=self.request_id,
            thresholds=self.clf.thresholds,
            labels=self.clf.labels,
        )

    def close(self) -> None:
        self.log.close()


def writable(path: Path, option: str) -> None:
    """Refuse a destination that cannot be written, before any work is done, in one line."""
    folder = path.parent if str(path.parent) else Path(".")
    if path.is_dir():
        raise ToxicError(f"{option} {path} is a folder: give a file name")
    if not folder.is_dir():
        raise ToxicError(f"cannot write {path}: the folder {folder} does not exist ({option})")
    if not os.access(folder, os.W_OK) or (path.exists() and not os.access(path, os.W_OK)):
        raise ToxicError(f"cannot write {path}: permission denied ({option})")


def delimiter(value: str | None) -> str | None:
    """--delimiter: one character; 'tab' or '\\t' for a tab."""
    if value is None:
        return None
    value = {"tab": "\t", "\\t": "\t"}.get(value.lower(), value)
    if len(value) != 1 or value in '\r\n"':
        raise ToxicError(f"--delimiter must be one character such as , ; | or tab, got {safe_text(value)!r}")
    return value


def cmd_beam(args) -> int:
    from toxic.beam.cli import run

    return run(args.beam_args)


def _progress_bar(quiet: bool):
    if quiet or not sys.stderr.isatty():
        return None

    def show(rows: int) -> None:
        print(f"\r{rows:,} rows scored", end="", file=sys.stderr, flush=True)

    return show


def cmd_eval(args) -> int:
    from toxic.eval.evaluate import evaluate_model

    result = evaluate_model(_load(args))
    print(json.dumps(result, indent=2))
    return 0


def cmd_data_verify(args) -> int:
    from toxic.data import data_dir, verify_manifest

    root = Path(args.data_dir) if args.data_dir else data_dir()
    problems = verify_manifest(root)
    if problems:
        for p in problems:
            print(f"error: {p}", file=sys.stderr)
        print(f"error: {len(problems)} data file(s) do not match {root / 'manifest.json'}", file=sys.stderr)
        return 1
    print(f"ok: every file matches {root / 'manifest.json'}")
    return 0


def cmd_push(args) -> int:
    from toxic.hub import push

    result = push(Path(args.model_dir), args.repo_id, revision=args.revision, dry_run=args.dry_run)
    print(json.dumps(result, indent=2, default=str))
    if not args.dry_run:
        print(f"pushed {len(result['files'])} files: {result['url']}", file=sys.stderr)
    return 0


def cmd_drift(args) -> int:
    from toxic.monitor import alert
    from toxic.monitor.drift import report_from_log
    from toxic.monitor.predlog import open_log
    from toxic.monitor.profile import load_profile

    if args.last is not None and args.last < 1:
        raise ToxicError("--last must be a positive number of predictions")
    writable(Path(args.out), "--out")
    clf = _load(args)
    reference = load_profile(clf.info.path)
    with open_log(args.log, create=False) as log:
        last = args.last if args.last is not None or args.since else 10_000
        result = report_from_log(log, clf, reference, last=last, since=args.since)
    Path(args.out).write_text(result.html, encoding="utf-8")
    print(json.dumps(result.summary, indent=2))
    s = result.summary
    print(
        f"drift: {len(s['drifted_features'])} drifted feature(s) ({s['drift_share']:.0%}), dataset drift "
        f"{'yes' if s['dataset_drift'] else 'no'}; {s['rows']['current']:,} predictions -> {args.out}",
        file=sys.stderr,
    )
    if not args.check or not alert.crossed(s, args.threshold):
        return 0
    print(f"drift share {s['drift_share']:.0%} >= threshold {args.threshold:.0%}", file=sys.stderr)
    if args.webhook:
        try:
            alert.post_webhook(args.webhook, alert.describe(s, args.threshold, report=args.out))
        except ToxicError as e:  # still exit 1: the drift is the news, the failed alert a second one
            print(f"error: {e}", file=sys.stderr)
    return 1


def cmd_serve(args) -> int:
    from toxic.serve.startup import prepare_process

    prepare_process()  # before Gradio's import, as python app.py does
    try:
        from toxic.serve.launch import main as serve
    except ImportError as e:
        raise ToxicError(f"toxic serve needs the app: pip install 'toxic[app,monitor]' ({e})") from None
    serve()
    return 0


def cmd_corrections_export(args) -> int:
    from toxic.classifier import read_info, resolve_model_dir
    from toxic.monitor.corrections import CorrectionStore, export_csv
    from toxic.settings import Settings

    folder = Path(args.dir) if args.dir else Settings.from_env().flag_dir
    labels = read_info(resolve_model_dir(args.model, args.revision)).labels
    records = CorrectionStore(folder).read()
    if not records:
        raise ToxicError(f"no corrections in {folder} (TOXIC_FLAG_DIR; --dir chooses another folder)")
    summary = export_csv(records, labels, Path(args.output))
    left_out = f"; {summary.without_text:,} left out: their text was kept as a hash or not at all" * bool(
        summary.without_text
    )
    print(
        f"{summary.rows:,} labelled texts from {summary.corrections:,} corrections -> {args.output}{left_out}",
        file=sys.stderr,
    )
    return 0


def cmd_log_export(args) -> int:
    from toxic.monitor import export
    from toxic.monitor.predlog import open_log

    out = Path(args.output)
    fmt = export.format_of(out, args.format)
    with open_log(args.log, create=False) as log:
        frame = export.window(log, since=args.since, until=args.until, sources=args.source)
    export.write(frame, out, fmt)
    sources = f" from {', '.join(args.source)}" if args.source else ""
    print(f"exported {len(frame):,} predictions{sources} -> {out}", file=sys.stderr)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="toxic", description="Offline toxic-comment classifier (int8 ONNX)."
    )
    parser.add_argument("--debug", action="store_true", help="show the traceback of an unexpected error")
    sub = parser.add_subparsers(dest="command", required=True)

    def model_args(p):
        p.add_argument(
            "--model", default=None, help="model directory or Hub repo id (default: the embedded model)"
        )
        p.add_argument("--revision", default=None, help="Hub revision (branch, tag or commit)")
        p.add_argument("--threads", type=int, default=None, help="onnxruntime threads (default: all cores)")
        p.add_argument(
            "--raw",
            action="store_true",
            help="score texts as written: do not undo look-alike spellings (1d10t)",
        )

    p = sub.add_parser("predict", help="score texts given as arguments (or one a line on stdin)")
    p.add_argument("texts", nargs="*")
    model_args(p)
    p.set_defaults(func=cmd_predict)

    p = sub.add_parser("score", help="score a CSV/TSV/TXT file of comments (millions of rows: toxic beam)")
    p.add_argument("input")
    p.add_argument("-o", "--output", default=None, help="where to write (default: INPUT.scored.csv)")
    p.add_argument("--column", default=None, help="the text column (default: detected)")
    p.add_argument("--delimiter", default=None, help="field delimiter (default: detected)")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress display")
    p.add_argument(
        "--header",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="the first line names the columns (--no-header: it is the first comment; default: detected)",
    )
    p.add_argument("--log", default=None, help="also write each prediction to this prediction log (URI)")
    model_args(p)
    p.set_defaults(func=cmd_score)

    # Everything after `beam` is toxic.beam.cli's (and Beam's pipeline options): no "-" prefix here, so none is ours
    p = sub.add_parser("beam", help="score files of any size with Apache Beam (--help)", prefix_chars="+")
    p.add_argument("beam_args", nargs=argparse.REMAINDER)
    p.set_defaults(func=cmd_beam)

    p = sub.add_parser("eval", help="validation metrics of a model")
    model_args(p)
    p.set_defaults(func=cmd_eval)

    p = sub.add_parser("data", help="training data tools")
    dsub = p.add_subparsers(dest="data_command", required=True)
    v = dsub.add_parser("verify", help="check the data files against data/manifest.json")
    v.add_argument("--data-dir", default=None)
    v.set_defaults(func=cmd_data_verify)

    p = sub.add_parser("push", help="publish a model folder (model.onnx, card, metrics) to the HF Hub")
    p.add_argument("model_dir", help="an exported model folder, e.g. runs/<run>/onnx")
    p.add_argument("repo_id", help="ORG/NAME of the model repo (created if missing)")
    p.add_argument("--revision", default=None, help="branch to push to (default: main)")
    p.add_argument("--dry-run", action="store_true", help="print the files and card metadata; send nothing")
    p.set_defaults(func=cmd_push)

    p = sub.add_parser("drift", help="drift report: a window of the prediction log vs the training profile")
    p.add_argument("--log", required=True, help="prediction log: a file path (SQLite) or gs://bucket/prefix")
    window = p.add_mutually_exclusive_group()
    window.add_argument("--last", type=int, default=None, help="the last N predictions (default 10000)")
    window.add_argument("--since", default=None, help="predictions since an ISO time, e.g. 2026-07-20T00:00Z")
    p.add_argument("--out", default="drift_report.html", help="the Evidently HTML report (%(default)s)")
    p.add_argument("--check", action="store_true", help="exit 1 (and alert) when drift reaches --threshold")
    p.add_argument("--threshold", type=float, default=0.5, help="share of drifted features that alerts (0.5)")
    p.add_argument("--webhook", default=None, help="with --check: POST a Slack-compatible JSON message here")
    model_args(p)
    p.set_defaults(func=cmd_drift)

    p = sub.add_parser("serve", help="the app: UI, API and HTTP routes (settings: TOXIC_* environment)")
    p.set_defaults(func=cmd_serve)
    p = sub.add_parser("corrections", help="corrections flagged in the app or sent to comments:suggestscore")
    csub = p.add_subparsers(dest="corrections_command", required=True)
    e = csub.add_parser("export", help="write them as a labelled CSV (text, one 1/0/-1 column per label)")
    e.add_argument("-o", "--output", required=True, help="the CSV to write")
    e.add_argument(
        "--dir", default=None, help="the corrections folder (default: TOXIC_FLAG_DIR, else flagged)"
    )
    e.add_argument(
        "--model", default=None, help="the model whose labels head the columns (default: embedded)"
    )
    e.add_argument("--revision", default=None, help="Hub revision of --model")
    e.set_defaults(func=cmd_corrections_export)
    p = sub.add_parser("log", help="prediction log tools")
    lsub = p.add_subparsers(dest="log_command", required=True)
    e = lsub.add_parser("export", help="write the log (or a window of it) as CSV or Parquet for an audit")
    e.add_argument("--log", required=True, help="prediction log: a file path (SQLite) or gs://bucket/prefix")
    e.add_argument("-o", "--output", required=True, help="the file to write (.csv or .parquet)")
    e.add_argument("--format", choices=("csv", "parquet"), default=None, help="default: from the file name")
    e.add_argument(
        "--since", default=None, help="predictions at or after an ISO time, e.g. 2026-11-01T00:00Z"
    )
    e.add_argument("--until", default=None, help="predictions before an ISO time")
    e.add_argument(
        "--source",
        action="append",
        default=None,
        help="only this source (ui, api, rest, batch, cli); repeatable",
    )
    e.set_defaults(func=cmd_log_export)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except ToxicError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except OSError as e:  # a file that vanished or filled the disk mid-run: say which, in one line
        where = f": {safe_text(str(e.filename))}" if e.filename else ""
        print(f"error: {e.strerror or e}{where}", file=sys.stderr)
        return 2
    except Exception as e:  # a bug: one line for the user, the traceback with --debug
        if args.debug:
            raise
        print(
            f"error: unexpected {type(e).__name__}: {safe_text(str(e))[:300]} (--debug shows where)",
            file=sys.stderr,
        )
        return 3


if __name__ == "__main__":
    sys.exit(main())

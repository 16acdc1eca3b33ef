"""``toxic beam``: score files of any size with Apache Beam, here or on Dataflow.

    toxic beam --input 'comments/*.csv' --output scored/comments [--column text] [Beam pipeline options]
    toxic beam --input 'gs://b/in/*.parquet' --output gs://b/out/scored --runner DataflowRunner \\
        --project P --region R --temp_location gs://b/tmp --sdk_container_image IMAGE [--dry_run job.json]

Options Beam does not know are ours; the rest are Beam's pipeline options, passed on. The default runner is
``FnApiRunner`` with one worker process per core (``--direct_num_workers``, ``--direct_running_mode``): it runs
in-process and downloads nothing. ``DirectRunner`` is read as ``FnApiRunner``: since Beam 2.68 it first tries Prism,
which may download a runner binary at start-up, and without network that fails or hangs. ``--dry_run FILE``
validates the options and writes the Dataflow job description to FILE without submitting it.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

from toxic.errors import InputError, ToxicError

LOCAL_RUNNER = "FnApiRunner"
PRISM_FIRST = {"DirectRunner", "SwitchingDirectRunner"}


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="toxic beam",
        description="Score comment files with Apache Beam (locally, or on Dataflow). Other options go to Beam.",
    )
    p.add_argument(
        "--input", action="append", required=True, help="a path or glob, local or gs:// (repeatable)"
    )
    p.add_argument("--output", required=True, help="prefix of the output files, local or gs://")
    p.add_argument("--column", "--field", dest="column", default=None, help="the text column or JSON field")
    p.add_argument("--delimiter", default=None, help="CSV field delimiter (default: detected per file)")
    p.add_argument("--format", dest="output_format", choices=["csv", "parquet"], default=None,
                   help="output format (default: parquet for Parquet input, else csv)")  # fmt: skip
    p.add_argument(
        "--num_shards", type=int, default=None, help="output files (default: one per 256 MB of input)"
    )
    p.add_argument(
        "--model", default=None, help="model directory on the workers (default: the embedded model)"
    )
    p.add_argument("--threads", type=int, default=None, help="onnxruntime threads per worker process")
    p.add_argument(
        "--raw", action="store_true", help="score texts as written: do not undo look-alike spellings"
    )
    p.add_argument("--max_text_chars", type=int, default=None,
                   help="longer texts go to the dead letters (default: TOXIC_MAX_TEXT_CHARS)")  # fmt: skip
    p.add_argument("--dry_run", metavar="FILE", default=None,
                   help="DataflowRunner: validate and write the job description to FILE; submit nothing")  # fmt: skip
    return p


def pipeline_options(beam_args: list[str], cores: int | None = None):
    """Beam's options, with our local default: FnApiRunner, one worker process per core."""
    from apache_beam.options.pipeline_options import (
        DirectOptions,
        PipelineOptions,
        SetupOptions,
        StandardOptions,
    )

    options = PipelineOptions(beam_args)
    given = options.get_all_options(drop_default=True)
    if "save_main_session" not in given:  # the transforms live in toxic.beam, installed on every worker
        options.view_as(SetupOptions).save_main_session = False
    standard = options.view_as(StandardOptions)
    if standard.runner is None or standard.runner in PRISM_FIRST:
        standard.runner = LOCAL_RUNNER
    direct = options.view_as(DirectOptions)
    if standard.runner == LOCAL_RUNNER:
        if "direct_num_workers" not in given:
            direct.direct_num_workers = cores or os.cpu_count() or 1
        if "direct_running_mode" not in given:
            direct.direct_running_mode = "multi_processing" if direct.direct_num_workers > 1 else "in_memory"
    return options


def default_threads(options) -> int:
    """onnxruntime threads per worker process: the cores shared among the processes. Dataflow runs one Python
    process per vCPU, so one thread each."""
    from apache_beam.options.pipeline_options import DirectOptions, StandardOptions

    if options.view_as(StandardOptions).runner != LOCAL_RUNNER:
        return 1
    workers = options.view_as(DirectOptions).direct_num_workers or 1
    return max(1, (os.cpu_count() or 1) // workers)


def match_inputs(patterns: list[str]) -> tuple[list[str], int]:
    """Every file the patterns match, sorted, and their total size. Raises InputError when one matches nothing."""
    from apache_beam.io.filesystems import FileSystems

    files: dict[str, int] = {}
    for pattern, result in zip(patterns, FileSystems.match(patterns), strict=True):
        matched = [m for m in result.metadata_list if not m.path.endswith("/")]
        if not matched:
            raise InputError(f"no file matches {pattern!r}")
        files.update({m.path: m.size_in_bytes for m in matched})
    return sorted(files), sum(files.values())


def check_dataflow(options, args) -> None:
    """What Dataflow needs that Beam checks only once the job is submitted, checked before anything is read."""
    from apache_beam.options.pipeline_options import SetupOptions, WorkerOptions

    if not options.view_as(WorkerOptions).sdk_container_image:
        raise InputError(
            "DataflowRunner needs --sdk_container_image: the worker image built from beam/Dockerfile (docs/scale.md)"
        )
    local = [p for p in [*args.input, args.output] if not p.startswith("gs://")]
    if local:
        raise InputError(f"Dataflow workers read and write gs:// paths only, not {local[0]!r}")
    setup = options.view_as(SetupOptions)
    if setup.sdk_location == "default":
        setup.sdk_location = "container"  # Beam is in the image: stage nothing


def plan(args, options):
    """The job, decided here on the launcher from the first input file and the model."""
    from toxic.beam.io import detect_schema
    from toxic.beam.pipeline import ScoreJob, shards_for
    from toxic.classifier import read_info, resolve_model_dir
    from toxic.settings import Settings, env_flag

    inputs, total = match_inputs(args.input)
    schema = detect_schema(inputs[0], args.column, args.delimiter)
    info = read_info(resolve_model_dir(args.model))
    return ScoreJob(
        inputs=tuple(inputs),
        output=args.output,
        schema=schema,
        labels=info.labels,
        thresholds=info.thresholds,
        model_version=info.version,
        output_format=args.output_format or ("parquet" if schema.kind == "parquet" else "csv"),
        num_shards=args.num_shards or shards_for(total),
        max_text_chars=args.max_text_chars or Settings.from_env().max_text_chars,
        model=args.model,
        threads=args.threads or default_threads(options),
        deobfuscate=False if args.raw else env_flag("TOXIC_DEOBFUSCATE", "1"),
        notes=[f"{len(inputs)} file(s), {total:,} bytes; text column {schema.text_column!r}"],
    )


def peak_rss_mb(result) -> int | None:
    from apache_beam.metrics.metric import MetricsFilter

    from toxic.beam.handler import NAMESPACE

    try:
        found = result.metrics().query(
            MetricsFilter().with_namespace(NAMESPACE).with_name("worker_peak_rss_mb")
        )
    except Exception:  # some runners report no metrics; the figure is a nicety
        return None
    values = [d.committed.max for d in found["distributions"] if d.committed and d.committed.count]
    return max(values) if values else None


def job_description(job) -> str:
    """The Dataflow job as it would be submitted, as JSON: Beam's dry run fills in only the job's name and type, and
    its environment (worker image, options, staging) is built here as Beam builds it before submitting, less the
    uploads; the pipeline's graph goes in as the environment's proto pipeline."""
    from apache_beam.io.filesystems import FileSystems
    from apache_beam.runners.dataflow.internal import apiclient
    from apache_beam.runners.internal import names

    staging = job.google_cloud_options.staging_location
    job.proto.environment = apiclient.Environment(
        packages=[],
        options=job.options,
        environment_version=apiclient._FNAPI_ENVIRONMENT_MAJOR_VERSION,
        proto_pipeline_staged_url=FileSystems.join(staging, names.STAGED_PIPELINE_FILENAME),
        proto_pipeline=job.proto_pipeline,
    ).proto
    return job.json()


def run(argv: list[str]) -> int:
    try:
        import apache_beam as beam
        from apache_beam.io.filesystems import FileSystems
        from apache_beam.options.pipeline_options import StandardOptions, TestOptions
    except ImportError:
        raise ToxicError(
            "toxic beam needs Apache Beam, in its own environment: ./tasks.sh setup-beam, then .venv-beam/bin/toxic "
            "beam ... (pip install 'toxic[beam]' elsewhere)"
        ) from None
    from toxic.beam.pipeline import build

    args, beam_args = build_parser().parse_known_args(argv)
    options = pipeline_options(beam_args)
    runner = options.view_as(StandardOptions).runner
    if runner == "DataflowRunner":
        check_dataflow(options, args)
    elif args.dry_run:
        raise InputError("--dry_run writes a Dataflow job description: use it with --runner DataflowRunner")
    job = plan(args, options)
    if args.dry_run:
        options.view_as(TestOptions).dry_run = True
    started = time.perf_counter()
    p = beam.Pipeline(options=options)
    build(p, job)
    # Bad rows are dead letters; what fails here is a bug, a lost worker or an option Beam or Dataflow refuses:
    # one line, no traceback
    try:
        result = p.run()
        if not args.dry_run:
            result.wait_until_finish()
    except Exception as e:
        last = str(e).strip().splitlines()[-1:] or [type(e).__name__]
        raise ToxicError(f"the pipeline failed ({runner}): {last[0][:500]}") from e
    if args.dry_run:
        with open(args.dry_run, "w", encoding="utf-8") as f:
            f.write(job_description(result.job))
        print(f"dry run: the job description is in {args.dry_run}; nothing was submitted", file=sys.stderr)
        return 0
    elapsed = time.perf_counter() - started
    with FileSystems.open(job.paths()["summary"]) as f:
        summary = json.load(f)
    flagged = ", ".join(f"{k}: {v['flagged']:,}" for k, v in summary["labels"].items())
    peak = peak_rss_mb(result)
    print(
        f"scored {summary['rows']:,} rows of column {job.schema.text_column!r} in {elapsed:.1f} s "
        f"({summary['rows'] / elapsed:,.0f} rows/s) with {runner}; flagged {flagged}; "
        f"{summary['dead_letters']:,} dead letter(s)"
        + (f"; peak RSS per worker {peak} MB" if peak else "")
        + f" -> {job.output}-*",
        file=sys.stderr,
    )
    return 0

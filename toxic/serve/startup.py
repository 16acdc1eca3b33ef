"""What ``python app.py`` keeps out of its process: packages the environment has, which the app never uses but
Gradio would import anyway, costing start-up time and memory. Call ``prepare_process()`` before ``import gradio``
(it keeps them out and caps malloc's heaps, :mod:`toxic.serve.memory`); ``import_styler_without_matplotlib()`` is for any
process that builds the app.

- ``matplotlib``: installed for the evaluation suite's plots. When it can be imported, Gradio imports it and pyplot
  at the first event (to pin its backend), and pandas' Styler imports it at the first gr.Dataframe: ~0.9 s of
  start-up and ~26 MB. Marked missing, both carry on without it.
- ``mcp``: Gradio's own import defines its MCP server class inside a ``try: import mcp``, 0.3-0.6 s of start-up,
  whether or not MCP is on. Marked missing unless ``TOXIC_MCP=1``, which needs it.
- ``pyarrow``: pandas imports it at its own import when it is installed (~30 MB of RSS), for Arrow-backed dtypes
  and readers the app never uses. Hidden while pandas is imported, then importable again: the Drift tab reads the
  model's reference profile with ``pyarrow.parquet`` itself (:func:`toxic.monitor.profile.load_profile`), at first use.
  ``pd.read_parquet`` does not work in such a process (pandas decided at import that there is no pyarrow).

``None`` in ``sys.modules`` is the import machinery's "not installed"; ``setdefault`` leaves a package that is
already imported alone."""

from __future__ import annotations

import hashlib
import importlib
import os
import sys
from pathlib import Path

from toxic.serve.memory import limit_malloc_arenas
from toxic.settings import env_flag


def prepare_process() -> None:
    """What ``python app.py`` does first, before Gradio's import and before any thread starts."""
    keep_out_unused()
    limit_malloc_arenas()


def configure_gradio(model_dir: Path, model_id: str, version: str, examples: list[str]) -> None:
    """Gradio's process-wide settings for this app, made before the UI is built:

    - its event history bounded (unless the user sets it): Gradio keeps the last GRADIO_ANALYTICS_MAX_EVENTS events
      (default 10,000) and, after every one (GRADIO_ANALYTICS_CACHE_FREQUENCY, default 1), rebuilds a pandas summary
      of all of them: a cost per call and an RSS that grow with the calls served. /metrics has ours.
    - the examples' outputs cached in a folder named for the model and the examples, under the user's
      GRADIO_EXAMPLES_CACHE (or Gradio's default): Gradio reuses a cache folder as long as it exists, so a new model
      or new examples would otherwise show stale cached results.
    """
    os.environ.setdefault("GRADIO_ANALYTICS_MAX_EVENTS", "1000")
    os.environ.setdefault("GRADIO_ANALYTICS_CACHE_FREQUENCY", "100")
    meta = model_dir / "toxic.json"
    key = hashlib.sha256(
        "\n".join([model_id, version, meta.read_text() if meta.exists() else "", *examples]).encode()
    ).hexdigest()[:16]
    root = os.environ.get("GRADIO_EXAMPLES_CACHE", ".gradio/cached_examples")
    os.environ["GRADIO_EXAMPLES_CACHE"] = str(Path(root) / key)


def keep_out_unused() -> None:
    """Mark the unused packages missing for this process, and import pandas without pyarrow."""
    for name in ["matplotlib"] + ([] if env_flag("TOXIC_MCP") else ["mcp"]):
        sys.modules.setdefault(name, None)  # type: ignore[arg-type]
    import_pandas_without_pyarrow()


def import_pandas_without_pyarrow() -> None:
    """Import pandas with pyarrow marked missing, then unmark it."""
    _import_without("pandas", hidden="pyarrow")


def import_styler_without_matplotlib() -> None:
    """For ``app.build()`` in any process (tests, an app that mounts ours), where matplotlib may stay importable:
    the gr.Dataframe it builds imports pandas' Styler, which imports matplotlib.pyplot. Import Styler once with
    matplotlib marked missing, then unmark it: a later ``import matplotlib`` anywhere else works as usual."""
    _import_without("pandas.io.formats.style", hidden="matplotlib")


def _import_without(module: str, hidden: str) -> None:
    """Import ``module`` with ``hidden`` marked missing, then unmark it. Does nothing when either is imported
    already (or ``hidden`` is marked missing for good)."""
    if module in sys.modules or hidden in sys.modules:
        return
    sys.modules[hidden] = None  # type: ignore[assignment]
    try:
        importlib.import_module(module)
    finally:
        del sys.modules[hidden]

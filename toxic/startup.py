"""What ``python app.py`` keeps out of its process: packages the environment has, which the app never uses but
Gradio would import anyway, costing start-up time and memory. Call ``prepare_process()`` before ``import gradio``
(it keeps them out and caps malloc's heaps, :mod:`toxic.memory`); ``import_styler_without_matplotlib()`` is for any
process that builds the app.

- ``matplotlib``: installed for the evaluation suite's plots. When it can be imported, Gradio imports it and pyplot
  at the first event (to pin its backend), and pandas' Styler imports it at the first gr.Dataframe: ~0.9 s of
  start-up and ~26 MB. Marked missing, both carry on without it.
- ``mcp``: Gradio's own import defines its MCP server class inside a ``try: import mcp``, 0.3-0.6 s of start-up,
  whether or not MCP is on. Marked missing unless ``TOXIC_MCP=1``, which needs it.

``None`` in ``sys.modules`` is the import machinery's "not installed"; ``setdefault`` leaves a package that is
already imported alone."""

from __future__ import annotations

import sys

from toxic.memory import limit_malloc_arenas
from toxic.settings import env_flag


def prepare_process() -> None:
    """What ``python app.py`` does first, before Gradio's import and before any thread starts."""
    keep_out_unused()
    limit_malloc_arenas()


def keep_out_unused() -> None:
    """Mark the unused packages missing for this process."""
    for name in ["matplotlib"] + ([] if env_flag("TOXIC_MCP") else ["mcp"]):
        sys.modules.setdefault(name, None)  # type: ignore[arg-type]


def import_styler_without_matplotlib() -> None:
    """For ``app.build()`` in any process (tests, an app that mounts ours), where matplotlib may stay importable:
    the gr.Dataframe it builds imports pandas' Styler, which imports matplotlib.pyplot. Import Styler once with
    matplotlib marked missing, then unmark it: a later ``import matplotlib`` anywhere else works as usual."""
    if "pandas.io.formats.style" in sys.modules or "matplotlib" in sys.modules:
        return
    sys.modules["matplotlib"] = None  # type: ignore[assignment]
    try:
        import pandas.io.formats.style  # noqa: F401
    finally:
        del sys.modules["matplotlib"]

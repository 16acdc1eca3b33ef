"""What ``python app.py`` keeps out of its process: packages the environment has, which the app never uses but
Gradio would import anyway, costing start-up time and memory. Call ``keep_out_unused()`` before ``import gradio``.

- ``matplotlib``: installed for the evaluation suite's plots. When it can be imported, Gradio imports it and pyplot
  at the first event (to pin its backend), and pandas' Styler imports it at the first gr.Dataframe: ~0.9 s of
  start-up and ~26 MB. Marked missing, both carry on without it.
- ``mcp``: Gradio's own import defines its MCP server class inside a ``try: import mcp``, 0.3-0.6 s of start-up,
  whether or not MCP is on. Marked missing unless ``TOXIC_MCP=1``, which needs it.

``None`` in ``sys.modules`` is the import machinery's "not installed"; ``setdefault`` leaves a package that is
already imported alone."""

from __future__ import annotations

import sys

from toxic.settings import env_flag


def keep_out_unused() -> list[str]:
    """Mark the unused packages missing for this process; returns their names."""
    names = ["matplotlib"] + ([] if env_flag("TOXIC_MCP") else ["mcp"])
    for name in names:
        sys.modules.setdefault(name, None)  # type: ignore[arg-type]
    return names

"""An Evidently 0.7 metric: drift of an embedding given as columns (principal components), without t-SNE.

Evidently's ``EmbeddingsDrift`` runs t-SNE on up to 5,000 points to draw its plot, minutes on a small CPU. This
metric applies the same drift method (``ModelDriftMethod``: a classifier trained to tell current rows from
reference rows; its ROC AUC on a held-out half is the score) and draws the first two components instead.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from evidently.core.metric_types import SingleValueCalculation, SingleValueMetric
from evidently.legacy.metrics.data_drift.embedding_drift_methods import ModelDriftMethod
from evidently.legacy.renderers.html_widgets import CounterData, counter, plotly_figure


class EmbeddingDrift(SingleValueMetric):
    """Drift of an embedding given as columns (principal components): ROC AUC of Evidently's model drift method."""

    columns: list[str]
    threshold: float = 0.55


class EmbeddingDriftCalculation(SingleValueCalculation[EmbeddingDrift]):
    def calculate(self, context, current_data, reference_data):
        columns = self.metric.columns
        cur = current_data.as_dataframe()[columns].dropna().reset_index(drop=True)
        ref = reference_data.as_dataframe()[columns].dropna().reset_index(drop=True)
        # ModelDriftMethod adds a column to the frames it is given: hand it copies.
        score, _, _ = ModelDriftMethod(threshold=self.metric.threshold)(cur.copy(), ref.copy())
        result = self.result(float(score))
        result.widget = [
            counter(
                title=self.display_name(),
                counters=[
                    CounterData("ROC AUC (0.5 = no drift)", f"{score:.3f}"),
                    CounterData("threshold", f"{self.metric.threshold:.3f}"),
                    CounterData("drift", "detected" if score > self.metric.threshold else "not detected"),
                    CounterData("rows", f"{len(cur):,} current / {len(ref):,} reference"),
                ],
            ),
            plotly_figure(title="Embedding: first two principal components", figure=_scatter(cur, ref)),
        ]
        return result

    def display_name(self) -> str:
        return f"Embedding drift ({len(self.metric.columns)} principal components, model method)"


def _scatter(cur: pd.DataFrame, ref: pd.DataFrame, n: int = 600):
    import plotly.graph_objects as go

    fig = go.Figure()
    for name, frame, color in (("reference", ref, "#4d4d4d"), ("current", cur, "#ed0400")):
        sample = frame.sample(min(n, len(frame)), random_state=0)
        fig.add_trace(
            go.Scattergl(
                x=sample.iloc[:, 0], y=sample.iloc[:, 1], mode="markers", name=name, opacity=0.5,
                marker={"size": 4, "color": color},
            )
        )  # fmt: skip
    fig.update_layout(xaxis_title="PC 1", yaxis_title="PC 2", height=420)
    return fig


def auc_threshold(n_current: int, n_reference: int) -> float:
    """0.55 (Evidently's default), raised for small windows to 3 standard deviations of the ROC AUC of a
    useless classifier on the held-out half the method scores (Mann-Whitney null), so noise is not drift."""
    n1, n2 = max(n_current // 2, 1), max(n_reference // 2, 1)
    return max(0.55, 0.5 + 3 * float(np.sqrt((n1 + n2 + 1) / (12 * n1 * n2))))

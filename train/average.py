"""An exponential moving average of the weights along one run (``--ema 0.999``).

Averaging the weights of two runs fails (their heads start from different draws, docs/experiments.md); averaging
the late weights of one run does not have that problem: every point lies on the same trajectory. The average is
evaluated and saved beside the live weights, and the run keeps whichever scores higher on val.
"""

from __future__ import annotations

from contextlib import contextmanager

import torch
from torch import nn


class WeightAverage:
    """Keeps ``avg = decay * avg + (1 - decay) * weights`` after every step. The decay starts low and rises to
    ``decay`` ((1 + step) / (10 + step)), so the first steps' random head does not linger in the average."""

    def __init__(self, model: nn.Module, decay: float) -> None:
        if not 0 < decay < 1:
            raise ValueError("the weight average's decay must be in (0, 1), e.g. 0.999")
        self.decay, self.steps = decay, 0
        self.params = [p for p in model.parameters() if p.requires_grad]
        self.average = [p.detach().clone() for p in self.params]

    @torch.no_grad()
    def update(self) -> None:
        self.steps += 1
        decay = min(self.decay, (1 + self.steps) / (10 + self.steps))
        torch._foreach_lerp_(self.average, [p.detach() for p in self.params], 1 - decay)

    @contextmanager
    def swapped_in(self):
        """The model holds the averaged weights inside the block and its own weights again after it."""
        live = [p.detach().clone() for p in self.params]
        with torch.no_grad():
            for p, a in zip(self.params, self.average, strict=True):
                p.copy_(a)
        try:
            yield
        finally:
            with torch.no_grad():
                for p, w in zip(self.params, live, strict=True):
                    p.copy_(w)

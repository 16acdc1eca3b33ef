"""The moving average of the weights along a run (``--ema``), in the training environment, on a real torch
module: the average follows the recurrence, and swapping it in leaves the live weights untouched."""

import pytest

from tests.conftest import train_json

CODE = """
import json, torch
from train.average import WeightAverage
torch.manual_seed(0)
model = torch.nn.Linear(3, 2)
start = [p.detach().clone() for p in model.parameters()]
avg = WeightAverage(model, 0.5)
expected = [s.clone() for s in start]
for step in range(1, 6):
    with torch.no_grad():
        for p in model.parameters():
            p.add_(1.0)
    avg.update()
    decay = min(0.5, (1 + step) / (10 + step))
    expected = [decay * e + (1 - decay) * p.detach() for e, p in zip(expected, model.parameters())]
live = [p.detach().clone() for p in model.parameters()]
with avg.swapped_in():
    inside = [p.detach().clone() for p in model.parameters()]
after = [p.detach().clone() for p in model.parameters()]
try:
    WeightAverage(model, 1.0)
    refused = ""
except ValueError as e:
    refused = str(e)
print(json.dumps({
    "inside_is_average": all(torch.allclose(i, e) for i, e in zip(inside, expected)),
    "inside_differs": not all(torch.allclose(i, w) for i, w in zip(inside, live)),
    "after_is_live": all(torch.equal(a, w) for a, w in zip(after, live)),
    "lag": float((live[0] - inside[0]).mean()),
    "refused": refused,
}))
"""


@pytest.mark.train
def test_weight_average_follows_the_weights_and_swaps_back(train_python):
    got = train_json(train_python, CODE)
    assert got["inside_is_average"]
    assert got["inside_differs"] and got["after_is_live"]
    # five steps of +1 while the warm-up holds the decay at 0.18-0.40: the average lags by under one step
    assert 0 < got["lag"] < 1
    assert "decay must be in (0, 1)" in got["refused"]

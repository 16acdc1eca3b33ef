"""The training loss: per-label class weights and the masked BCE, in the training environment."""

import pytest

from tests.conftest import train_json

CODE = """
import json, numpy as np, torch
from train.train import class_weights, masked_bce
t = np.array([[1, 0, -1], [0, 0, 1], [0, -1, 1], [0, 1, 0], [1, 0, -1]])
out = {name: None if (w := class_weights(t, name)) is None else w.tolist() for name in ("none", "sqrt", "balanced")}
logits = torch.zeros(5, 3)
targets = torch.tensor(t)
plain = masked_bce(logits, targets, 0.0).item()
weighted = masked_bce(logits, targets, 0.0, torch.tensor([2.0, 1.0, 1.0])).item()
masked_only = masked_bce(logits, torch.full((5, 3), -1), 0.0).item()
print(json.dumps({"weights": out, "plain": plain, "weighted": weighted, "masked_only": masked_only}))
"""


@pytest.mark.train
def test_class_weights_and_the_masked_loss(train_python):
    got = train_json(train_python, CODE)
    assert got["weights"]["none"] is None
    # known targets per label: toxic 2 of 5 positive, hate 1 of 4, insult 2 of 3 (-1 does not count)
    assert got["weights"]["balanced"] == pytest.approx([3 / 2, 3 / 1, 1 / 2])
    assert got["weights"]["sqrt"] == pytest.approx([(3 / 2) ** 0.5, 3**0.5, 0.5**0.5])
    assert got["plain"] == pytest.approx(0.693147, abs=1e-5)  # log 2 at logit 0, whatever the target
    # toxic's two positives weigh double: 12 known terms, 2 of them doubled
    assert got["weighted"] == pytest.approx(0.693147 * 14 / 12, abs=1e-5)
    assert got["masked_only"] == 0.0  # nothing known, nothing learnt

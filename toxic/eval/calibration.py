"""Probability calibration per label, fitted on val logits: Platt scaling ``sigmoid(a*z + b)`` or temperature
scaling (``b = 0``, ``a = 1/T``). Pure numpy, so the serving path can apply what ``train/calibrate.py`` fitted.

A fitted pair is stored in the model's ``toxic.json`` as ``"calibration": {label: {"scale": a, "bias": b}}``
and applied by :class:`toxic.Classifier` to each window's logit. With ``a > 0`` the map is monotone: rankings
(ROC-AUC, PR-AUC) do not change, only what a probability means, and the thresholds are re-tuned on val.
"""

from __future__ import annotations

import numpy as np

from toxic.eval.metrics import expected_calibration_error

METHODS = ("platt", "temperature")


def logit(p: np.ndarray, eps: float = 1e-7) -> np.ndarray:
    """The logit of float32 probabilities, clipped where float32 sigmoid saturated."""
    p = np.clip(np.asarray(p, dtype=np.float64), eps, 1 - eps)
    return np.log(p) - np.log1p(-p)


def sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-z))


def _log_loss(z: np.ndarray, y: np.ndarray, a: float, b: float) -> float:
    s = a * z + b
    return float(np.mean(np.logaddexp(0, s) - y * s))  # -[y log p + (1-y) log(1-p)], stable


def fit(z: np.ndarray, y: np.ndarray, method: str = "platt", steps: int = 100) -> tuple[float, float]:
    """``(scale, bias)`` minimising the log loss of ``sigmoid(scale*z + bias)`` on (z, y): damped Newton steps."""
    if method not in METHODS:
        raise ValueError(f"unknown calibration method {method!r}: choose one of {', '.join(METHODS)}")
    z, y = np.asarray(z, dtype=np.float64), np.asarray(y, dtype=np.float64)
    if len(np.unique(y)) < 2:
        raise ValueError("calibration needs both classes in y")
    x = np.stack([z, np.ones_like(z)], axis=1) if method == "platt" else z[:, None]
    w = np.array([1.0, 0.0]) if method == "platt" else np.array([1.0])
    params = lambda w: (w[0], w[1] if method == "platt" else 0.0)  # noqa: E731
    loss = _log_loss(z, y, *params(w))
    for _ in range(steps):
        p = sigmoid(x @ w)
        grad = x.T @ (p - y) / len(y)
        hess = (x * (p * (1 - p))[:, None]).T @ x / len(y) + 1e-9 * np.eye(len(w))
        step = np.linalg.solve(hess, grad)
        for _ in range(30):  # halve the step until the loss does not grow
            candidate = w - step
            new = _log_loss(z, y, *params(candidate))
            if new <= loss + 1e-12:
                break
            step = step / 2
        else:
            break
        converged = loss - new < 1e-10
        w, loss = candidate, new
        if converged:
            break
    a, b = params(w)
    return float(a), float(b)


def apply(z: np.ndarray, scale: float, bias: float) -> np.ndarray:
    return sigmoid(scale * np.asarray(z, dtype=np.float64) + bias)


def held_out_ece(
    z: np.ndarray, y: np.ndarray, method: str = "platt", splits: int = 10, seed: int = 0
) -> tuple[float, float]:
    """Mean ECE on held-out halves, ``(before, after)``: fit on one random half, measure on the other, both ways,
    over ``splits`` halvings. In-sample ECE after a fit flatters it; this does not."""
    y = np.asarray(y)
    rng = np.random.default_rng(seed)
    before, after = [], []
    for _ in range(splits):
        half = rng.permutation(len(y)) < len(y) // 2
        for fit_on in (half, ~half):
            a, b = fit(z[fit_on], y[fit_on], method)
            before.append(expected_calibration_error(y[~fit_on], sigmoid(z[~fit_on])))
            after.append(expected_calibration_error(y[~fit_on], apply(z[~fit_on], a, b)))
    return float(np.mean(before)), float(np.mean(after))

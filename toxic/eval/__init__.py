"""Evaluation: metrics, calibration, perturbations and the evaluation suite (extra: eval)."""

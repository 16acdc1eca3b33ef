"""Evaluation: metrics, calibration, perturbations, our functional suite and the evaluation suite (extra: eval)."""

"""Monitoring: the prediction log and its sinks, the reference profile, drift reports and alerts (extra: monitor)."""

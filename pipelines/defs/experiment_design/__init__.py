"""Experiment design domain: the geo tests to run next (default designs per channel and\nthe ranked next experiments), proposed after the models and marts."""

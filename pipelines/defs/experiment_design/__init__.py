"""Experiment design domain: the geo tests to run next, proposed after the models and marts."""

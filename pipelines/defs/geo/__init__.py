"""Geo domain: the analysis of every geo test of the experiments feed."""

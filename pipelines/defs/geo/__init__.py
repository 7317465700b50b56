"""Geo domain: the analysis of every geo test and a default design per paid channel."""

import dagster as dg

from pipelines.defs.geo.assets import geo_test_designs, geo_test_results

defs = dg.Definitions(assets=[geo_test_results, geo_test_designs])

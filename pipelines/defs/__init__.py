"""Dagster definitions, one folder per domain: ingest, geo, mmm, marts, dashboards."""

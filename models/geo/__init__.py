"""Geo-test analysis and design (no Dagster, no files)."""

from models.geo.types import DesignProposal, GeoTest, GeoTestResult, LiftMeasurement

__all__ = ["DesignProposal", "GeoTest", "GeoTestResult", "LiftMeasurement"]

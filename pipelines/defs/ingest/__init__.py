"""Ingest domain: feed assets with their guard and GX checks, and the weekly panel."""

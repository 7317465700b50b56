"""Dashboards domain: the self-contained HTML pages, written last."""

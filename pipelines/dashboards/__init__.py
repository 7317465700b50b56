"""Dashboards: Plotly pages, each one self-contained HTML file that opens with no network.

``read_dashboard_data(conn, min_cell)`` reads the warehouse (small cells suppressed);
``render_pages(data)`` returns ``{file name: HTML}``; ``write_pages(pages, folder)`` writes them;
``rebuild_from_warehouse(settings)`` does all three with a short read-only visit (for callers
outside Dagster, e.g. after a failed refresh, so the pages show the failed model status).
"""

from __future__ import annotations

from pathlib import Path

from pipelines.dashboards import data_privacy, geo_tests, index, model
from pipelines.dashboards.data import DashboardData, read_dashboard_data
from pipelines.settings import Settings

RENDERERS = {
    "index.html": index.render,
    "model.html": model.render,
    "geo_tests.html": geo_tests.render,
    "data_privacy.html": data_privacy.render,
}


def render_pages(data: DashboardData) -> dict[str, str]:
    """File name -> whole HTML page, for every page."""
    return {name: render(data) for name, render in RENDERERS.items()}


def write_pages(pages: dict[str, str], folder: Path) -> dict[str, Path]:
    """Write each page to ``folder`` (created), atomically per file; return the paths."""
    folder.mkdir(parents=True, exist_ok=True)
    out = {}
    for name, text in pages.items():
        tmp = folder / f".{name}.tmp"
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(folder / name)
        out[name] = folder / name
    return out


def rebuild_from_warehouse(settings: Settings) -> dict[str, Path]:
    """Read the warehouse read-only (closed before rendering) and rewrite every page."""
    import duckdb

    with duckdb.connect(str(settings.warehouse), read_only=True) as conn:
        data = read_dashboard_data(conn, settings.min_cell)
    return write_pages(render_pages(data), settings.output_dir / "dashboards")


__all__ = [
    "rebuild_from_warehouse",
    "DashboardData",
    "read_dashboard_data",
    "render_pages",
    "write_pages",
]

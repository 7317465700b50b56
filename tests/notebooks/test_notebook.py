"""The analyst notebook runs top to bottom (nbclient) on a refreshed sample warehouse."""

from __future__ import annotations

import json
from pathlib import Path

import nbformat
import pytest

REPO = Path(__file__).resolve().parents[2]
NOTEBOOK = REPO / "notebooks" / "analyst_walkthrough.ipynb"

pytestmark = pytest.mark.slow


def test_notebook_is_stored_without_outputs():
    nb = json.loads(NOTEBOOK.read_text(encoding="utf-8"))
    for cell in nb["cells"]:
        if cell["cell_type"] == "code":
            assert cell.get("outputs") == [] and cell.get("execution_count") is None


def test_notebook_executes_on_the_sample(sample_refreshed, monkeypatch):
    from nbclient import NotebookClient

    for key, value in sample_refreshed.items():
        monkeypatch.setenv(key, value)
    nb = nbformat.read(NOTEBOOK, as_version=4)
    NotebookClient(
        nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(REPO)}}
    ).execute()
    shown = "\n".join(
        str(o.get("data", {}).get("text/plain", "")) + str(o.get("text", ""))
        for c in nb.cells
        if c.cell_type == "code"
        for o in c.outputs
    )
    assert "probability the scenario beats current spend" in shown
    assert "pac" in shown
    assert "expected_lift" in shown  # the next-experiment ranking
    figures = [
        o["data"]["application/vnd.plotly.v1+json"]
        for c in nb.cells
        if c.cell_type == "code"
        for o in c.outputs
        if "application/vnd.plotly.v1+json" in o.get("data", {})
    ]
    assert any(t.get("fill") == "toself" for f in figures for t in f["data"]), "the 90% band"

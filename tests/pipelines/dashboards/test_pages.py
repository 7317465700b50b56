"""Page builders are pure: frames in, one self-contained HTML page out."""

from __future__ import annotations

import re

import polars as pl
import pytest
from dashboard_fakes import T0, T1, WINDOW, fake_frames

from pipelines.dashboards import render_pages
from pipelines.dashboards.data import from_frames
from pipelines.dashboards.index import headline
from pipelines.dashboards.page import PAGES, usd


@pytest.fixture(scope="module")
def pages() -> dict[str, str]:
    return render_pages(from_frames(fake_frames(), min_cell=11))


def body(html: str) -> str:
    """The page without its inlined plotly.js bundle."""
    return re.sub(r"<script type=\"text/javascript\">.*?</script>", "", html, count=1, flags=re.S)


def test_every_page_is_self_contained(pages):
    assert set(pages) == set(PAGES)
    for name, html in pages.items():
        assert html.startswith("<!DOCTYPE html>"), name
        assert "Plotly" in html and len(html) > 3_000_000, name  # plotly.js inlined
        rest = body(html)
        assert not re.search(r"<script[^>]+src=", rest), name
        assert not re.search(r"<link[^>]+href=", rest), name
        assert not re.search(r"(src|href)=\"(https?:)?//", rest), name
        assert "@import" not in rest and "url(" not in rest, name


def test_every_page_states_refresh_and_window(pages):
    for name, html in pages.items():
        assert f"{T1:%Y-%m-%d %H:%M} UTC" in html, name
        assert f"{WINDOW[0]:%Y-%m-%d} to {WINDOW[1]:%Y-%m-%d}" in html, name


def test_index_shows_warehouse_numbers_and_links(pages):
    html = body(pages["index.html"])
    pac = fake_frames()["pac"]
    for r in pac.iter_rows(named=True):
        assert f'data-key="{r["channel"]}"' in html
        assert usd(r["pac"]) in html and usd(r["pac_lo"]) in html and usd(r["pac_hi"]) in html
    for name in ("model.html", "geo_tests.html", "data_privacy.html"):
        assert f'href="{name}"' in html
    for fig in ("fig-pac", "fig-media-baseline", "fig-budget"):
        assert f'id="{fig}"' in html
    assert "Compared with the refresh of " + f"{T0:%Y-%m-%d %H:%M}" in html
    assert "93%" in html  # probability the plan beats current spend
    assert "extrapolated" in html  # the budget warning is shown


def test_headline_is_plain_language():
    row = fake_frames()["pac"].row(0, named=True)
    text = headline(row, {"current_spend": 100.0, "recommended_spend": 130.0})
    assert text.startswith("paid_search: each new patient it brought in cost about $127")
    assert "54% cheaper than it is" in text  # last-touch PAC $58 vs MMM $127
    assert "consistent with the model" in text
    assert "raises its spend by 30%" in text
    tv = fake_frames()["pac"].row(2, named=True)  # last touch $11,429 vs $308
    assert "about 37 times the real cost" in headline(tv, None)
    missing = {**row, "pac": None}
    assert "unknown" in headline(missing, None)


def test_model_page_shows_a_failed_fit_as_failed():
    html = render_pages(from_frames(fake_frames(converged=False), min_cell=11))["model.html"]
    assert "FAILED its gates" in html and "r_hat 1.3" in html
    index = render_pages(from_frames(fake_frames(converged=False), min_cell=11))["index.html"]
    assert "Latest model fit failed its gates" in index
    ok = render_pages(from_frames(fake_frames(), min_cell=11))["model.html"]
    assert "passed its gates" in ok and 'id="fig-response"' in ok and 'id="fig-fit"' in ok


def test_geo_and_privacy_pages(pages):
    geo = body(pages["geo_tests.html"])
    assert 'id="fig-test-search_holdout_1"' in geo and "0.020" in geo
    assert "g01, g02" in geo  # proposed design
    priv = body(pages["data_privacy.html"])
    assert "phone(notes)=3" in priv and "rejected" in priv
    assert "CLEARCOUNT_MIN_CELL = 11" in priv


def test_pages_render_before_any_model_exists():
    empty = {k: pl.DataFrame() for k in fake_frames()}
    pages = render_pages(from_frames(empty, min_cell=11))
    assert "No PAC yet" in pages["index.html"]
    assert "No model fit recorded yet" in pages["model.html"]


def test_unbounded_geo_interval_reads_as_open_ended():
    row = {**fake_frames()["pac"].row(0, named=True), "geo_test_pac_hi": None}
    text = headline(row, None)
    assert "($90 or more), consistent with the model" in text

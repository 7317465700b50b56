"""Page builders are pure: frames in, one self-contained HTML page out."""

from __future__ import annotations

import re

import polars as pl
import pytest
from dashboard_fakes import T0, T1, WINDOW, fake_frames

from pipelines.dashboards import render_pages
from pipelines.dashboards.data import from_frames
from pipelines.dashboards.index import headline
from pipelines.dashboards.page import PAGES, label, log_ticks, usd


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
    assert text.startswith("Paid search: about $127 per new patient")
    assert "54% too cheap" in text  # last-touch PAC $58 vs MMM $127
    assert "consistent with the model" in text
    assert "raises its spend by 30%" in text
    tv = fake_frames()["pac"].row(2, named=True)  # last touch $11,429 vs $308
    assert "37 times the real cost" in headline(tv, None)
    missing = {**row, "pac": None}
    assert "unknown" in headline(missing, None)


def test_an_inconclusive_test_reads_as_inconclusive_everywhere(pages):
    """The social test: effect -225 to 331 new patients, p = 0.87, PAC $4,250 ($323 or more)."""
    social = fake_frames()["pac"].row(1, named=True)
    text = headline(social, None)
    assert "inconclusive" in text and "measured" not in text and "$4,250" not in text
    index = body(pages["index.html"])
    assert "$4,250" not in index
    table = re.search(r'<table id="pac-table">.*?</table>', index, re.S).group(0)
    row = re.search(r'<tr data-key="social">.*?</tr>', table, re.S).group(0)
    assert "inconclusive" in row and "$323 or more (open)" in row
    assert "geo test inconclusive (no upper bound)" in index  # the chart's open interval
    geo = body(pages["geo_tests.html"])
    test_row = re.search(r'<tr data-key="social_scale_up_1">.*?</tr>', geo, re.S).group(0)
    assert "inconclusive" in test_row and "not measured ($323 or more)" in test_row
    assert "$4,250" not in geo
    assert 'data-status="inconclusive"' in geo and "cannot tell the channel" in geo


def test_summary_leads_with_the_answer(pages):
    index = body(pages["index.html"])
    answer = index[index.index('<section id="answer">') : index.index("</section>")]
    assert 'id="fig-pac"' in answer and 'id="recommendation"' in answer
    rec = re.search(r'<p id="recommendation">(.*?)</p>', answer).group(1)
    assert rec.startswith("Move budget to Paid search from Social and TV")
    assert "beats current spend in 93%" in rec
    assert "20 new patients (90% interval -4 to 47)" in answer
    assert "plus or minus 30%" in answer and "2 of 3 channels sit on a bound" in answer
    assert "Paid search at the upper bound" in answer and "Social at the lower bound" in answer
    assert "risk-neutral" in answer and "CVaR" in answer and "97% of draws" in answer
    assert 'id="kpi-media-pac"' in answer and 'id="kpi-blended-pac"' in answer
    # ranked cheapest first: paid_search $127, social $207, tv $308 (top to bottom)
    assert index.index('"categoryarray":["TV","Social","Paid search"]') > 0
    assert "paid_search" not in re.sub(r'data-key="[a-z_]+"|"meta":"[a-z_]+"', "", answer)


def test_the_next_experiment_is_on_the_summary_and_the_geo_page(pages):
    index = body(pages["index.html"])
    assert "Run this next: a geo test of Social" in index
    proposal = re.search(r'<p id="next-proposal">(.*?)</p>', index).group(1)
    assert "8-week holdout" in proposal and "North valley (g01), Harbor district (g02)" in proposal
    assert "$148 – $296" in proposal and "$171 – $246" in proposal and "49% narrower" in proposal
    geo = body(pages["geo_tests.html"])
    assert 'id="next-experiments-table"' in geo and 'data-key="tv"' in geo


def test_channels_keep_one_colour_and_a_label_on_every_page(pages):
    ctx = from_frames(fake_frames(), min_cell=11).ctx
    colours = {c: ctx.color(c) for c in ctx.channels}
    assert len(set(colours.values())) == len(colours)
    for name in ("index.html", "model.html"):
        html = body(pages[name])
        for c, colour in colours.items():
            assert colour in html, (name, c)
    model = body(pages["model.html"])
    assert '"name":"Paid search"' in model and '"name":"paid_search"' not in model
    assert "Paid search (extrapolated)" in model and '"dash":"dot"' in model


def test_glossary_defines_the_terms(pages):
    index = body(pages["index.html"])
    for term in ("PAC (patient acquisition cost)", "Marginal PAC", "Last touch", "Baseline"):
        assert f"<dt>{term}</dt>" in index
    assert "MDE (minimum detectable effect)" in index


def test_model_page_shows_a_failed_fit_as_failed():
    html = render_pages(from_frames(fake_frames(converged=False), min_cell=11))["model.html"]
    assert "FAILED its gates" in html and "r_hat 1.3" in html
    index = render_pages(from_frames(fake_frames(converged=False), min_cell=11))["index.html"]
    assert "Latest model fit failed its gates" in index
    ok = render_pages(from_frames(fake_frames(), min_cell=11))["model.html"]
    assert "passed its gates" in ok and 'id="fig-response"' in ok and 'id="fig-fit"' in ok


def test_model_page_gives_pass_fail_to_gates_only():
    frames = fake_frames()
    frames["diagnostics"] = pl.concat(
        [
            frames["diagnostics"],
            pl.DataFrame(
                {
                    "metric": ["n_draws", "holdout_mape", "ppc_coverage_90"],
                    "value": [3000.0, 0.031, 0.903],
                    "threshold": [None, None, 0.9],
                    "passed": [None, None, None],
                },
                schema=frames["diagnostics"].schema,
            ),
        ]
    )
    html = body(render_pages(from_frames(frames, min_cell=11))["model.html"])
    table = re.search(r'<table id="diagnostics-table">.*?</table>', html, re.S).group(0)
    assert table.count("information, not a gate") == 3
    assert table.count(">passed<") == 3 and ">failed<" not in table
    assert ">3,000<" in table and ">850<" in table and ">0<" in table  # whole numbers
    assert "3,000.000" not in table and "850.000" not in table


def test_geo_and_privacy_pages(pages):
    geo = body(pages["geo_tests.html"])
    assert 'id="fig-test-search_holdout_1"' in geo and "p = 0.02" in geo
    assert "North valley (g01), Harbor district (g02)" in geo  # proposed design, labelled
    priv = body(pages["data_privacy.html"])
    assert "phone(notes)=3" in priv and "rejected" in priv
    assert "phone: remove the personal data" in priv  # what the data owner should do
    assert "Only CSV (UTF-8) and Parquet files are read" in priv
    assert "CLEARCOUNT_MIN_CELL = 11" in priv


def test_pages_render_before_any_model_exists():
    empty = {k: pl.DataFrame() for k in fake_frames()}
    pages = render_pages(from_frames(empty, min_cell=11))
    assert "No PAC yet" in pages["index.html"]
    assert "No model fit recorded yet" in pages["model.html"]


def test_unbounded_interval_of_a_test_without_status_reads_as_inconclusive():
    """A warehouse made before geo_test_status: the open interval alone marks it."""
    row = {**fake_frames()["pac"].row(0, named=True), "geo_test_pac_hi": None}
    row.pop("geo_test_status")
    assert "inconclusive" in headline(row, None)


def test_log_ticks_are_round_dollars():
    assert log_ticks(80, 900) == [100, 200, 500]
    assert log_ticks(3, 90_000) == [10, 100, 1000, 10_000]
    assert label("direct_mail") == "Direct mail" and label("ctv") == "CTV"

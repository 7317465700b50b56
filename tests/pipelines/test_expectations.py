"""GX suites on staged tables: the sample passes, broken frames fail, no value is returned."""

from __future__ import annotations

import json
from pathlib import Path

import dagster as dg
import pandas as pd
import pytest
from dagster_duckdb import DuckDBResource

from pipelines.expectations import ExpectationError, build_suite, validate_staged
from pipelines.feeds import FEED_ORDER

SAMPLE = Path(__file__).resolve().parents[2] / "data" / "sample"


@pytest.fixture(scope="module")
def staged(tmp_path_factory: pytest.TempPathFactory) -> dict[str, pd.DataFrame]:
    """The sample feeds loaded into a throwaway warehouse, as pandas frames."""
    if not (SAMPLE / "markets").is_dir():
        pytest.skip("data/sample not committed yet")
    from pipelines.ingest import load_feed
    from pipelines.warehouse import connect

    conn = connect(tmp_path_factory.mktemp("wh") / "w.duckdb")
    try:
        for feed in FEED_ORDER:
            load_feed(conn, feed, SAMPLE)
        return {feed: conn.sql(f"SELECT * FROM staging.{feed}").df() for feed in FEED_ORDER}
    finally:
        conn.close()


def test_suites_are_declared_for_every_feed() -> None:
    for feed in FEED_ORDER:
        suite = build_suite(feed, {"021"})
        kinds = {e.expectation_type for e in suite.expectations}
        assert "expect_table_columns_to_match_set" in kinds
        assert kinds & {"expect_compound_columns_to_be_unique", "expect_column_values_to_be_unique"}
    kinds = {e.expectation_type for e in build_suite("calls").expectations}
    assert "expect_column_pair_values_a_to_be_greater_than_b" in kinds


@pytest.mark.slow
def test_sample_staged_tables_pass(staged: dict[str, pd.DataFrame]) -> None:
    geos = set(staged["markets"]["geo"])
    for feed, frame in staged.items():
        summary = validate_staged(feed, frame, None if feed == "markets" else geos)
        failed = [e for e in summary["expectations"] if not e["success"]]
        assert summary["success"], (feed, failed)
        assert summary["rows"] == len(frame)


@pytest.mark.slow
def test_broken_frame_fails_without_values(staged: dict[str, pd.DataFrame]) -> None:
    frame = staged["calls"].head(20).copy()
    frame.loc[0, "calls"] = -5
    frame.loc[1, "new_patient_calls"] = frame.loc[1, "calls"] + 3
    frame.loc[2, "channel"] = "canary99@example.org"
    frame.loc[3, "geo"] = "canary_geo"
    frame = pd.concat([frame, frame.iloc[[5]]], ignore_index=True)
    summary = validate_staged("calls", frame, set(staged["markets"]["geo"]))
    assert not summary["success"]
    failed = {(e["expectation"], e["column"]) for e in summary["expectations"] if not e["success"]}
    assert ("expect_column_values_to_be_between", "calls") in failed
    assert (
        "expect_column_pair_values_a_to_be_greater_than_b",
        "new_patient_calls<=calls",
    ) in failed
    assert ("expect_column_values_to_match_regex", "channel") in failed
    assert ("expect_column_values_to_be_in_set", "geo") in failed
    assert ("expect_compound_columns_to_be_unique", "week_start+geo+channel") in failed
    text = json.dumps(summary)
    assert "canary" not in text and "partial_unexpected" not in text


@pytest.mark.slow
def test_extra_column_fails(staged: dict[str, pd.DataFrame]) -> None:
    frame = staged["markets"].copy()
    frame["notes"] = "x"
    summary = validate_staged("markets", frame)
    assert not summary["success"]
    assert summary["failed"] == 1


def test_unknown_feed_is_refused() -> None:
    with pytest.raises(ExpectationError):
        validate_staged("patients", pd.DataFrame())


@pytest.mark.slow
def test_gx_checks_run_in_dagster(tmp_path: Path) -> None:
    if not (SAMPLE / "markets").is_dir():
        pytest.skip("data/sample not committed yet")
    from pipelines.defs.ingest.assets import feed_assets
    from pipelines.defs.ingest.gx_checks import build_gx_checks
    from pipelines.resources import ClearcountSettings

    result = dg.materialize(
        [*feed_assets, *build_gx_checks()],
        resources={
            "duckdb": DuckDBResource(database=str(tmp_path / "w.duckdb")),
            "settings": ClearcountSettings(
                landing_dir=str(SAMPLE), warehouse=str(tmp_path / "w.duckdb")
            ),
        },
    )
    assert result.success
    evaluations = result.get_asset_check_evaluations()
    gx = [e for e in evaluations if e.check_name == "gx_suite"]
    assert len(gx) == len(FEED_ORDER)
    assert all(e.passed for e in gx)
    assert all("expectations_failed" in e.metadata for e in gx)

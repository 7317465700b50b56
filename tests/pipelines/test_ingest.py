"""Ingestion: scan before load, one transaction per feed, idempotent, restatements, bad files."""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import duckdb
import polars as pl
import pytest

from pipelines import ingest
from pipelines.feeds import FEED_ORDER
from pipelines.ingest import IngestError, MissingFeedError, list_feed_files, load_feed

SMALL_MARKETS = Path(__file__).resolve().parents[1] / "fixtures/ingest/small/markets/markets.csv"
SENTINEL = "9Q7Z"  # a value that must never show up in any message


def load_all(conn: duckdb.DuckDBPyConnection, landing: Path) -> dict[str, ingest.FeedLoad]:
    return {feed: load_feed(conn, feed, landing) for feed in FEED_ORDER}


def snapshot(conn: duckdb.DuckDBPyConnection, table: str) -> list[tuple]:
    return conn.execute(f"SELECT * FROM {table} ORDER BY ALL").fetchall()


def csv_rows(path: Path) -> list[dict[str, str]]:
    with open(path, newline="") as handle:
        return list(csv.DictReader(handle))


def test_loads_every_feed_with_types_and_lineage(warehouse, small_landing):
    loads = load_all(warehouse, small_landing)
    assert all(load.accepted and load.changed for load in loads.values())
    assert loads["markets"].staged_rows == 3
    assert loads["spend"].staged_rows == 3 * 8 * 2
    assert loads["calls"].staged_rows == 3 * 8 * 2
    assert loads["controls"].staged_rows == 3 * 8
    types = dict(
        warehouse.execute(
            "SELECT column_name, data_type FROM duckdb_columns() "
            "WHERE schema_name = 'staging' AND table_name = 'spend'"
        ).fetchall()
    )
    assert types["week_start"] == "DATE" and types["spend"] == "DECIMAL(18,2)"
    scans = warehouse.execute(
        "SELECT feed, file_name, verdict, rules, rows FROM audit.file_scans ORDER BY feed, file_name"
    ).fetchall()
    assert len(scans) == 7 and all(v == "accepted" and r == "" for _, _, v, r, _ in scans)
    loaded = warehouse.execute(
        "SELECT file_name, rows FROM audit.loaded_files WHERE feed = 'spend' ORDER BY file_name"
    ).fetchall()
    assert loaded == [("spend_2024_01.csv", 48), ("spend_2024_02_restated.csv", 12)]
    calls = csv_rows(small_landing / "calls" / "calls.csv")
    total = warehouse.execute("SELECT sum(new_patient_calls) FROM staging.calls").fetchall()[0][0]
    assert total == sum(int(r["new_patient_calls"]) for r in calls)


def test_restatement_replaces_rows_it_restates(warehouse, small_landing):
    load_all(warehouse, small_landing)
    restated = csv_rows(small_landing / "spend" / "spend_2024_02_restated.csv")
    original = {
        (r["week_start"], r["geo"], r["channel"]): r["spend"]
        for r in csv_rows(small_landing / "spend" / "spend_2024_01.csv")
    }
    staged = {
        (str(w), g, c): (f"{s:.2f}", f)
        for w, g, c, s, f in warehouse.execute(
            "SELECT week_start, geo, channel, spend, _file FROM staging.spend"
        ).fetchall()
    }
    assert len(staged) == len(original)
    for row in restated:
        key = (row["week_start"], row["geo"], row["channel"])
        assert staged[key] == (row["spend"], "spend_2024_02_restated.csv")
        assert original[key] != row["spend"]
    untouched = set(original) - {(r["week_start"], r["geo"], r["channel"]) for r in restated}
    assert all(staged[k] == (original[k], "spend_2024_01.csv") for k in untouched)


def test_second_load_with_same_files_changes_nothing(warehouse, small_landing):
    load_all(warehouse, small_landing)
    before = {t: snapshot(warehouse, t) for t in ("staging.spend", "audit.loaded_files")}
    scans = snapshot(warehouse, "audit.file_scans")
    again = load_all(warehouse, small_landing)
    assert not any(load.changed for load in again.values())
    assert all(not f.scanned for load in again.values() for f in load.files)
    assert {t: snapshot(warehouse, t) for t in before} == before
    assert snapshot(warehouse, "audit.file_scans") == scans


def test_new_file_triggers_scan_of_new_file_only_and_rebuild(warehouse, small_landing):
    load_all(warehouse, small_landing)
    extra = small_landing / "spend" / "spend_2024_03.csv"
    extra.write_text("week_start,geo,channel,spend\n2024-02-26,CA,tv,99.00\n")
    load = load_feed(warehouse, "spend", small_landing)
    assert load.changed and load.accepted
    assert [f.scanned for f in load.files] == [False, False, True]
    assert load.staged_rows == 49
    row = warehouse.execute(
        "SELECT spend, _file FROM staging.spend WHERE week_start = '2024-02-26'"
    ).fetchall()
    assert [(float(s), f) for s, f in row] == [(99.0, "spend_2024_03.csv")]


def test_removed_file_takes_its_rows_out(warehouse, small_landing):
    load_all(warehouse, small_landing)
    (small_landing / "spend" / "spend_2024_02_restated.csv").unlink()
    load = load_feed(warehouse, "spend", small_landing)
    assert load.changed
    files = warehouse.execute("SELECT DISTINCT _file FROM staging.spend").fetchall()
    assert files == [("spend_2024_01.csv",)]
    assert warehouse.execute(
        "SELECT file_name FROM audit.loaded_files WHERE feed = 'spend'"
    ).fetchall() == [("spend_2024_01.csv",)]


def test_parquet_file_loads_like_csv(warehouse, small_landing, tmp_path):
    load_all(warehouse, small_landing)
    csv_version = snapshot(warehouse, "staging.calls")
    src = small_landing / "calls" / "calls.csv"
    frame = pl.read_csv(src, schema_overrides={"week_start": pl.Date})
    frame.write_parquet(small_landing / "calls" / "calls.parquet")
    src.unlink()
    load = load_feed(warehouse, "calls", small_landing)
    assert load.accepted and load.changed
    parquet_version = snapshot(warehouse, "staging.calls")
    assert [r[:5] for r in parquet_version] == [r[:5] for r in csv_version]


def test_listing_ignores_other_files_and_orders_by_name(small_landing):
    folder = small_landing / "spend"
    (folder / "README.md").write_text("notes")
    (folder / ".hidden.csv").write_text("x")
    (folder / "sub").mkdir()
    names = [p.name for p in list_feed_files(small_landing, "spend")]
    assert names == ["spend_2024_01.csv", "spend_2024_02_restated.csv"]


def test_missing_required_feed_folder_is_named(warehouse, small_landing):
    shutil.rmtree(small_landing / "calls")
    with pytest.raises(MissingFeedError, match="'calls'") as info:
        load_feed(warehouse, "calls", small_landing)
    assert str(small_landing / "calls") in str(info.value)


def test_missing_optional_controls_folder_means_no_rows(warehouse, small_landing):
    load_all(warehouse, small_landing)
    shutil.rmtree(small_landing / "controls")
    load = load_feed(warehouse, "controls", small_landing)
    assert load.accepted and not load.folder_present and load.files == ()
    assert load.staged_rows == 0


H = "week_start,geo,channel,spend\n"
OK = "2024-01-08,CA,tv,10.00\n"
BAD_FILES = {
    "wrong_columns": (
        "week_start,geo,channel,amount\n" + f"2024-01-08,CA,tv,{SENTINEL}\n",
        {"missing_column", "unknown_column"},
    ),
    "wrong_type": (H + OK + f"2024-01-08,NY,tv,{SENTINEL}\n", {"bad_type"}),
    "not_monday": (H + "2024-01-09,CA,tv,10.00\n", {"not_monday"}),
    "duplicate_key": (H + OK + OK, {"duplicate_key"}),
    "negative_spend": (H + OK + "2024-01-08,NY,tv,-5.00\n", {"negative_value"}),
    "truncated": (H + OK + "2024-01-08,NY,t", {"unreadable"}),
    "empty": ("", {"unreadable"}),
    "unknown_geo": (H + f"2024-01-08,{SENTINEL},tv,1.00\n", {"unknown_geo"}),
}


@pytest.mark.parametrize("case", sorted(BAD_FILES))
def test_bad_file_is_rejected_whole_and_warehouse_keeps_previous_state(
    warehouse, small_landing, case
):
    load_all(warehouse, small_landing)
    staged = snapshot(warehouse, "staging.spend")
    loaded = snapshot(warehouse, "audit.loaded_files")
    text, rules = BAD_FILES[case]
    bad = small_landing / "spend" / f"spend_2024_03_{case}.csv"
    bad.write_text(text)

    load = load_feed(warehouse, "spend", small_landing)

    assert not load.accepted and not load.changed
    (rejected,) = load.rejected
    assert rejected.file_name == bad.name
    assert rules & {hit.split("(")[0].split("=")[0] for hit in rejected.rules.split("; ")}
    message = load.rejection_text()
    assert bad.name in message and rejected.sha256 in message
    assert any(rule in message for rule in rules)
    assert SENTINEL not in message and "10.00" not in message
    assert snapshot(warehouse, "staging.spend") == staged
    assert snapshot(warehouse, "audit.loaded_files") == loaded
    scans = warehouse.execute(
        "SELECT verdict, rules, sha256 FROM audit.file_scans WHERE file_name = ?", [bad.name]
    ).fetchall()
    assert [(v, s) for v, _, s in scans] == [("rejected", ingest.sha256_of(bad))]
    assert SENTINEL not in scans[0][1]

    # Removing the bad file lets the feed load again, with its earlier rows intact.
    bad.unlink()
    again = load_feed(warehouse, "spend", small_landing)
    assert again.accepted and not again.changed
    assert snapshot(warehouse, "staging.spend") == staged


def test_rejected_file_in_first_load_leaves_staging_empty(warehouse, small_landing):
    load_feed(warehouse, "markets", small_landing)
    (small_landing / "spend" / "spend_2024_02_restated.csv").write_text(H + OK + OK)
    load = load_feed(warehouse, "spend", small_landing)
    assert not load.accepted
    assert [f.verdict for f in load.files] == ["accepted", "rejected"]
    assert load.staged_rows == 0


def test_database_errors_are_wrapped_without_values(warehouse, small_landing, monkeypatch):
    """Even if a file slipped past the guard, a failing load rolls back and quotes nothing."""
    load_all(warehouse, small_landing)
    staged = snapshot(warehouse, "staging.spend")
    bad = small_landing / "spend" / "spend_2024_03.csv"
    bad.write_text(H + f"2024-01-08,CA,tv,{SENTINEL}\n")
    real_scan = ingest.scan_paths

    def lenient(paths, feed, known_geos):
        results = real_scan(paths, feed, known_geos)
        return [type(r)(r.path, r.file_name, r.sha256, r.feed, r.rows, hits=()) for r in results]

    monkeypatch.setattr(ingest, "scan_paths", lenient)
    with pytest.raises(IngestError) as info:
        load_feed(warehouse, "spend", small_landing)
    assert SENTINEL not in str(info.value)
    assert info.value.__cause__ is None and info.value.__suppress_context__
    assert "staging.spend keeps its previous rows" in str(info.value)
    assert snapshot(warehouse, "staging.spend") == staged


def test_geos_are_checked_against_staged_markets(warehouse, small_landing):
    load_all(warehouse, small_landing)
    (small_landing / "markets" / "markets.csv").write_text(
        "geo,geo_type,population,label\nCA,state,39000000,California\nNY,state,19500000,New York\n"
    )
    assert load_feed(warehouse, "markets", small_landing).changed
    calls = load_feed(warehouse, "calls", small_landing)
    # calls.csv is unchanged but was loaded before the markets changed: it is scanned again
    assert [f.scanned for f in calls.files] == [True]
    assert not calls.accepted and not calls.changed
    assert "unknown_geo(geo)=16" in calls.rejection_text()
    # with TX back in the markets, the same file is accepted again and nothing is reloaded
    (small_landing / "markets" / "markets.csv").write_text((SMALL_MARKETS).read_text())
    assert load_feed(warehouse, "markets", small_landing).changed
    calls = load_feed(warehouse, "calls", small_landing)
    assert calls.accepted and not calls.changed and [f.scanned for f in calls.files] == [True]
    calls = load_feed(warehouse, "calls", small_landing)
    assert [f.scanned for f in calls.files] == [False]

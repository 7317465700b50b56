"""The warehouse: schema files, staging tables typed per the feed contract, SQL loading, locks."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest

from pipelines.feeds import FEEDS, ColumnType
from pipelines.warehouse import (
    SQL_DIR,
    WarehouseError,
    apply_schema,
    connect,
    refresh_lock,
    schema_files,
    sql_text,
)

DUCKDB_TYPE = {
    ColumnType.DATE: "DATE",
    ColumnType.MONDAY: "DATE",
    ColumnType.INTEGER: "BIGINT",
    ColumnType.MONEY: "DECIMAL(18,2)",
    ColumnType.NUMBER: "DOUBLE",
    ColumnType.SLUG: "VARCHAR",
    ColumnType.GEO: "VARCHAR",
    ColumnType.TEXT: "VARCHAR",
    ColumnType.ENUM: "VARCHAR",
}


def columns(conn: duckdb.DuckDBPyConnection, table: str) -> list[tuple[str, str]]:
    return [(r[0], r[1]) for r in conn.execute(f"DESCRIBE {table}").fetchall()]


def test_schema_creates_every_schema_and_is_idempotent(warehouse: duckdb.DuckDBPyConnection):
    warehouse.execute(
        "INSERT INTO audit.loaded_files VALUES ('spend', 'a.csv', 'abc', 3, now()::TIMESTAMP)"
    )
    apply_schema(warehouse)  # second time: nothing dropped
    schemas = {
        r[0] for r in warehouse.execute("SELECT schema_name FROM duckdb_schemas()").fetchall()
    }
    assert {"audit", "staging", "core", "mmm", "marts"} <= schemas
    assert warehouse.execute("SELECT count(*) FROM audit.loaded_files").fetchall() == [(1,)]


def test_schema_is_created_whole_or_not_at_all(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    broken = tmp_path / "999_broken.sql"
    broken.write_text("CREATE TABLE nowhere.t (x INTEGER);")
    real = schema_files()
    monkeypatch.setattr("pipelines.warehouse.schema_files", lambda: [*real, broken])
    conn = connect(tmp_path / "w.duckdb")
    try:
        with pytest.raises(WarehouseError, match="creating the warehouse schema"):
            apply_schema(conn)
        schemas = {
            r[0] for r in conn.execute("SELECT schema_name FROM duckdb_schemas()").fetchall()
        }
        assert not {"audit", "staging", "core", "mmm", "marts"} & schemas
    finally:
        conn.close()


def test_schema_files_apply_in_name_order():
    names = [p.name for p in schema_files()]
    assert names == sorted(names)
    assert names[0].startswith("010"), "schemas must be created before their tables"


@pytest.mark.parametrize("feed", sorted(FEEDS))
def test_staging_table_matches_feed_contract(warehouse: duckdb.DuckDBPyConnection, feed: str):
    spec = FEEDS[feed]
    expected = [(c.name, DUCKDB_TYPE[c.type]) for c in spec.columns]
    expected += [("_file", "VARCHAR"), ("_sha256", "VARCHAR")]
    assert columns(warehouse, f"staging.{feed}") == expected


def test_audit_file_scans_has_contract_columns(warehouse: duckdb.DuckDBPyConnection):
    names = [c for c, _ in columns(warehouse, "audit.file_scans")]
    assert names == ["file_name", "sha256", "feed", "rows", "verdict", "rules", "scanned_at"]
    with pytest.raises(duckdb.ConstraintException):
        warehouse.execute(
            "INSERT INTO audit.file_scans VALUES ('f', 's', 'spend', 1, 'maybe', '', now()::TIMESTAMP)"
        )


def test_core_tables(warehouse: duckdb.DuckDBPyConnection):
    assert [c for c, _ in columns(warehouse, "core.weekly_panel")] == [
        "week_start",
        "geo",
        "population",
        "new_patients",
        "observed",
    ]
    assert [c for c, _ in columns(warehouse, "core.feed_coverage")] == [
        "feed",
        "geo",
        "first_week",
        "last_week",
        "weeks_with_rows",
    ]
    assert [c for c, _ in columns(warehouse, "core.weekly_spend")] == [
        "week_start",
        "geo",
        "channel",
        "spend",
    ]
    assert [c for c, _ in columns(warehouse, "core.last_touch")] == [
        "week_start",
        "geo",
        "source",
        "new_patients",
    ]


def test_sql_text_reads_files_relative_to_sql_dir():
    assert "CREATE SCHEMA IF NOT EXISTS audit" in sql_text("schema/010_schemas.sql")
    assert sql_text("core/weekly_panel.sql") == (SQL_DIR / "core" / "weekly_panel.sql").read_text()
    with pytest.raises(FileNotFoundError):
        sql_text("core/no_such_file.sql")


def test_connect_creates_parent_and_allows_readers_after_writer(tmp_path: Path):
    path = tmp_path / "deep" / "er" / "w.duckdb"
    conn = connect(path)
    apply_schema(conn)
    conn.close()
    reader = connect(path, read_only=True)
    assert reader.execute("SELECT count(*) FROM staging.spend").fetchall() == [(0,)]
    with pytest.raises(duckdb.Error):
        reader.execute("CREATE TABLE core.x (a INTEGER)")
    reader.close()


HOLD_LOCK = """
import sys, time
from pipelines.warehouse import refresh_lock
with refresh_lock(sys.argv[1]):
    print("held", flush=True)
    time.sleep(float(sys.argv[2]))
"""


def test_refresh_lock_makes_second_refresh_wait_then_proceed(tmp_path: Path):
    warehouse = tmp_path / "w.duckdb"
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD_LOCK, str(warehouse), "2"], stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        waited: list[bool] = []
        start = time.monotonic()
        with refresh_lock(warehouse, wait_seconds=30, on_wait=lambda: waited.append(True)):
            elapsed = time.monotonic() - start
        assert waited == [True]
        assert elapsed > 0.5
    finally:
        holder.wait(timeout=30)


def test_refresh_lock_gives_up_with_clear_message(tmp_path: Path):
    warehouse = tmp_path / "w.duckdb"
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD_LOCK, str(warehouse), "5"], stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        with (
            pytest.raises(WarehouseError, match="another refresh"),
            refresh_lock(warehouse, wait_seconds=0.5),
        ):
            pass
    finally:
        holder.kill()
        holder.wait(timeout=30)


def test_refresh_lock_is_released_when_holder_is_killed(tmp_path: Path):
    warehouse = tmp_path / "w.duckdb"
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD_LOCK, str(warehouse), "60"], stdout=subprocess.PIPE, text=True
    )
    assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
    holder.kill()
    holder.wait(timeout=30)
    with refresh_lock(warehouse, wait_seconds=5):
        pass


def test_old_weekly_panel_gains_observed_column(warehouse_path):
    conn = connect(warehouse_path)
    conn.execute("CREATE SCHEMA core")
    conn.execute(
        "CREATE TABLE core.weekly_panel (week_start DATE NOT NULL, geo VARCHAR NOT NULL, "
        "population BIGINT NOT NULL, new_patients BIGINT NOT NULL)"
    )
    conn.execute("INSERT INTO core.weekly_panel VALUES ('2024-01-01', 'CA', 30000, 4)")
    apply_schema(conn)
    assert conn.execute("SELECT observed FROM core.weekly_panel").fetchall() == [(True,)]
    conn.close()

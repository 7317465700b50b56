"""The content-addressed quarantine: what is loaded is what was scanned, even when the landing
file is replaced while the guard scans it."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import pytest

from pipelines import ingest
from pipelines.guard import read, scan_file
from pipelines.guard.quarantine import admit, keep_only
from pipelines.ingest import load_feed
from pipelines.warehouse import connect

SMALL = Path(__file__).resolve().parents[2] / "fixtures" / "ingest" / "small"
CALLS = "week_start,geo,channel,calls,new_patient_calls\n"
SWAPPED = CALLS + "2024-01-01,CA,swapped_in,4242,4242\n"


def test_admit_copies_once_under_the_sha256(tmp_path: Path) -> None:
    source = tmp_path / "landing.csv"
    source.write_bytes(b"week_start\n\xc3\xa9\n")
    copy = admit(source, tmp_path / "q")
    assert copy.sha256 == hashlib.sha256(source.read_bytes()).hexdigest()
    assert copy.path == tmp_path / "q" / f"{copy.sha256}.csv"
    assert copy.path.read_bytes() == source.read_bytes()
    assert (copy.size, copy.ascii, copy.utf8, copy.nul) == (
        len(source.read_bytes()),
        False,
        True,
        False,
    )
    assert not copy.path.stat().st_mode & 0o222  # read-only
    assert [p.name for p in (tmp_path / "q").iterdir()] == [copy.path.name]  # no partial copy left
    keep_only(tmp_path / "q", set())
    assert not any((tmp_path / "q").iterdir())


def test_swap_during_scan_does_not_change_the_verdict(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The landing file is replaced after it was copied, while the guard reads: the verdict
    and the sha256 are those of the bytes first read."""
    path = tmp_path / "calls.csv"
    clean = CALLS + "2024-01-01,CA,search,5,1\n"
    path.write_text(clean)
    real = read.load_csv

    def swap_then_load(conn, source, n_columns):
        path.write_text(CALLS + "2024-01-01,CA,search,5,1,ann@example.org\n")
        return real(conn, source, n_columns)

    monkeypatch.setattr("pipelines.guard.scan.load_csv", swap_then_load)
    result = scan_file(path, "calls", {"CA"})
    assert result.accepted and result.rows == 1
    assert result.sha256 == hashlib.sha256(clean.encode()).hexdigest()


def test_swap_during_load_loads_the_scanned_bytes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A landing file replaced while the guard scans it: the warehouse gets the scanned bytes,
    records their sha256, and the swapped-in rows never reach staging."""
    landing = tmp_path / "landing"
    shutil.copytree(SMALL, landing)
    target = landing / "calls" / "calls.csv"
    scanned = target.read_bytes()
    real_scan = ingest.scan_paths

    def scan_while_swapping(paths, feed, known_geos):
        if feed == "calls":
            target.write_text(SWAPPED)  # the file is replaced mid-scan
        return real_scan(paths, feed, known_geos)

    monkeypatch.setattr(ingest, "scan_paths", scan_while_swapping)
    warehouse = tmp_path / "wh" / "warehouse.duckdb"
    conn = connect(warehouse)
    try:
        assert load_feed(conn, "markets", landing).accepted
        load = load_feed(conn, "calls", landing)
        assert load.accepted and load.changed
        channels = {r[0] for r in conn.execute("SELECT channel FROM staging.calls").fetchall()}
        assert "swapped_in" not in channels
        staged = conn.execute("SELECT count(*) FROM staging.calls").fetchall()[0][0]
        assert staged == scanned.count(b"\n") - 1
        (sha,) = conn.execute(
            "SELECT sha256 FROM audit.loaded_files WHERE feed = 'calls'"
        ).fetchall()[0]
        assert sha == hashlib.sha256(scanned).hexdigest()
        quarantine = warehouse.with_name("warehouse.duckdb.quarantine") / "calls"
        assert [p.name for p in quarantine.iterdir()] == [f"{sha}.csv"]
        # the next refresh sees the swapped file as a new version and scans it
        monkeypatch.setattr(ingest, "scan_paths", real_scan)
        again = load_feed(conn, "calls", landing)
        assert [f.scanned for f in again.files] == [True]
    finally:
        conn.close()


def test_rejected_copy_is_deleted_from_the_quarantine(tmp_path: Path) -> None:
    landing = tmp_path / "landing"
    shutil.copytree(SMALL, landing)
    (landing / "calls" / "calls.csv").write_text(CALLS + "2024-01-01,CA,search,5,1,x\n")
    warehouse = tmp_path / "warehouse.duckdb"
    conn = connect(warehouse)
    try:
        load_feed(conn, "markets", landing)
        assert not load_feed(conn, "calls", landing).accepted
    finally:
        conn.close()
    quarantine = tmp_path / "warehouse.duckdb.quarantine"
    assert [p.name for p in (quarantine / "calls").iterdir()] == []
    assert len(list((quarantine / "markets").iterdir())) == 1
    assert not any(p.name.endswith(".quarantine") for p in landing.rglob("*"))

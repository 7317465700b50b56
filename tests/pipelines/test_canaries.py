"""No canary value of the bad corpus leaks: scan results, CLI output, warehouse, output dir.

The bad files of ``tests/fixtures/guard/bad`` carry canary values (fake e-mails, phones, SSNs,
hashes, ...; see ``tests/pipelines/guard/canaries.py``). After scanning them, running
``clearcount scan`` and ``clearcount refresh`` on them and loading them through the ingest path,
none of those values may appear anywhere clearcount wrote or printed.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

REPO = Path(__file__).resolve().parents[2]
CORPUS = REPO / "tests" / "fixtures" / "guard"
MANIFEST = json.loads((CORPUS / "manifest.json").read_text())
BAD = sorted(p for p in MANIFEST["files"] if p.startswith("bad/"))

_spec = importlib.util.spec_from_file_location(
    "canaries", REPO / "tests" / "pipelines" / "guard" / "canaries.py"
)
canaries = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(canaries)  # type: ignore[union-attr]
assert_no_canary = canaries.assert_no_canary


def _landing(tmp_path: Path, bad_markets: bool) -> Path:
    """A landing dir: benign markets and every bad non-markets file, or the reverse."""
    landing = tmp_path / ("landing_bad_markets" if bad_markets else "landing_bad_feeds")
    (landing / "markets").mkdir(parents=True)
    shutil.copy(CORPUS / "benign" / "markets" / "markets_mixed.csv", landing / "markets")
    for rel in BAD:
        feed = MANIFEST["files"][rel]["feed"]
        if (feed == "markets") == bad_markets:
            (landing / feed).mkdir(exist_ok=True)
            shutil.copy(CORPUS / rel, landing / feed)
    if bad_markets:
        for rel in MANIFEST["files"]:
            feed = MANIFEST["files"][rel]["feed"]
            if rel.startswith("benign/") and feed != "markets":
                (landing / feed).mkdir(exist_ok=True)
                shutil.copy(CORPUS / rel, landing / feed)
    return landing


def _env(tmp_path: Path, landing: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        CLEARCOUNT_LANDING_DIR=str(landing),
        CLEARCOUNT_WAREHOUSE=str(tmp_path / "wh" / "warehouse.duckdb"),
        CLEARCOUNT_OUTPUT_DIR=str(tmp_path / "out"),
        DAGSTER_HOME=str(tmp_path / "dagster_home"),
    )
    (tmp_path / "dagster_home").mkdir(exist_ok=True)
    return env


def _clearcount(args: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess:
    exe = Path(sys.executable).with_name("clearcount")
    cmd = [str(exe), *args] if exe.exists() else [sys.executable, "-m", "pipelines.cli", *args]
    return subprocess.run(cmd, env=env, cwd=cwd, capture_output=True, text=True, timeout=600)


def _warehouse_text(path: Path) -> str:
    """Every row of every table in the warehouse, as text."""
    conn = duckdb.connect(str(path), read_only=True)
    try:
        tables = conn.execute(
            "SELECT schema_name, table_name FROM duckdb_tables() ORDER BY 1, 2"
        ).fetchall()
        parts = []
        for schema, table in tables:
            rows = conn.execute(f'SELECT * FROM "{schema}"."{table}"').fetchall()
            parts.append(f"{schema}.{table}: {rows!r}")
        return "\n".join(parts)
    finally:
        conn.close()


def _tree_text(root: Path) -> str:
    """Every file under ``root``, decoded leniently (UTF-8 and Latin-1)."""
    parts = []
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        data = path.read_bytes()
        parts.append(data.decode("utf-8", errors="ignore"))
        parts.append(data.decode("latin-1"))
    return "\n".join(parts)


def test_scan_results_hold_no_canary() -> None:
    from pipelines.guard import scan_file

    known = MANIFEST["known_geos"]
    for rel in BAD:
        feed = MANIFEST["files"][rel]["feed"]
        result = scan_file(CORPUS / rel, feed, None if feed == "markets" else known)
        assert not result.accepted, rel
        for text in (result.message(), result.rules_text(), repr(result), str(result.unscanned)):
            assert_no_canary(text, where=f"scan result of {rel}")


def test_cli_scan_output_holds_no_canary(tmp_path: Path) -> None:
    env = _env(tmp_path, CORPUS / "benign")
    out = _clearcount(["scan", str(CORPUS / "bad")], env, tmp_path)
    assert out.returncode == 1, out.stderr[-2000:]
    lines = [ln for ln in out.stdout.splitlines() if ln.strip()]
    assert len(lines) == len(BAD)
    assert all("\trejected\t" in ln for ln in lines)
    assert_no_canary(out.stdout + out.stderr, where="clearcount scan output")
    # benign files pass through the same command
    ok = _clearcount(["scan", str(CORPUS / "benign")], env, tmp_path)
    assert ok.returncode == 0, ok.stdout + ok.stderr[-2000:]
    if (tmp_path / "out").exists():
        assert_no_canary(_tree_text(tmp_path / "out"), where="output dir after scan")


@pytest.mark.parametrize("bad_markets", [False, True], ids=["bad_feeds", "bad_markets"])
def test_ingest_attempt_leaves_no_canary_in_warehouse(tmp_path: Path, bad_markets: bool) -> None:
    from pipelines.feeds import FEED_ORDER
    from pipelines.ingest import IngestError, load_feed
    from pipelines.warehouse import connect

    landing = _landing(tmp_path, bad_markets)
    path = tmp_path / "wh.duckdb"
    conn = connect(path)
    messages = []
    try:
        for feed in FEED_ORDER:
            try:
                load = load_feed(conn, feed, landing)
                messages.append(load.rejection_text())
            except IngestError as error:
                messages.append(str(error))
    finally:
        conn.close()
    assert_no_canary("\n".join(messages), where="ingest messages")
    text = _warehouse_text(path)
    assert "rejected" in text  # audit.file_scans recorded the rejections
    assert_no_canary(text, where="warehouse tables")
    # the quarantine keeps copies of accepted files only: a rejected file's copy is deleted
    quarantine = path.with_name(path.name + ".quarantine")
    kept = {p.name.split(".")[0] for p in quarantine.rglob("*") if p.is_file()}
    conn = duckdb.connect(str(path), read_only=True)
    try:
        accepted = conn.execute(
            "SELECT sha256 FROM audit.file_scans WHERE verdict = 'accepted' "
            "UNION ALL SELECT sha256 FROM audit.loaded_files"
        ).fetchall()
    finally:
        conn.close()
    assert kept and kept <= {r[0] for r in accepted}


@pytest.mark.slow
def test_refresh_on_bad_files_leaks_nothing(tmp_path: Path) -> None:
    landing = _landing(tmp_path, bad_markets=False)
    env = _env(tmp_path, landing)
    out = _clearcount(["refresh", "--verbose"], env, tmp_path)
    assert out.returncode != 0
    assert "rejected" in out.stdout + out.stderr
    assert_no_canary(out.stdout + out.stderr, where="clearcount refresh output")
    warehouse = Path(env["CLEARCOUNT_WAREHOUSE"])
    assert warehouse.exists()
    assert_no_canary(_warehouse_text(warehouse), where="warehouse after refresh")
    for root in (tmp_path / "out", tmp_path / "dagster_home"):
        if root.exists():
            assert_no_canary(_tree_text(root), where=str(root.name))

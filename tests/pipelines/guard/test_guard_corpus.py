"""The guard on the corpus: every bad file rejected with its rule, every benign file accepted."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from canaries import find_canaries

from pipelines.guard import scan_file

CORPUS = Path(__file__).resolve().parents[2] / "fixtures" / "guard"
MANIFEST = json.loads((CORPUS / "manifest.json").read_text())
FILES = MANIFEST["files"]
KNOWN_GEOS = MANIFEST["known_geos"]
BAD = sorted(p for p in FILES if p.startswith("bad/"))
BENIGN = sorted(p for p in FILES if p.startswith("benign/"))


def _scan(rel: str):
    feed = FILES[rel]["feed"]
    return scan_file(CORPUS / rel, feed, None if feed == "markets" else KNOWN_GEOS)


def test_corpus_size() -> None:
    assert len(BAD) >= 30
    assert len(BENIGN) >= 10
    assert any(p.endswith(".parquet") for p in BAD)


@pytest.mark.parametrize("rel", BAD, ids=[Path(p).name for p in BAD])
def test_bad_file_rejected_with_rule(rel: str) -> None:
    result = _scan(rel)
    assert not result.accepted
    assert result.verdict == "rejected"
    missing = set(FILES[rel]["expect"]) - set(result.rules)
    assert not missing, f"expected rules not reported: {sorted(missing)}; got {result.rules}"
    assert not find_canaries(result.message())
    assert not find_canaries(repr(result))


@pytest.mark.parametrize("rel", BENIGN, ids=[Path(p).name for p in BENIGN])
def test_benign_file_accepted(rel: str) -> None:
    result = _scan(rel)
    assert result.accepted, result.rules_text()
    assert result.rules_text() == ""
    assert result.message().startswith("accepted: ")


def _file_text(path: Path) -> str:
    """The file's values as text, and its name (binary Parquet columns read as UTF-16 too)."""
    if path.suffix == ".parquet":
        table = pq.read_table(path)
        texts = [table.to_pandas().to_csv()]
        for column in table.columns:
            if column.type == pa.binary():
                texts += [v.decode("utf-16", errors="ignore") for v in column.to_pylist() if v]
        return "\n".join(texts) + path.name
    data = path.read_bytes()
    return data.decode("utf-8", errors="replace") + data.decode("latin-1") + path.name


@pytest.mark.parametrize("rel", BAD, ids=[Path(p).name for p in BAD])
def test_every_bad_file_carries_a_canary(rel: str) -> None:
    path = CORPUS / rel
    if path.stat().st_size == 0:
        pytest.skip("the empty file has no value to plant a canary in")
    assert find_canaries(_file_text(path)), "bad corpus file without a canary value"


def test_benign_sample_data_accepted() -> None:
    sample = Path(__file__).resolve().parents[3] / "data" / "sample"
    markets = sample / "markets" / "markets.csv"
    if not markets.exists():
        pytest.skip("data/sample not committed yet")
    geos = {line.split(",")[0] for line in markets.read_text().splitlines()[1:]}
    for folder in sorted(p for p in sample.iterdir() if p.is_dir()):
        for path in sorted(folder.glob("*.csv")):
            result = scan_file(path, folder.name, None if folder.name == "markets" else geos)
            assert result.accepted, f"{path.name}: {result.rules_text()}"


@pytest.mark.parametrize("rel", BENIGN, ids=[Path(p).name for p in BENIGN])
def test_benign_file_loads(tmp_path: Path, rel: str) -> None:
    """What the guard accepts, the loader loads (the seam with pipelines.ingest)."""
    import shutil

    from pipelines.ingest import load_feed
    from pipelines.warehouse import connect

    feed = FILES[rel]["feed"]
    landing = tmp_path / "landing"
    (landing / "markets").mkdir(parents=True)
    shutil.copy(CORPUS / "benign" / "markets" / "markets_mixed.csv", landing / "markets")
    (landing / feed).mkdir(exist_ok=True)
    shutil.copy(CORPUS / rel, landing / feed)
    conn = connect(tmp_path / "w.duckdb")
    try:
        assert load_feed(conn, "markets", landing).accepted
        load = load_feed(conn, feed, landing)
        assert load.accepted, load.rejection_text()
        staged = conn.execute(f"SELECT count(*) FROM staging.{feed}").fetchall()[0][0]
        assert staged == load.staged_rows
        # nothing but the values is loaded (Parquet key-value metadata holds a canary)
        tables = conn.execute("SELECT schema_name, table_name FROM duckdb_tables()").fetchall()
        for schema, table in tables:
            rows = conn.execute(f'SELECT * FROM "{schema}"."{table}"').fetchall()
            assert not find_canaries(repr(rows)), f"{schema}.{table}"
    finally:
        conn.close()

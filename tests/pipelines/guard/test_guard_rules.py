"""The guard's rules one by one, on small files built here (values are fake)."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from pipelines.guard import GuardError, RuleHit, ScanResult, display_column, scan_file

GEOS = {"021", "100", "790"}
CALLS = "week_start,geo,channel,calls,new_patient_calls\n"


def _write(tmp_path: Path, text: str, name: str = "f.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def _label_file(tmp_path: Path, label: str) -> Path:
    text = 'geo,geo_type,population,label\n021,zip3,500000,"' + label.replace('"', '""') + '"\n'
    return _write(tmp_path, text)


POSITIVE = [
    ("email", "write to ann.lee+x@mail.example.co.uk"),
    ("email", "ann [at] example [dot] com"),
    ("email", "ａｎｎ＠ｅｘａｍｐｌｅ．ｃｏｍ"),
    ("email", "ann\u200b@exam\u200dple.com"),
    ("phone", "(212) 555-0199"),
    ("phone", "212.555.0199"),
    ("phone", "+44 20 7946 0958"),
    ("phone", "+12125550199"),
    ("phone", "call 2125550199"),
    ("phone", "555-0199"),
    ("phone", "020 7946 0958"),
    ("phone", "(0151) 496-0731"),
    ("phone", "２１２-５５５-０１９９"),
    ("ssn", "ssn 123-45-6789"),
    ("ssn", "123 45 6789"),
    ("ip_address", "10.0.0.12"),
    ("ip_address", "fe80::1ff:fe23:4567:890a"),
    ("ip_address", "2001:0db8:0000:0000:0000:ff00:0042:8329"),
    ("url", "http://example.org/a"),
    ("url", "see www.example.com now"),
    ("url", "example.com/recordings/12"),
    ("url", "tel:+12125550199"),
    ("click_id", "?fbclid=abc"),
    ("click_id", "wbraid=xyz"),
    ("click_id", "CjwKCAiA1eKBBhBZEiwAX3gql1234567890abcd"),
    ("click_id", "E.C.P.CvQBabcdefghijklmnopqrstu"),
    ("device_id", "3F2504E0-4F89-11D3-9A0C-0305E82C3301"),
    ("device_id", "GA1.1.123456789.1700000000"),
    ("mac_address", "00-1A-2B-3C-4D-5E"),
    ("mac_address", "001a.2b3c.4d5e"),
    ("hashed_id", "5d41402abc4b2a76b9719d911017c592"),
    ("hashed_id", "AAF4C61DDCC5E8A2DABEDE0F3B482CD9AEA9434D"),
    ("hashed_id", "LPJNul+wow4m6DsqxbninhsWHlwfp0JecwQzYpOLmCQ="),
    ("medicare_id", "1EG4TE5MK73"),
    ("medicare_id", "123456789A"),
    ("card_number", "4012-8888-8888-1881"),
    ("card_number", "378282246310005"),
    ("date_of_birth", "DOB: 1/2/99"),
    ("date_of_birth", "1975-12-01"),
    ("date_of_birth", "12.01.1975"),
    ("date_of_birth", "3 March 1961"),
    ("date_of_birth", "17-Mar-1961"),
    ("ip_address", "192.168.001.010"),
    ("date_of_birth", "birthdate 2020-05-05"),
    ("date_of_birth", "Launched 2024-01-01"),  # any full date in a text field: a child's DOB
    ("street_address", "22 Acacia Avenue"),
    ("street_address", "1 Main St."),
    ("street_address", "Apt 4B"),
    ("street_address", "P.O. Box 12"),
    ("zip5", "Boston 02115"),
    ("zip5", "02115-1234"),
]


@pytest.mark.parametrize(("rule", "label"), POSITIVE)
def test_value_pattern_fires_in_text_column(tmp_path: Path, rule: str, label: str) -> None:
    result = scan_file(_label_file(tmp_path, label), "markets", None)
    assert rule in result.rules, result.rules_text()
    assert any(h.rule == rule and h.column == "label" and h.rows == 1 for h in result.hits)


NEGATIVE = [
    "Boston (ZIP3 021)",
    "DMA 790 Albuquerque-Santa Fe",
    "Route 128 corridor",
    "Top 10 Drive-time markets",
    "FY2023-2024 plan",
    "Boston-Cambridge-Newton, MA-NH",
    "Q1 budget 1,234,567.89",
    "Pop. 1.5m; 3 clinics",
    "Search vs. social: 60/40",
    "Northeast region v2.1",
    "paid_social_prospecting_lookalike_2024q",
    "Worcester & Springfield",
    "",
]


@pytest.mark.parametrize("label", NEGATIVE)
def test_benign_label_accepted(tmp_path: Path, label: str) -> None:
    result = scan_file(_label_file(tmp_path, label), "markets", None)
    assert result.accepted, result.rules_text()


def test_rules_text_and_message(tmp_path: Path) -> None:
    rows = "".join(f"2024-01-0{d},021,search,5,1,x{d}@example.org 212-555-01{d}9\n" for d in (1,))
    rows += "2024-01-08,021,search,5,1,a@example.org 212-555-0100\n"
    rows += "2024-01-15,021,search,5,1,b@example.org 212-555-0101\n"
    path = _write(tmp_path, CALLS.rstrip("\n") + ",notes\n" + rows)
    result = scan_file(path, "calls", GEOS)
    assert result.rules_text() == (
        "unknown_column(column#6)=3; email(column#6)=3 at rows 2, 3, 4; "
        "phone(column#6)=3 at rows 2, 3, 4"
    )
    assert result.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    assert result.rows == 3
    assert result.file_name == "f.csv"
    message = result.message()
    assert message.startswith("rejected: calls/f.csv sha256=" + result.sha256)
    assert "email(column#6)=3" in message
    assert "example.org" not in message and "555" not in message


def test_unsafe_column_names_are_numbered(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        CALLS.rstrip("\n") + ",Caller-Phone,ñotas\n" + "2024-01-01,021,search,5,1,x,y\n",
    )
    result = scan_file(path, "calls", GEOS)
    columns = {h.column for h in result.hits}
    assert "column#6" in columns and "column#7" in columns
    assert not any("Caller" in (c or "") or "otas" in (c or "") for c in columns)
    # a header cell that is an e-mail means the first line is data: no column is named
    data = _write(tmp_path, "2024-01-01,021,search,5,1,ann@example.org\n", "h.csv")
    result = scan_file(data, "calls", GEOS)
    assert result.rules_text() == "unreadable=1; email(column#6)=1 at row 1"  # the first line
    assert display_column("Caller Name", 3) == "column#3"
    assert display_column("notes", 2) == "column#2"
    assert display_column("spend", 1) == "spend"  # a contract column (of another feed)


def test_known_geos_none_skips_geo_rule(tmp_path: Path) -> None:
    path = _write(tmp_path, CALLS + "2024-01-01,999,search,5,1\n")
    assert scan_file(path, "calls", None).accepted
    assert scan_file(path, "calls", GEOS).rules == ("unknown_geo",)


def test_types_read_raw_text_not_normalised(tmp_path: Path) -> None:
    # full-width digits are a phone to the value patterns, but not a valid integer
    path = _write(tmp_path, CALLS + "２０２４-０１-０１,021,search,５,1\n")
    rules = scan_file(path, "calls", GEOS).rules
    assert "bad_type" in rules


def test_numeric_columns_hold_numbers_only(tmp_path: Path) -> None:
    ok = _write(
        tmp_path,
        "week_start,geo,channel,spend,impressions\n2024-01-01,021,search,2125550199,2125550199\n",
    )
    assert scan_file(ok, "spend", GEOS).accepted
    bad = _write(
        tmp_path,
        "week_start,geo,channel,spend\n2024-01-01,021,search,1.999\n2024-01-08,021,search,1e3\n",
        "g.csv",
    )
    result = scan_file(bad, "spend", GEOS)
    assert result.rules_text() == "bad_type(spend)=2 at rows 2, 3"


def test_missing_values_and_enums(tmp_path: Path) -> None:
    text = "geo,geo_type,population\n021,zip3,\n100,zipcode,5000000\nma,state,10\n790,dma,0\n"
    result = scan_file(_write(tmp_path, text), "markets", None)
    hits = {(h.rule, h.column): h.rows for h in result.hits}
    assert hits[("bad_type", "population")] == 2  # empty and zero
    assert hits[("bad_type", "geo_type")] == 1
    assert hits[("bad_geo_code", "geo")] == 1  # 'ma' is not a state code


def test_dma_codes_are_not_zip3(tmp_path: Path) -> None:
    dma = _write(tmp_path, "geo,geo_type,population\n790,dma,1000000\n036,custom_x,5\n")
    result = scan_file(dma, "markets", None)
    assert "restricted_zip3" not in result.rules
    zip3 = _write(tmp_path, "geo,geo_type,population\n790,zip3,1000000\n021,zip3,20000\n", "z.csv")
    hits = {(h.rule, h.column): h.rows for h in scan_file(zip3, "markets", None).hits}
    assert hits == {("restricted_zip3", "geo"): 1, ("small_zip3", "geo"): 1}


def test_parquet_columns_read_as_text(tmp_path: Path) -> None:
    path = tmp_path / "c.parquet"
    pq.write_table(
        pa.table(
            {
                "week_start": pa.array(["2024-01-01", "2024-01-08"]),
                "geo": ["021", "100"],
                "channel": ["search", "search"],
                "calls": pa.array([3.5, 4.0]),
                "new_patient_calls": pa.array([1, 1]),
            }
        ),
        path,
    )
    result = scan_file(path, "calls", GEOS)
    assert result.rules_text() == "bad_type(calls)=2 at rows 1, 2; bad_parquet_type(calls)=2"


def test_not_parquet_is_unreadable(tmp_path: Path) -> None:
    path = _write(tmp_path, "this is not parquet", "x.parquet")
    assert scan_file(path, "calls", GEOS).hits == (RuleHit("unreadable", None, 0),)


def test_binary_and_latin1_unreadable(tmp_path: Path) -> None:
    path = tmp_path / "l.csv"
    path.write_bytes((CALLS + "2024-01-01,021,caf\u00e9,1,1\n").encode("latin-1"))
    assert scan_file(path, "calls", GEOS).rules == ("unreadable",)
    nul = tmp_path / "n.csv"
    nul.write_bytes(CALLS.encode() + b"\x00\x01\x02")
    assert scan_file(nul, "calls", GEOS).rules == ("unreadable",)


def test_duplicate_header_column(tmp_path: Path) -> None:
    path = _write(tmp_path, CALLS.rstrip("\n") + ",geo\n2024-01-01,021,search,5,1,021\n")
    assert scan_file(path, "calls", GEOS).rules_text() == "unknown_column(geo)=1"


def test_identifier_columns_listed_as_unscanned(tmp_path: Path) -> None:
    path = _write(tmp_path, "Caller Name,Start Time,notes\nAnn,2024-01-01 10:00,ann@example.org\n")
    result = scan_file(path, "calls", GEOS)
    assert result.unscanned == ("column#1", "column#2")
    assert "email" in result.rules  # notes is not identifier-like: it is scanned


def test_errors_are_value_free(tmp_path: Path) -> None:
    with pytest.raises(GuardError) as info:
        scan_file(tmp_path / "ann@example.org-missing.csv", "calls", GEOS)
    assert info.value.__cause__ is None and info.value.__suppress_context__
    with pytest.raises(GuardError, match="unknown feed"):
        scan_file(_write(tmp_path, CALLS), "patients", GEOS)


def test_scan_result_verdicts() -> None:
    ok = ScanResult(Path("a.csv"), "a.csv", "0" * 64, "calls", 3, ())
    assert ok.accepted and ok.verdict == "accepted" and ok.rules_text() == ""
    assert ok.message() == f"accepted: calls/a.csv sha256={'0' * 64} rows=3"
    bad = ScanResult(
        Path("a.csv"),
        "a.csv",
        "0" * 64,
        "calls",
        3,
        (RuleHit("ssn", "notes", 2), RuleHit("unreadable", None, 0)),
    )
    assert bad.rules_text() == "ssn(notes)=2; unreadable=0"
    assert bad.rules == ("ssn", "unreadable")


@pytest.mark.slow
def test_large_clean_feed_is_fast(tmp_path: Path) -> None:
    import time

    lines = [CALLS.rstrip("\n")]
    for w in range(100):
        week = f"2024-{1 + w // 28:02d}-{1 + w % 28:02d}"
        lines.extend(f"{week},021,ch{c},{c},{c // 2}" for c in range(500))
    path = _write(tmp_path, "\n".join(lines) + "\n")
    t0 = time.perf_counter()
    result = scan_file(path, "calls", GEOS)
    assert time.perf_counter() - t0 < 10
    assert result.rows == 50_000
    assert "not_monday" in result.rules and "bad_type" not in result.rules


def test_value_budget_only_for_files_rejected_by_structure(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import pipelines.guard.passes as passes_module

    monkeypatch.setattr(passes_module, "VALUE_BUDGET", 3)
    rows = "".join(f"x,b{i}@example.org\n" for i in range(5))
    rejected = scan_file(_write(tmp_path, "kind,notes\nx,y\n" + rows), "calls", GEOS)
    assert rejected.unscanned == ("column#2",)
    assert "values not pattern-scanned in: column#2" in rejected.message()
    assert "email" not in rejected.rules
    # a file whose structure is clean is always scanned in full
    lines = "".join(f"2024-01-01,021,c{i}@example.org,5,1\n" for i in range(6))
    clean = scan_file(_write(tmp_path, CALLS + lines, "g.csv"), "calls", GEOS)
    assert clean.unscanned == ()
    assert any(h.rule == "email" and h.rows == 6 for h in clean.hits)


def test_header_only_file_with_identifier_column_is_rejected(tmp_path: Path) -> None:
    path = _write(tmp_path, "week_start,geo,channel,calls,new_patient_calls,caller_phone\n")
    result = scan_file(path, "calls", GEOS)
    assert result.rows == 0
    assert set(result.rules) == {"unknown_column", "identifier_column"}
    assert scan_file(_write(tmp_path, CALLS, "ok.csv"), "calls", GEOS).accepted


def test_file_names_with_glob_characters(tmp_path: Path) -> None:
    """A name DuckDB would expand as a glob is read from its quarantined copy, and rejected by
    the file-name allowlist (shown as it is: it is printable ASCII)."""
    path = _write(tmp_path, CALLS + "2024-01-01,021,search,5,1\n", "calls [2024]*.csv")
    result = scan_file(path, "calls", GEOS)
    assert result.rows == 1 and result.rules_text() == "bad_file_name=1"
    assert result.file_name == "calls [2024]*.csv"


def test_every_rule_is_ordered_and_documented() -> None:
    """Every rule the SQL can report has a place in RULE_ORDER and a row in the rules doc."""
    import duckdb

    from pipelines.guard import RULE_ORDER
    from pipelines.guard.passes import value_rules_sql

    conn = duckdb.connect()
    conn.execute(
        "CREATE TABLE guard_values (col INTEGER, v VARCHAR, n BIGINT, t BOOLEAN, raw VARCHAR)"
    )
    patterns = [d[0] for d in conn.execute(value_rules_sql()).description][3:]
    assert set(patterns) <= set(RULE_ORDER)
    doc = (Path(__file__).resolve().parents[3] / "docs" / "guard_rules.md").read_text()
    undocumented = [rule for rule in RULE_ORDER if f"| `{rule}` |" not in doc]
    assert not undocumented

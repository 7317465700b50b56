"""Where a rejection hit: the first row numbers of each row-level rule, never a value.

CSV rows are numbered as a spreadsheet shows the file (the header is row 1, the first data row
row 2); Parquet rows by their 1-based index. Values here are fake.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from pipelines import cli
from pipelines.guard import RuleHit, passes, quarantine, scan_file
from pipelines.ingest import load_feed

_spec = importlib.util.spec_from_file_location(
    "canaries", Path(__file__).resolve().parent / "canaries.py"
)
canaries = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(canaries)  # type: ignore[union-attr]

SPEND = "week_start,geo,channel,spend\n"
GEOS = {"021": 500_000, "100": 800_000}


def _spend_rows(n: int, negative: dict[int, str] | None = None) -> list[str]:
    """``n`` distinct spend rows; data row ``i`` (0-based) has the spend ``negative[i]``."""
    negative = negative or {}
    channels = [f"ch{c}" for c in range(n)]
    return [f"2024-01-01,021,{ch},{negative.get(i, '10.00')}\n" for i, ch in enumerate(channels)]


def _write(tmp_path: Path, text: str, name: str = "spend.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def _hit(result, rule: str) -> RuleHit:
    (hit,) = [h for h in result.hits if h.rule == rule]
    return hit


def test_csv_rows_count_the_header_as_row_1(tmp_path: Path) -> None:
    rows = _spend_rows(25, {2: "-5.00", 15: "-1.00", 20: "-0.01"})
    result = scan_file(_write(tmp_path, SPEND + "".join(rows)), "spend", GEOS)
    assert result.rules_text() == "negative_value(spend)=3 at rows 4, 17, 22"
    one = scan_file(
        _write(tmp_path, SPEND + "".join(_spend_rows(3, {0: "-2"})), "one.csv"), "spend"
    )
    assert one.rules_text() == "negative_value(spend)=1 at row 2"


def test_rows_are_capped_with_and_n_more(tmp_path: Path) -> None:
    rows = _spend_rows(30, {i: "-1.00" for i in range(3, 30, 3)})  # 9 rows
    hit = _hit(scan_file(_write(tmp_path, SPEND + "".join(rows)), "spend", GEOS), "negative_value")
    assert hit.rows == 9 and hit.at_rows == (5, 8, 11, 14, 17)
    assert hit.text() == "negative_value(spend)=9 at rows 5, 8, 11, 14, 17 and 4 more"


def test_quoted_line_breaks_and_empty_lines_count_as_a_spreadsheet_shows_them(
    tmp_path: Path,
) -> None:
    """A record with a line break inside quotes is one row; an empty line is a row (the CSV
    reader skips it, the row numbers do not)."""
    text = (
        "week_start,geo,channel,spend,impressions\n"  # row 1
        '2024-01-01,021,search,1.00,"12\n34"\n'  # row 2 (two lines)
        "\n"  # row 3
        "2024-01-01,021,social,-1.00,5\n"  # row 4
        "\n"  # row 5
        "2024-01-01,021,video,-2.00,5\n"  # row 6
    )
    result = scan_file(_write(tmp_path, text), "spend", GEOS)
    assert _hit(result, "negative_value").at_rows == (4, 6)
    assert _hit(result, "bad_type").at_rows == (2,)
    # an empty line split across two chunks of the quarantine copy is seen too
    path = _write(tmp_path, SPEND + "2024-01-01,021,a,1\n\n2024-01-01,021,b,-1\n", "split.csv")
    for chunk in (1, 2, 3, len(SPEND) + 19):
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(quarantine, "CHUNK_BYTES", chunk)
            assert quarantine.admit(path, tmp_path / f"q{chunk}").blank_lines
    assert scan_file(path, "spend", GEOS).rules_text() == "negative_value(spend)=1 at row 4"
    # trailing empty lines change nothing
    path = _write(tmp_path, SPEND + "2024-01-01,021,a,-1\n\n\n", "trailing.csv")
    assert scan_file(path, "spend", GEOS).rules_text() == "negative_value(spend)=1 at row 2"


def test_parquet_rows_are_1_based_indexes(tmp_path: Path) -> None:
    n = 40
    spend = ["-1.00" if i in (0, 17, 33) else "1.00" for i in range(n)]
    table = pa.table(
        {
            "week_start": ["2024-01-01"] * n,
            "geo": ["021"] * n,
            "channel": [f"c{i}" for i in range(n)],
            "spend": spend,
        }
    )
    path = tmp_path / "spend.parquet"
    pq.write_table(table, path, row_group_size=7)  # several row groups: order is kept
    result = scan_file(path, "spend", GEOS)
    assert result.rules_text() == "negative_value(spend)=3 at rows 1, 18, 34"


def test_first_line_that_is_data_is_row_1(tmp_path: Path) -> None:
    text = "2024-01-01,021,search,5,1,ann@example.org\n2024-01-08,021,search,5,1,x\n" + (
        "2024-01-15,021,search,5,1,bo@example.org\n"
    )
    result = scan_file(_write(tmp_path, text, "calls.csv"), "calls", set(GEOS))
    assert result.rules_text() == "unreadable=3; email(column#6)=2 at rows 1, 3"


def test_file_level_rules_have_no_rows(tmp_path: Path) -> None:
    text = "week_start,geo,channel,spend,Caller Phone\n2024-01-01,021,a,1,x\n"
    result = scan_file(_write(tmp_path, text, "spend[1].csv"), "spend", GEOS)
    assert {h.rule for h in result.hits} == {"bad_file_name", "unknown_column", "identifier_column"}
    assert all(h.at_rows == () for h in result.hits)
    channels = "".join(f"2024-01-01,021,c{i},1\n" for i in range(51))
    many = scan_file(_write(tmp_path, SPEND + channels, "many.csv"), "spend", GEOS)
    assert many.hits == (RuleHit("too_many_values", "channel", 51),)


def test_row_level_checks_name_their_rows(tmp_path: Path) -> None:
    calls = "week_start,geo,channel,calls,new_patient_calls\n"
    text = calls + (
        "2024-01-01,021,search,5,1\n"  # 2
        "2024-01-01,021,social,5,9\n"  # 3: new patients above total
        "2024-01-01,021,search,5,1\n"  # 4: duplicate of row 2
        "2024-01-01,999,search,5,1\n"  # 5: unknown geo
        "2024-01-01,100,video,900000,1\n"  # 6: above 5% of 800,000 people
    )
    result = scan_file(_write(tmp_path, text, "calls.csv"), "calls", GEOS)
    assert {h.rule: h.at_rows for h in result.hits} == {
        "duplicate_key": (2, 4),
        "count_exceeds_total": (3,),
        "unknown_geo": (5,),
        "count_exceeds_population": (6,),
    }
    markets = "geo,geo_type,population,label\n021,zip3,500000,A\n036,zip3,90000,B\n100,zip3,900,C\n"
    result = scan_file(_write(tmp_path, markets, "markets.csv"), "markets", None)
    assert result.rules_text() == "restricted_zip3(geo)=1 at row 3; small_zip3(geo)=1 at row 4"
    label = "geo,geo_type,population,label\n021,zip3,500000,A\n100,zip3,800000,ａｎｎ＠ｅｘａｍｐｌｅ．ｃｏｍ\n"
    result = scan_file(_write(tmp_path, label, "labels.csv"), "markets", None)
    assert "email(label)=1 at row 3" in result.rules_text()  # matched after normalisation
    controls = "week_start,geo,name,value\n2024-01-01,021,temp,1\n2024-01-01,021,rate,2e9\n"
    result = scan_file(_write(tmp_path, controls, "controls.csv"), "controls", GEOS)
    assert result.rules_text() == "implausible_value(value)=1 at row 3"


def test_rows_past_the_first_search_are_found(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(passes, "SEARCH_FIRST", 4)
    rows = _spend_rows(12, {1: "-1", 9: "-1"})
    rows[10] = "2024-01-01,021,ann@example.org,1\n"
    result = scan_file(_write(tmp_path, SPEND + "".join(rows)), "spend", GEOS)
    assert _hit(result, "negative_value").at_rows == (3, 11)
    assert _hit(result, "email").at_rows == (12,)


def test_row_numbers_carry_no_cell_value(tmp_path: Path) -> None:
    """The same rows hold different values: the message is the same, and holds none of them."""
    texts = []
    for spend, note in (("-4.00", "4"), ("-98765.43", canaries.PHONE_DASHED)):
        rows = _spend_rows(8, {3: spend, 6: spend})
        rows[5] = f"2024-01-01,021,canary.rows@example.org {note},1\n"
        result = scan_file(_write(tmp_path, SPEND + "".join(rows), f"s{len(texts)}.csv"), "spend")
        texts.append(result.rules_text())
        canaries.assert_no_canary(result.message(), where="rejection with row numbers")
        assert spend not in result.message()
    assert texts[0].startswith("negative_value(spend)=2 at rows 5, 8; bad_slug(channel)=1 at row 7")
    assert texts[0] == texts[1].replace("; phone(channel)=1 at row 7", "")


def test_rows_reach_scan_output_audit_and_refresh_message(
    clearcount_env, small_landing: Path, warehouse, capsys
) -> None:
    bad = small_landing / "spend" / "spend_9.csv"
    bad.write_text(SPEND + "2024-01-08,CA,tv,3.00\n2024-01-15,CA,tv,-1.00\n")
    assert cli.main(["scan", str(bad)]) == 1
    assert "\trejected\tnegative_value(spend)=1 at row 3" in capsys.readouterr().out
    load_feed(warehouse, "markets", small_landing)
    load = load_feed(warehouse, "spend", small_landing)
    assert "negative_value(spend)=1 at row 3" in load.rejection_text()
    (rules,) = warehouse.execute(
        "SELECT rules FROM audit.file_scans WHERE verdict = 'rejected'"
    ).fetchone()
    assert rules == "negative_value(spend)=1 at row 3"

"""Cardinality and plausibility bounds, Parquet types: edges that the corpus does not pin."""

from __future__ import annotations

import datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from pipelines.guard import scan_file
from pipelines.guard.allowlists import MAX_COUNT_SHARE, MAX_DISTINCT, MAX_SPEND_PER_HEAD

CALLS = "week_start,geo,channel,calls,new_patient_calls\n"
SPEND = "week_start,geo,channel,spend\n"


def _write(tmp_path: Path, text: str, name: str = "f.csv") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_counts_are_bounded_by_their_own_market(tmp_path: Path) -> None:
    """The bound is per row's market: a count fine in a large market is too large in a small
    one; without populations the bound of the largest possible market applies."""
    count = int(MAX_COUNT_SHARE * 100_000) + 1
    rows = f"2024-01-01,big,search,{count},0\n2024-01-01,small,search,{count},0\n"
    path = _write(tmp_path, CALLS + rows)
    hits = {
        (h.rule, h.column): h.rows
        for h in scan_file(path, "calls", {"big": 1_000_000, "small": 100_000}).hits
    }
    assert hits == {("count_exceeds_population", "calls"): 1}
    assert scan_file(path, "calls", {"big", "small"}).accepted


def test_spend_per_head_boundary(tmp_path: Path) -> None:
    limit = MAX_SPEND_PER_HEAD * 50_000
    ok = _write(tmp_path, SPEND + f"2024-01-01,m,tv,{limit:.2f}\n")
    assert scan_file(ok, "spend", {"m": 50_000}).accepted
    over = _write(tmp_path, SPEND + f"2024-01-01,m,tv,{limit + 0.01:.2f}\n", "g.csv")
    assert scan_file(over, "spend", {"m": 50_000}).rules == ("spend_per_head",)


def test_cardinality_bound_is_on_distinct_values_not_rows(tmp_path: Path) -> None:
    limit = MAX_DISTINCT["channel"]
    weeks = [f"2024-01-{d:02d}" for d in (1, 8, 15, 22, 29)]
    rows = "".join(f"{w},m,source_{c},1,0\n" for w in weeks for c in range(limit))
    assert scan_file(_write(tmp_path, CALLS + rows), "calls", {"m": 500_000}).accepted
    more = rows + "2024-01-01,m,one_more,1,0\n"
    result = scan_file(_write(tmp_path, CALLS + more, "g.csv"), "calls", {"m": 500_000})
    assert result.rules_text() == f"too_many_values(channel)={len(weeks) * limit + 1}"


def test_parquet_type_rule_fires_on_a_file_without_rows(tmp_path: Path) -> None:
    path = tmp_path / "m.parquet"
    pq.write_table(
        pa.table(
            {
                "geo": pa.array([], pa.string()),
                "geo_type": pa.array([], pa.string()),
                "population": pa.array([], pa.int64()),
                "label": pa.array([], pa.binary()),
            }
        ),
        path,
    )
    assert scan_file(path, "markets", None).rules_text() == "bad_parquet_type(label)=0"


def test_parquet_dates_and_strings_accepted(tmp_path: Path) -> None:
    path = tmp_path / "e.parquet"
    pq.write_table(
        pa.table(
            {
                "test_id": ["t1"],
                "channel": pa.array(["search"]).dictionary_encode(),
                "geo": ["021"],
                "role": ["treatment"],
                "start_week": pa.array([datetime.date(2024, 7, 1)], pa.date32()),
                "end_week": ["2024-07-29"],
                "design": ["holdout"],
            }
        ),
        path,
    )
    assert scan_file(path, "experiments", {"021": 500_000}).accepted

"""Small-cell suppression: no small count published, none recoverable from published totals."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl
import pytest

from pipelines.small_cells import (
    SmallCellError,
    published_totals,
    suppress_small_cells,
    suppression_mask,
)

SAMPLE = Path(__file__).resolve().parents[2] / "data" / "sample"


def _determined_cells(
    values: np.ndarray,
    mask: np.ndarray,
    groups: list[np.ndarray],
    across_columns: bool,
    min_cell: int,
) -> int:
    """How many suppressed cells a reader could solve for exactly.

    The reader sees the published cells and every total of rule 2 whose value is not itself
    small (a total from 1 to min_cell - 1 is suppressed by ``published_totals``). Each total is
    a linear equation in the suppressed cells; a cell is determined when its unit vector lies in
    the row space of the equations of its connected component.
    """
    unknown = {tuple(ix): k for k, ix in enumerate(np.argwhere(mask))}
    equations: list[list[int]] = []
    for j in range(values.shape[1]):
        for members in groups:
            total = values[members, j].sum()
            if 1 <= total < min_cell:
                continue
            eq = [unknown[(int(i), j)] for i in members if mask[i, j]]
            if eq:
                equations.append(eq)
    if across_columns:
        for i in range(values.shape[0]):
            total = values[i].sum()
            if 1 <= total < min_cell:
                continue
            eq = [unknown[(i, j)] for j in range(values.shape[1]) if mask[i, j]]
            if eq:
                equations.append(eq)
    # connected components of unknowns linked by equations (union-find)
    parent = list(range(len(unknown)))

    def find(a: int) -> int:
        while parent[a] != a:
            parent[a] = parent[parent[a]]
            a = parent[a]
        return a

    for eq in equations:
        for u in eq[1:]:
            parent[find(u)] = find(eq[0])
    components: dict[int, list[int]] = {}
    for u in range(len(unknown)):
        components.setdefault(find(u), []).append(u)
    determined = 0
    for members in components.values():
        local = {u: k for k, u in enumerate(members)}
        rows = [eq for eq in equations if eq and find(eq[0]) == find(members[0])]
        if not rows:
            continue
        a = np.zeros((len(rows), len(members)))
        for r, eq in enumerate(rows):
            a[r, [local[u] for u in eq]] = 1.0
        rank = np.linalg.matrix_rank(a)
        for k in range(len(members)):
            e = np.zeros((1, len(members)))
            e[0, k] = 1.0
            if np.linalg.matrix_rank(np.vstack([a, e])) == rank:
                determined += 1
    return determined


def _groups(df: pl.DataFrame, group_cols: list[str]) -> list[np.ndarray]:
    if not group_cols:
        return [np.arange(df.height)]
    idx = df.select(group_cols).with_row_index("_r")
    return [np.array(r) for r in idx.group_by(group_cols).agg(pl.col("_r"))["_r"].to_list()]


def _check(df: pl.DataFrame, counts: list[str], groups: list[str], min_cell: int, across: bool):
    out = suppress_small_cells(df, counts, groups, min_cell, across_columns=across)
    values = np.column_stack([df[c].to_numpy() for c in counts])
    mask = suppression_mask(df, counts, groups, min_cell, across_columns=across)
    # 1. no small count published; every non-small value published unless a complement
    for j, c in enumerate(counts):
        published = out[c].to_numpy(allow_copy=True)
        shown = ~out[c].is_null().to_numpy()
        assert not ((published[shown] >= 1) & (published[shown] < min_cell)).any()
        assert (out[c].is_null().to_numpy() == mask[:, j]).all()
        assert (published[shown] == values[shown, j]).all()
    # 2. every group / row with a suppressed cell has >= 2 suppressed summing to >= min_cell,
    #    or is all suppressed with a small total
    for j in range(len(counts)):
        for members in _groups(df, groups):
            sup = mask[members, j]
            if sup.any():
                ok = sup.sum() >= 2 and values[members, j][sup].sum() >= min_cell
                small_total = values[members, j].sum() < min_cell
                assert ok or small_total
    # 3. nothing recoverable exactly from the published totals
    assert _determined_cells(values, mask, _groups(df, groups), across, min_cell) == 0
    return out, mask


def test_hand_built_frame() -> None:
    df = pl.DataFrame(
        {
            "week": [1, 1, 1, 1, 2, 2, 2],
            "geo": ["a", "b", "c", "d", "a", "b", "c"],
            "calls": [3, 40, 25, 0, 12, 5, 0],
            "bookings": [20, 2, 30, 0, 0, 15, 3],
        }
    )
    out, mask = _check(df, ["calls", "bookings"], ["week"], 11, across=False)
    assert out["calls"].to_list() == [None, 40, None, 0, None, None, 0]
    assert out["bookings"].to_list() == [None, None, 30, 0, 0, None, None]
    out, _ = _check(df, ["calls", "bookings"], ["week"], 11, across=True)
    assert out["calls"].null_count() >= 4


def test_single_small_cell_needs_a_complement() -> None:
    df = pl.DataFrame({"geo": ["a", "b", "c"], "n": [4, 50, 60]})
    out = suppress_small_cells(df, ["n"], [], 11)
    # the total (114) minus 60 would give 4 without the complement
    assert out["n"].to_list() == [None, None, 60]


def test_zero_is_published_and_not_a_complement() -> None:
    df = pl.DataFrame({"geo": ["a", "b", "c", "d"], "n": [0, 7, 0, 30]})
    out = suppress_small_cells(df, ["n"], [], 11)
    assert out["n"].to_list() == [0, None, 0, None]


def test_group_with_only_small_cells_has_its_total_suppressed() -> None:
    df = pl.DataFrame({"week": [1, 1, 2, 2], "geo": ["a", "b", "a", "b"], "n": [2, 3, 40, 50]})
    out = suppress_small_cells(df, ["n"], ["week"], 11)
    assert out["n"].to_list() == [None, None, 40, 50]
    totals = published_totals(df, ["n"], ["week"], 11)
    # week 1 total (5) is small; the grand total would then reveal it, so week 2's goes too
    assert totals["n"].to_list() == [None, None]


def test_min_cell_one_suppresses_nothing() -> None:
    df = pl.DataFrame({"geo": ["a", "b"], "n": [1, 2]})
    assert suppress_small_cells(df, ["n"], [], 1)["n"].to_list() == [1, 2]


def test_bad_input_is_refused_without_values() -> None:
    with pytest.raises(SmallCellError, match="nulls"):
        suppress_small_cells(pl.DataFrame({"n": [1, None]}), ["n"], [], 11)
    with pytest.raises(SmallCellError, match="negative"):
        suppress_small_cells(pl.DataFrame({"n": [1, -3]}), ["n"], [], 11)
    with pytest.raises(SmallCellError, match="not in the frame"):
        suppress_small_cells(pl.DataFrame({"n": [1]}), ["m"], [], 11)


@pytest.mark.parametrize("seed", range(5))
def test_random_frames_have_no_recoverable_cell(seed: int) -> None:
    rng = np.random.default_rng(seed)
    weeks, geos = 6, 7
    df = pl.DataFrame(
        {
            "week": np.repeat(np.arange(weeks), geos),
            "geo": np.tile(np.arange(geos), weeks),
            "calls": rng.negative_binomial(1, 0.12, weeks * geos),
            "bookings": rng.negative_binomial(1, 0.2, weeks * geos),
        }
    )
    for across in (False, True):
        _check(df, ["calls", "bookings"], ["week"], 11, across=across)


def _sample_new_patients() -> pl.DataFrame:
    if not (SAMPLE / "calls" / "calls.csv").exists():
        pytest.skip("data/sample not committed yet")
    schema = {"geo": pl.Utf8, "week_start": pl.Utf8}
    calls = pl.read_csv(SAMPLE / "calls" / "calls.csv", schema_overrides=schema)
    bookings = pl.read_csv(SAMPLE / "bookings" / "bookings.csv", schema_overrides=schema)
    keys = ["week_start", "geo"]
    c = calls.group_by(keys).agg(pl.col("new_patient_calls").sum())
    b = bookings.group_by(keys).agg(pl.col("new_patient_bookings").sum())
    return c.join(b, on=keys, how="full", coalesce=True).fill_null(0).sort(keys)


def test_sample_data_weekly_market_counts() -> None:
    df = _sample_new_patients()
    counts = ["new_patient_calls", "new_patient_bookings"]
    out, mask = _check(df, counts, ["week_start"], 11, across=True)
    assert mask.any(), "the sample should have some small market-weeks to protect"
    assert out.height == df.height


def test_sample_data_by_channel() -> None:
    if not (SAMPLE / "calls" / "calls.csv").exists():
        pytest.skip("data/sample not committed yet")
    calls = pl.read_csv(
        SAMPLE / "calls" / "calls.csv", schema_overrides={"geo": pl.Utf8, "week_start": pl.Utf8}
    )
    last = sorted(calls["week_start"].unique())[-8:]
    df = calls.filter(pl.col("week_start").is_in(last)).sort(["week_start", "channel", "geo"])
    _check(df, ["calls", "new_patient_calls"], ["week_start", "channel"], 11, across=False)
    totals = published_totals(df, ["new_patient_calls"], ["channel"], 11)
    shown = totals["new_patient_calls"].drop_nulls().to_numpy()
    assert not ((shown >= 1) & (shown < 11)).any()

"""Small-cell suppression: the one filter every published table goes through (docs/contract.md s.3).

The warehouse keeps true counts. Before anything is published (dashboards, exported tables, the
notebook's shown tables), market-level counts pass through ``suppress_small_cells`` and any
totals through ``published_totals``.

What is guaranteed, for a frame of market-level cells, its count columns ``count_cols``, its
grouping ``group_cols`` and the floor ``min_cell`` (``CLEARCOUNT_MIN_CELL``):

1. **Primary suppression.** No published cell holds a count from 1 to ``min_cell - 1``: such
   cells become null. Zero is published (a zero reveals nobody).
2. **Complementary suppression.** The totals a reader may see are: per count column, the sum of
   each group of rows sharing ``group_cols`` (all rows when ``group_cols`` is empty), and, with
   ``across_columns=True``, the sum of ``count_cols`` within each row (e.g. calls + bookings).
   In every such group (and every such row), either no cell is suppressed, or at least two are
   and the true sum of the suppressed cells is ``min_cell`` or more. So subtracting the published
   cells from a published total gives the sum of two or more suppressed cells, never one cell's
   value and never a small count. The complement chosen is the smallest non-zero unsuppressed
   cell of the group (ties: first row), to lose as little as possible; the rules are applied
   again until nothing changes, because a complement in one group can open another group.
3. **Totals.** Where every non-zero cell of a group is suppressed and their sum is still below
   ``min_cell``, the group's total itself is small: ``published_totals`` computes group totals
   from the true frame and applies rules 1 and 2 to them (with the grand total as the published
   sum), so such a total is suppressed too.

4. **Audit.** After rules 1-2, ``determined_cells`` solves the published totals as a linear
   system (per connected component, via its null space); while any primary cell (true value 1
   to ``min_cell - 1``) is determined exactly, one more neighbouring cell (same group or row,
   smallest value first) is suppressed and rules 1-2 run again. Complements themselves
   (``min_cell`` or more) may be recoverable; they are not small counts.

Not guaranteed: intervals. A reader who knows these rules can bound a suppressed cell (e.g.
"between 2 and 3"); exact values are not recoverable from the published cells and the totals
above (tests check this with a linear-algebra audit on the sample data). Totals computed in
other ways (other groupings, differences between refreshes) are outside this guarantee: publish
only totals made by ``published_totals``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import polars as pl


class SmallCellError(ValueError):
    """The frame cannot be suppressed as asked (value-free message)."""


def suppression_mask(
    df: pl.DataFrame,
    count_cols: Sequence[str],
    group_cols: Sequence[str] = (),
    min_cell: int = 11,
    across_columns: bool = False,
) -> np.ndarray:
    """Which cells ``suppress_small_cells`` nulls.

    Returns:
        Boolean array of shape ``(n_rows, len(count_cols))``; True = suppressed.
    """
    count_cols = list(count_cols)
    _validate(df, count_cols, group_cols, min_cell)
    n = df.height
    values = np.column_stack([df[c].cast(pl.Int64).to_numpy() for c in count_cols]).reshape(
        n, len(count_cols)
    )
    primary = (values >= 1) & (values < min_cell)
    mask = primary.copy()
    groups = _group_members(df, group_cols)
    while True:
        _complement_fixpoint(values, mask, groups, across_columns, min_cell)
        exposed = determined_cells(values, mask, groups, across_columns) & primary
        if not exposed.any():
            return mask
        progressed = False
        for i, j in np.argwhere(exposed):
            progressed |= _suppress_neighbour(values, mask, groups, across_columns, i, j)
        if not progressed:
            return mask  # every neighbour is suppressed already; totals must be withheld


def _complement_fixpoint(
    values: np.ndarray,
    mask: np.ndarray,
    groups: list[np.ndarray],
    across_columns: bool,
    min_cell: int,
) -> None:
    """Apply rule 2 to every column group (and row) until nothing changes."""
    changed = True
    while changed:
        changed = False
        for j in range(values.shape[1]):
            for members in groups:
                changed |= _complement(
                    values[members, j], mask[members, j], min_cell, _set_col(mask, members, j)
                )
        if across_columns:
            for i in range(values.shape[0]):
                changed |= _complement(values[i], mask[i], min_cell, _set_row(mask, i))


def _set_col(mask: np.ndarray, members: np.ndarray, j: int):
    def setter(k: int) -> None:
        mask[members[k], j] = True

    return setter


def _set_row(mask: np.ndarray, i: int):
    def setter(k: int) -> None:
        mask[i, k] = True

    return setter


def _complement(vals: np.ndarray, sup: np.ndarray, min_cell: int, suppress) -> bool:
    """Suppress one more cell of a group whose suppressed cells are unsafe (rule 2).

    Safe: none suppressed, or two or more whose true sum is ``min_cell`` or more. Otherwise the
    smallest non-zero unsuppressed cell is added; when none is left but only one cell is
    suppressed, a zero cell is added so that the total does not equal that one cell.
    """
    if not sup.any():
        return False
    count, total = int(sup.sum()), int(vals[sup].sum())
    if count >= 2 and total >= min_cell:
        return False
    candidates = np.flatnonzero(~sup & (vals > 0))
    if candidates.size == 0 and count < 2:
        candidates = np.flatnonzero(~sup)
    if candidates.size == 0:
        return False  # all suppressed with a small total: published_totals withholds it
    suppress(int(candidates[np.argmin(vals[candidates])]))
    return True


def _suppress_neighbour(
    values: np.ndarray,
    mask: np.ndarray,
    groups: list[np.ndarray],
    across_columns: bool,
    i: int,
    j: int,
) -> bool:
    """Suppress the smallest unsuppressed cell sharing a group (or the row) with cell (i, j)."""
    options: list[tuple[int, int]] = []
    for members in groups:
        if i in members:
            options.extend((int(r), j) for r in members if not mask[r, j])
            break
    if across_columns:
        options.extend((i, int(c)) for c in range(values.shape[1]) if not mask[i, c])
    if not options:
        return False
    r, c = min(options, key=lambda rc: (values[rc] == 0, values[rc]))
    mask[r, c] = True
    return True


def determined_cells(
    values: np.ndarray,
    mask: np.ndarray,
    groups: list[np.ndarray],
    across_columns: bool,
) -> np.ndarray:
    """Suppressed cells a reader could solve for exactly from the published cells and totals.

    Every column total of every group (and, with ``across_columns``, every row total) is taken
    as published, small or not (stricter than ``published_totals``). Each total is a linear
    equation in the suppressed cells; a cell is determined exactly when every vector of the
    null space of its connected component's equations is zero at that cell.

    Returns:
        Boolean array like ``mask``.
    """
    cells = [tuple(map(int, ix)) for ix in np.argwhere(mask)]
    index = {cell: k for k, cell in enumerate(cells)}
    equations: list[list[int]] = []
    for j in range(values.shape[1]):
        for members in groups:
            eq = [index[(int(r), j)] for r in members if mask[r, j]]
            if eq:
                equations.append(eq)
    if across_columns:
        for i in range(values.shape[0]):
            eq = [index[(i, int(c))] for c in range(values.shape[1]) if mask[i, c]]
            if eq:
                equations.append(eq)
    parent = list(range(len(cells)))

    def find(a: int) -> int:
        while parent[a] != a:
            parent[a] = parent[parent[a]]
            a = parent[a]
        return a

    for eq in equations:
        for u in eq[1:]:
            parent[find(u)] = find(eq[0])
    by_component: dict[int, list[list[int]]] = {}
    for eq in equations:
        by_component.setdefault(find(eq[0]), []).append(eq)
    out = np.zeros_like(mask)
    for eqs in by_component.values():
        unknowns = sorted({u for eq in eqs for u in eq})
        local = {u: k for k, u in enumerate(unknowns)}
        a = np.zeros((len(eqs), len(unknowns)))
        for r, eq in enumerate(eqs):
            a[r, [local[u] for u in eq]] = 1.0
        _, sv, vt = np.linalg.svd(a)
        rank = int((sv > 1e-9 * max(1.0, sv.max(initial=0.0))).sum())
        null = vt[rank:]  # rows span the null space
        fixed = np.abs(null).sum(axis=0) < 1e-9 if null.size else np.ones(len(unknowns), bool)
        for k, u in enumerate(unknowns):
            if fixed[k]:
                out[cells[u]] = True
    return out


def suppress_small_cells(
    df: pl.DataFrame,
    count_cols: Sequence[str],
    group_cols: Sequence[str] = (),
    min_cell: int = 11,
    across_columns: bool = False,
) -> pl.DataFrame:
    """Null small counts and their complements (see the module docstring for the guarantee).

    Args:
        df: one row per market-level cell (e.g. week x market x channel); counts non-negative
            whole numbers, no nulls.
        count_cols: the count columns to protect (people counts such as new patients).
        group_cols: rows sharing these values form a group whose per-column total may be
            published (e.g. ``["week_start"]`` when a weekly total over markets is shown).
        min_cell: counts from 1 to ``min_cell - 1`` are suppressed (``CLEARCOUNT_MIN_CELL``).
        across_columns: the sum of ``count_cols`` within a row may be published as well.

    Returns:
        ``df`` with suppressed counts set to null (Int64); other columns unchanged.

    Raises:
        SmallCellError: unknown columns, nulls or negative values in counts, min_cell < 1.
    """
    mask = suppression_mask(df, count_cols, group_cols, min_cell, across_columns)
    out = df.with_columns(
        pl.when(pl.Series(mask[:, j])).then(None).otherwise(pl.col(c).cast(pl.Int64)).alias(c)
        for j, c in enumerate(count_cols)
    )
    return out


def published_totals(
    df: pl.DataFrame,
    count_cols: Sequence[str],
    group_cols: Sequence[str],
    min_cell: int = 11,
) -> pl.DataFrame:
    """Group totals of the true counts, with small totals and their complements suppressed.

    Args:
        df: the true (unsuppressed) market-level frame.
        count_cols: count columns to total.
        group_cols: the grouping of the totals (one row per group in the result).
        min_cell: the small-cell floor.

    Returns:
        One row per group (sorted by ``group_cols``) with the totals; a total from 1 to
        ``min_cell - 1`` is null, and so is a complementary total wherever the grand total
        would otherwise reveal it.
    """
    _validate(df, list(count_cols), group_cols, min_cell)
    totals = df.group_by(list(group_cols)).agg(pl.col(c).sum() for c in count_cols)
    totals = totals.sort(list(group_cols))
    return suppress_small_cells(totals, count_cols, (), min_cell)


def _validate(
    df: pl.DataFrame, count_cols: Sequence[str], group_cols: Sequence[str], min_cell: int
) -> None:
    if min_cell < 1:
        raise SmallCellError("min_cell must be at least 1")
    missing = [c for c in [*count_cols, *group_cols] if c not in df.columns]
    if missing:
        raise SmallCellError(f"columns not in the frame: {', '.join(missing)}")
    for c in count_cols:
        col = df[c]
        if col.null_count():
            raise SmallCellError(f"count column {c} has nulls")
        if col.dtype.is_float() and not (col.round(0) == col).all():
            raise SmallCellError(f"count column {c} is not whole numbers")
        if df.height and col.min() < 0:
            raise SmallCellError(f"count column {c} has negative values")


def _group_members(df: pl.DataFrame, group_cols: Sequence[str]) -> list[np.ndarray]:
    """Row indices of each group (one group of all rows when ``group_cols`` is empty)."""
    if df.height == 0:
        return []
    if not group_cols:
        return [np.arange(df.height)]
    idx = df.select(list(group_cols)).with_row_index("_row")
    grouped = idx.group_by(list(group_cols), maintain_order=True).agg(pl.col("_row"))
    return [np.asarray(rows, dtype=np.int64) for rows in grouped["_row"].to_list()]

"""The privacy guard's scan of one landing file (CONTRACT.md section 3).

``scan_file`` reads the file as text into a private in-memory DuckDB (never the warehouse),
checks the feed's column contract, types, Mondays, keys, totals, geos and the Safe Harbor ZIP
rules, and looks for individual-level values (e-mail, phone, SSN, ...) in every text column after
NFKC normalisation. It returns counts per (rule, column), never a value. The SQL is in
``sql/guard/``: ``column_rules.sql`` (types), ``checks.sql`` (keys, totals, geos, markets) and
``value_rules.sql`` (value patterns).

Which columns the value patterns read: every text-like column (``text``, ``geo``, ``slug``,
``enum`` and any column not in the contract) in full; for numeric and date columns only the
values that fail their type, so a week date is never taken for a birth date and a spend amount
never for a phone number, while a phone typed into a count column is still named. A column
whose name is identifier-like (``Caller Name``, ``Recording URL``, ``Start Time``) is reported as
``identifier_column`` and its values are not pattern-scanned: the file is rejected by its header
already, and skipping the column keeps an individual-level export of a million rows within a few
seconds. Such columns are listed in ``ScanResult.unscanned``; every rule that fired on every
other column is reported.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path

import duckdb

from pipelines.feeds import FEEDS, RESTRICTED_ZIP3, SLUG_PATTERN, Column, ColumnType, Feed
from pipelines.guard import normalise
from pipelines.guard.errors import GuardError
from pipelines.guard.names import is_identifier_name, looks_like_data
from pipelines.guard.read import (
    Digest,
    Unreadable,
    digest,
    load_csv,
    load_parquet,
    plain_path,
    read_header,
)
from pipelines.guard.result import RuleHit, ScanResult, display_column
from pipelines.guard.sql import fill, quote_ident, quote_literal, run, snippets, statement

COLUMN_RULES = "guard/column_rules.sql"
CHECKS = "guard/checks.sql"
VALUE_RULES = "guard/value_rules.sql"

RULE_ORDER: tuple[str, ...] = (
    "unreadable",
    "missing_column",
    "unknown_column",
    "identifier_column",
    "bad_type",
    "not_monday",
    "duplicate_key",
    "negative_value",
    "count_exceeds_total",
    "unknown_geo",
    "bad_slug",
    "zip5",
    "restricted_zip3",
    "small_zip3",
    "email",
    "phone",
    "ssn",
    "ip_address",
    "url",
    "click_id",
    "device_id",
    "mac_address",
    "hashed_id",
    "medicare_id",
    "card_number",
    "date_of_birth",
    "street_address",
)
"""Every rule id the guard reports, in the order hits are listed."""

VALUE_BUDGET = 250_000
"""Distinct values the value patterns read, at most, in a file already rejected by structure."""

STRUCTURE_RULES = frozenset({"unreadable", "missing_column", "unknown_column", "identifier_column"})

# Column types whose values are read in full by the value patterns.
TEXT_LIKE = frozenset({ColumnType.TEXT, ColumnType.GEO, ColumnType.SLUG, ColumnType.ENUM})


@dataclass
class _Col:
    """One column of the file as the scan sees it."""

    position: int  # 0-based
    internal: str  # c0, c1, ... in guard_scan
    shown: str  # display-safe name
    contract: Column | None  # None: not a column of the feed
    identifier: bool = False  # name looks like an identifier: values are not pattern-scanned

    @property
    def ref(self) -> str:
        return quote_ident(self.internal)


class _Hits:
    """Collects hits keyed by (rule, column) and orders them."""

    def __init__(self) -> None:
        self._hits: dict[tuple[str, str | None], tuple[int, int]] = {}

    def add(self, rule: str, column: str | None, rows: int, position: int = -1) -> None:
        if rows <= 0 and rule not in STRUCTURE_RULES:
            return  # value rules that found nothing; structure rules count even on 0 rows
        key = (rule, column)
        old = self._hits.get(key, (0, position))[0]
        self._hits[key] = (old + int(rows), position)

    def structurally_rejected(self) -> bool:
        """True when a structure rule (no header, wrong or identifier columns) has fired."""
        return any(rule in STRUCTURE_RULES for rule, _ in self._hits)

    def result(self) -> tuple[RuleHit, ...]:
        order = {rule: i for i, rule in enumerate(RULE_ORDER)}
        items = sorted(
            self._hits.items(), key=lambda kv: (order.get(kv[0][0], 99), kv[1][1], kv[0][1] or "")
        )
        return tuple(RuleHit(rule, column, rows) for (rule, column), (rows, _) in items)


def scan_file(path: Path, feed: str, known_geos: Collection[str] | None = None) -> ScanResult:
    """Scan one landing file against a feed's contract and the privacy rules.

    Args:
        path: a ``.csv`` (UTF-8, comma, header row) or ``.parquet`` file.
        feed: the feed name (a key of ``pipelines.feeds.FEEDS``).
        known_geos: geo codes of the ``markets`` feed; None skips the ``unknown_geo`` rule (for a
            markets file, or when no markets feed exists).

    Returns:
        The verdict with counts per (rule, column). Never a value from the file.

    Raises:
        GuardError: unknown feed, the file cannot be opened, or an internal failure; the
            message is value-free and raised ``from None``.
    """
    path = Path(path)
    if feed not in FEEDS:
        raise GuardError(f"unknown feed name; expected one of {', '.join(FEEDS)}") from None
    try:
        dig = digest(path)
    except OSError:
        raise GuardError(f"cannot read file {path.name}") from None
    conn = duckdb.connect(":memory:")
    try:
        run(conn, "SET preserve_insertion_order = false; SET enable_progress_bar = false")
        if not dig.ascii:
            normalise.register(conn)  # only non-ASCII text needs NFKC
        rows, hits, unscanned = _scan(conn, path, FEEDS[feed], dig, known_geos)
    except Exception as error:  # DuckDB and library messages may quote a row: never pass them on
        kind = type(error).__name__
        raise GuardError(f"internal error ({kind}) while scanning {path.name}") from None
    finally:
        conn.close()
    return ScanResult(
        path=path,
        file_name=path.name,
        sha256=dig.sha256,
        feed=feed,
        rows=rows,
        hits=hits,
        unscanned=unscanned,
    )


def _scan(
    conn: duckdb.DuckDBPyConnection,
    path: Path,
    feed: Feed,
    dig: Digest,
    known_geos: Collection[str] | None,
) -> tuple[int, tuple[RuleHit, ...], tuple[str, ...]]:
    hits = _Hits()
    is_parquet = path.suffix.lower() == ".parquet"
    headerless = False
    try:
        if dig.size == 0:
            raise Unreadable("empty file")
        if is_parquet:
            with plain_path(path) as source:
                names, rows = load_parquet(conn, source)
        else:
            if dig.nul or not dig.utf8:
                raise Unreadable("not UTF-8 text")
            names = read_header(path)
            with plain_path(path) as source:
                rows = load_csv(conn, source, len(names))
            headerless = not set(names) <= set(feed.column_names) and _header_is_data(conn, names)
    except Unreadable:
        hits.add("unreadable", None, 0)
        return 0, hits.result(), ()

    if headerless:
        # The first line is data: name no column by its "header" text, scan it as data too.
        hits.add("unreadable", None, rows + 1)
        cols = [_Col(i, f"c{i}", f"column#{i + 1}", None) for i in range(len(names))]
        _distinct(conn, cols)
        _value_rules(conn, cols, hits, dig.ascii, header_cells=names)
        return rows + 1, hits.result(), tuple(c.shown for c in cols if c.identifier)

    cols = _structure(names, feed, rows, hits)
    _distinct(conn, cols)
    _column_rules(conn, cols, hits)
    _checks(conn, feed, cols, hits, known_geos)
    _value_rules(conn, cols, hits, dig.ascii)
    unscanned = tuple(c.shown for c in cols if c.identifier)
    return rows, hits.result(), unscanned


def _header_is_data(conn: duckdb.DuckDBPyConnection, names: list[str]) -> bool:
    """True when a header cell is a number or date, or matches a value pattern (e-mail, ...)."""
    if any(looks_like_data(n) for n in names if n.strip()):
        return True
    _insert_cells(conn, names, create=True)
    if not all(n.isascii() for n in names):
        run(conn, snippets(CHECKS)["normalise"])
    counts = run(conn, statement(VALUE_RULES))
    return any(any(int(x) > 0 for x in row[1:]) for row in counts)


def _temp_list(conn: duckdb.DuckDBPyConnection, table: str, column: str, values: list[str]) -> None:
    """A one-column temp table of strings, passed as a parameter (never spliced into SQL)."""
    conn.execute(
        f"CREATE OR REPLACE TEMP TABLE {table} AS SELECT unnest($1::VARCHAR[]) AS {column}",
        [values],
    ).fetchall()


def _insert_cells(conn: duckdb.DuckDBPyConnection, cells: list[str], create: bool) -> None:
    """Add header cells to guard_values as (position, text, 1), passed as parameters."""
    if create:
        run(conn, "CREATE OR REPLACE TEMP TABLE guard_values (col INTEGER, v VARCHAR, n BIGINT)")
    conn.execute(
        "INSERT INTO guard_values SELECT generate_subscripts($1::VARCHAR[], 1) - 1, "
        "unnest($1::VARCHAR[]), 1",
        [list(cells)],
    ).fetchall()
    run(conn, "DELETE FROM guard_values WHERE v IS NULL OR v = ''")


def _structure(names: list[str], feed: Feed, rows: int, hits: _Hits) -> list[_Col]:
    """Map file columns onto the contract; count missing, unknown and identifier columns."""
    cols: list[_Col] = []
    seen: set[str] = set()
    for i, name in enumerate(names):
        if name in feed.column_names and name not in seen:
            seen.add(name)
            cols.append(_Col(i, f"c{i}", name, feed.column(name)))
            continue
        shown = display_column(name, i + 1)
        cols.append(_Col(i, f"c{i}", shown, None))
        hits.add("unknown_column", shown, rows, i)
        if is_identifier_name(name):
            hits.add("identifier_column", shown, rows, i)
            cols[-1].identifier = True
    for j, required in enumerate(feed.required_names):
        if required not in seen:
            hits.add("missing_column", required, rows, len(names) + j)
    return cols


def _type_key(column: Column) -> str:
    return column.type.value


def _valid_expr(column: Column, ref: str) -> str:
    sections = snippets(COLUMN_RULES)
    expr = sections[f"{_type_key(column)}:valid"]
    return _fill_column(expr, column, ref)


def _fill_column(expr: str, column: Column, ref: str) -> str:
    values = ", ".join(quote_literal(v) for v in column.values) or "NULL"
    return fill(expr, v=ref, slug_pattern=SLUG_PATTERN.replace("'", "''"), values=values)


def _distinct(conn: duckdb.DuckDBPyConnection, cols: list[_Col]) -> None:
    """``guard_distinct(col, v, n)``: each column's distinct raw values (NULL included) and their
    row counts, for every column except identifier columns. All per-column rules read this."""
    template = snippets(CHECKS)["distinct"]
    parts = [fill(template, col=str(c.position), v=c.ref) for c in cols if not c.identifier]
    if parts:
        run(conn, "CREATE OR REPLACE TEMP TABLE guard_distinct AS " + "\nUNION ALL\n".join(parts))
    else:
        run(conn, "CREATE OR REPLACE TEMP TABLE guard_distinct (col INTEGER, v VARCHAR, n BIGINT)")


def _column_rules(conn: duckdb.DuckDBPyConnection, cols: list[_Col], hits: _Hits) -> None:
    """Type rules of ``column_rules.sql`` for every contract column, in one pass over
    ``guard_distinct`` (counts are weighted by rows)."""
    sections = snippets(COLUMN_RULES)
    aggregates: list[tuple[str, _Col, str]] = []
    for col in cols:
        if col.contract is None:
            continue
        key = _type_key(col.contract)
        valid = _valid_expr(col.contract, "v")
        if col.contract.required:
            aggregates.append(("bad_type", col, "v IS NULL OR v = ''"))
        for name, expr in sections.items():
            type_name, rule = name.split(":")
            if type_name != key or rule == "valid":
                continue
            body = _fill_column(expr.replace("__valid__", f"({valid})"), col.contract, "v")
            aggregates.append((rule, col, f"v <> '' AND ({body})"))
        if col.contract.positive:
            aggregates.append(("bad_type", col, "v <> '' AND TRY_CAST(v AS BIGINT) <= 0"))
    if not aggregates:
        return
    select = ", ".join(
        f"coalesce(sum(n) FILTER (WHERE col = {col.position} AND ({cond})), 0)"
        for _, col, cond in aggregates
    )
    counts = run(conn, f"SELECT {select} FROM guard_distinct")[0]
    for (rule, col, _), count in zip(aggregates, counts, strict=True):
        hits.add(rule, col.shown, int(count), col.position)


def _checks(
    conn: duckdb.DuckDBPyConnection,
    feed: Feed,
    cols: list[_Col],
    hits: _Hits,
    known_geos: Collection[str] | None,
) -> None:
    """Keys, count totals, geos against markets, and the markets' own geo rules."""
    sections = snippets(CHECKS)
    by_name = {c.contract.name: c for c in cols if c.contract is not None}
    if all(k in by_name for k in feed.key):
        sql = fill(sections["duplicate_key"], key=", ".join(by_name[k].ref for k in feed.key))
        count = run(conn, sql)[0][0]
        hits.add("duplicate_key", "+".join(feed.key), int(count), by_name[feed.key[0]].position)
    for part, total in feed.totals:
        if part in by_name and total in by_name:
            sql = fill(
                sections["count_exceeds_total"], part=by_name[part].ref, total=by_name[total].ref
            )
            count = run(conn, sql)[0][0]
            hits.add("count_exceeds_total", part, int(count), by_name[part].position)
    geo_cols = [c for c in cols if c.contract is not None and c.contract.type is ColumnType.GEO]
    if known_geos is not None and geo_cols:
        _temp_list(conn, "guard_known_geos", "geo", sorted(set(known_geos)))
        for col in geo_cols:
            count = run(conn, fill(sections["unknown_geo"], col=str(col.position)))[0][0]
            hits.add("unknown_geo", col.shown, int(count), col.position)
    if feed.name == "markets" and "geo" in by_name and "geo_type" in by_name:
        _temp_list(conn, "guard_restricted_zip3", "zip3", sorted(RESTRICTED_ZIP3))
        population = by_name["population"].ref if "population" in by_name else "NULL"
        sql = fill(
            sections["markets"],
            geo=by_name["geo"].ref,
            geo_type=by_name["geo_type"].ref,
            population=population,
            slug_pattern=SLUG_PATTERN.replace("'", "''"),
        )
        bad_type, restricted_n, small_n = run(conn, sql)[0]
        geo = by_name["geo"]
        hits.add("bad_type", geo.shown, int(bad_type), geo.position)
        hits.add("restricted_zip3", geo.shown, int(restricted_n), geo.position)
        hits.add("small_zip3", geo.shown, int(small_n), geo.position)


def _value_rules(
    conn: duckdb.DuckDBPyConnection,
    cols: list[_Col],
    hits: _Hits,
    ascii_only: bool,
    header_cells: list[str] | None = None,
) -> None:
    """Value patterns over the distinct values of every scanned column (typed columns: only
    the values that fail their type).

    When the file is already rejected by its structure (no header row, unknown or identifier
    columns), columns are scanned in file order while their distinct values add up to at most
    ``VALUE_BUDGET``; a column that would exceed it is skipped (listed as unscanned), so a million-row export is rejected in seconds. Every rule that fired on a
    scanned column is reported. A file with a clean structure is always scanned in full.
    """
    if hits.structurally_rejected():
        distinct = dict(run(conn, "SELECT col, count(*) FROM guard_distinct GROUP BY col"))
        used = 0
        for col in cols:
            if col.identifier:
                continue
            size = int(distinct.get(col.position, 0))
            if used + size > VALUE_BUDGET:
                col.identifier = True  # not scanned; listed in ScanResult.unscanned
            else:
                used += size
    scopes = []
    for col in cols:
        if col.identifier:
            continue
        if col.contract is None or col.contract.type in TEXT_LIKE:
            scopes.append(f"col = {col.position}")
        else:
            valid = _valid_expr(col.contract, "v")
            scopes.append(f"(col = {col.position} AND NOT ({valid}))")
    where = " OR ".join(scopes) or "FALSE"
    run(conn, fill(snippets(CHECKS)["values"], scope=where))
    if header_cells is not None:
        _insert_cells(conn, header_cells, create=False)
        skipped = [str(c.position) for c in cols if c.identifier]
        if skipped:
            run(conn, f"DELETE FROM guard_values WHERE col IN ({', '.join(skipped)})")
        ascii_only = ascii_only and all(c.isascii() for c in header_cells)
    if not ascii_only:
        run(conn, snippets(CHECKS)["normalise"])
    cursor = conn.execute(statement(VALUE_RULES))
    rule_names = [d[0] for d in cursor.description][1:]
    shown = {c.position: c for c in cols}
    for row in cursor.fetchall():
        col = shown[int(row[0])]
        for rule, count in zip(rule_names, row[1:], strict=True):
            hits.add(rule, col.shown, int(count), col.position)

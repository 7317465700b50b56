"""The rule passes of a guard scan over the in-memory ``guard_scan`` table of one file.

``distinct`` builds ``guard_distinct(col, v, n)`` (each column's distinct raw values with their
row counts); ``column_rules`` (types, ``sql/guard/column_rules.sql``), ``checks`` (keys, totals,
geos, markets, ``sql/guard/checks.sql``) and ``value_rules`` (value patterns,
``sql/guard/value_rules.sql``) read it and add counts to a ``Hits``. A rule that hits rows
is then asked for the positions of its first rows in ``guard_scan`` (a second query only when it
hit, so a clean file pays nothing for them). Values from the file travel only as SQL parameters
or stay inside DuckDB.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from functools import cache

import duckdb

from pipelines.feeds import RESTRICTED_ZIP3, SLUG_PATTERN, Column, ColumnType, Feed
from pipelines.guard import allowlists, person_names
from pipelines.guard.file_names import name_on_allowlist
from pipelines.guard.hits import ROWS_SHOWN, Hits, ScanColumn
from pipelines.guard.names import looks_like_data
from pipelines.guard.read import HEADER_ROW
from pipelines.guard.sql import fill, quote_ident, quote_literal, run, snippets, statement

COLUMN_RULES = "guard/column_rules.sql"
CHECKS = "guard/checks.sql"
VALUE_RULES = "guard/value_rules.sql"

VALUE_BUDGET = 250_000
"""Distinct values the value patterns read, at most, in a file already rejected by structure."""

SEARCH_FIRST = 10_000
"""Rows searched first for a hit's first rows (an individual-level export hits on every row);
all rows only when they hold fewer than a hit can show."""

# Column types whose values are read in full by the value patterns.
TEXT_LIKE = frozenset({ColumnType.TEXT, ColumnType.GEO, ColumnType.SLUG, ColumnType.ENUM})

# The contract's text fields (label, geo codes, slugs): their values are held to the text-field
# patterns too (any full date, any 5-digit run, a leading house number).
CONTRACT_TEXT = frozenset({ColumnType.TEXT, ColumnType.GEO, ColumnType.SLUG})


@cache
def value_rules_sql() -> str:
    """``value_rules.sql`` with the name lists of ``pipelines.guard.person_names`` filled in."""
    return fill(
        statement(VALUE_RULES),
        given_names="|".join(person_names.GIVEN_NAMES),
        surnames="|".join(person_names.SURNAMES),
        titles="|".join(person_names.TITLES),
    )


def header_is_data(conn: duckdb.DuckDBPyConnection, names: list[str]) -> bool:
    """True when a header cell is a number or date, or matches a value pattern (e-mail, ...)."""
    if any(looks_like_data(n) for n in names if n.strip()):
        return True
    return any(count > 0 for count in pattern_counts(conn, names).values())


def pattern_counts(
    conn: duckdb.DuckDBPyConnection, cells: list[str], text: bool = True
) -> dict[str, int]:
    """How many of ``cells`` (texts that are not column values: header cells, a file name)
    each value pattern of ``value_rules.sql`` matches (``text``: see ``insert_cells``)."""
    insert_cells(conn, cells, create=True, text=text)
    if not all(c.isascii() for c in cells):
        run(conn, snippets(CHECKS)["normalise"])
    rules = _match_patterns(conn)
    totals = dict.fromkeys(rules, 0)
    for _, *counts in _pattern_counts_by_col(conn, rules):
        for rule, count in zip(rules, counts, strict=True):
            totals[rule] += int(count)
    return totals


def _match_patterns(conn: duckdb.DuckDBPyConnection) -> list[str]:
    """Match the value patterns over ``guard_values`` into ``guard_value_flags`` (col, raw, n
    and a boolean per rule, ``value_rules.sql``); return the rule ids, in its column order."""
    run(conn, f"CREATE OR REPLACE TEMP TABLE guard_value_flags AS {value_rules_sql()}")
    return [str(row[0]) for row in run(conn, "DESCRIBE guard_value_flags")[3:]]


def _pattern_counts_by_col(conn: duckdb.DuckDBPyConnection, rules: list[str]) -> list[tuple]:
    """Per col of ``guard_value_flags``: (col, rows matching each rule in ``rules``)."""
    counts = ", ".join(f"coalesce(sum(n) FILTER (WHERE {quote_ident(r)}), 0)" for r in rules)
    return run(conn, f"SELECT col, {counts} FROM guard_value_flags GROUP BY col ORDER BY col")


def _pattern_rows(
    conn: duckdb.DuckDBPyConnection, col: ScanColumn, counts: dict[str, int]
) -> dict[str, list[int]]:
    """The first rows of ``col`` whose value matched each rule of ``counts`` (rule -> rows
    that hit it, all above 0)."""
    rules = list(counts)
    sql = fill(
        snippets(CHECKS)["pattern_rows"],
        first_rows=", ".join(
            f"min(r, {ROWS_SHOWN}) FILTER (WHERE {quote_ident(r)})" for r in rules
        ),
        any=" OR ".join(quote_ident(r) for r in rules),
        col=str(col.position),
        v=col.ref,
        header_row=str(HEADER_ROW),
    )
    return dict(zip(rules, _search_rows(conn, sql, list(counts.values())), strict=True))


def _first_rows(
    conn: duckdb.DuckDBPyConnection, col: ScanColumn, condition: str, count: int
) -> list[int]:
    """Positions of the first rows whose value ``v`` of ``col`` meets ``condition`` (``count``
    rows do)."""
    sql = fill(
        snippets(CHECKS)["value_rows"], v=col.ref, limit=str(ROWS_SHOWN), condition=condition
    )
    return _search_rows(conn, sql, [count])[0] or []


def _search_rows(conn: duckdb.DuckDBPyConnection, sql: str, counts: list[int]) -> tuple:
    """Run a query for first rows (one list per hit, ``__window__`` a filter on ``rowid``) over
    the first ``SEARCH_FIRST`` rows, and over all rows when a hit of ``counts`` rows found fewer
    than it can show there."""
    found = run(conn, fill(sql, window=f"rowid < {SEARCH_FIRST}"))[0]
    if all(len(rows or ()) >= min(n, ROWS_SHOWN) for rows, n in zip(found, counts, strict=True)):
        return found
    return run(conn, fill(sql, window="TRUE"))[0]


def _value_hits(
    conn: duckdb.DuckDBPyConnection, hits: Hits, rule: str, col: ScanColumn, condition: str
) -> None:
    """Add the rows of ``col`` whose value ``v`` meets ``condition`` as hits of ``rule``, with
    their first rows."""
    sql = fill(snippets(CHECKS)["value_count"], col=str(col.position), condition=condition)
    count = int(run(conn, sql)[0][0])
    first = _first_rows(conn, col, condition, count) if count else []
    hits.add(rule, col.shown, count, col.position, first)


FILE_NAME_COL = -1
"""The ``col`` under which the file's name is matched by the value patterns."""


def file_name_cells(name: str) -> list[str]:
    """The texts the value patterns read for a file name: as it is, and with ``_`` as ``.``."""
    return [name, name.replace("_", ".")]


def file_name(
    conn: duckdb.DuckDBPyConnection, name: str, hits: Hits, counts: dict[str, int] | None = None
) -> bool:
    """The file-name rules: ``bad_file_name`` when the name is off the allowlist, and each
    value pattern that matches the name (``email(file_name)=1``).

    Args:
        counts: the value patterns' counts for the name when ``value_rules`` already matched it;
            None matches it here.

    Returns:
        True when a value pattern matched (the name is then withheld wherever it is shown).
    """
    if not name_on_allowlist(name):
        hits.add("bad_file_name", None, 1)
    if counts is None:
        counts = pattern_counts(conn, file_name_cells(name), text=False)
    matched = False
    for rule, count in counts.items():
        if count:
            hits.add(rule, "file_name", 1)
            matched = True
    return matched


def _temp_list(conn: duckdb.DuckDBPyConnection, table: str, column: str, values: list[str]) -> None:
    """A one-column temp table of strings, passed as a parameter (never spliced into SQL)."""
    conn.execute(
        f"CREATE OR REPLACE TEMP TABLE {table} AS SELECT unnest($1::VARCHAR[]) AS {column}",
        [values],
    ).fetchall()


def insert_cells(
    conn: duckdb.DuckDBPyConnection,
    cells: list[str],
    create: bool,
    text: bool = True,
    col: int | None = None,
) -> None:
    """Add cells to guard_values as (position or ``col``, cell, 1, ``text``, raw NULL: a cell
    is not a row), passed as parameters.

    ``text`` holds header cells to the text-field patterns too (a compact date in a header cell
    means the header row is data); file names are not (``spend_20240108.csv``)."""
    if create:
        run(
            conn,
            "CREATE OR REPLACE TEMP TABLE guard_values "
            "(col INTEGER, v VARCHAR, n BIGINT, t BOOLEAN, raw VARCHAR)",
        )
    conn.execute(
        "INSERT INTO guard_values (col, v, n, t) "
        "SELECT coalesce($3, generate_subscripts($1::VARCHAR[], 1) - 1), unnest($1::VARCHAR[]), 1, $2",
        [list(cells), text, col],
    ).fetchall()
    run(conn, "DELETE FROM guard_values WHERE v IS NULL OR v = ''")


def _type_key(column: Column) -> str:
    """The section prefix of ``column_rules.sql``: the type, or ``text.<name>`` for TEXT."""
    return f"text.{column.name}" if column.type is ColumnType.TEXT else column.type.value


def _valid_expr(column: Column, ref: str) -> str:
    sections = snippets(COLUMN_RULES)
    expr = sections.get(f"{_type_key(column)}:valid", "TRUE")
    return _fill_column(expr, column, ref)


def _fill_column(expr: str, column: Column, ref: str) -> str:
    values = ", ".join(quote_literal(v) for v in column.values) or "NULL"
    return fill_allowlists(fill(expr, v=ref, values=values))


def fill_allowlists(sql: str) -> str:
    """Fill the allowlist placeholders of the guard's SQL (``pipelines.guard.allowlists``)."""
    return fill(
        sql,
        slug_pattern=SLUG_PATTERN.replace("'", "''"),
        slug_digit_run=f"[0-9]{{{allowlists.SLUG_MAX_DIGIT_RUN + 1}}}",
        state_codes=", ".join(quote_literal(c) for c in allowlists.STATE_CODES),
        label_pattern=allowlists.LABEL_PATTERN,
        dma_low=str(allowlists.DMA_RANGE[0]),
        dma_high=str(allowlists.DMA_RANGE[1]),
    )


def distinct(conn: duckdb.DuckDBPyConnection, cols: list[ScanColumn]) -> None:
    """``guard_distinct(col, v, n)``: each column's distinct raw values (NULL included) and their
    row counts, for every column except identifier columns. All per-column rules read this."""
    template = snippets(CHECKS)["distinct"]
    parts = [fill(template, col=str(c.position), v=c.ref) for c in cols if not c.identifier]
    if parts:
        run(conn, "CREATE OR REPLACE TEMP TABLE guard_distinct AS " + "\nUNION ALL\n".join(parts))
    else:
        run(conn, "CREATE OR REPLACE TEMP TABLE guard_distinct (col INTEGER, v VARCHAR, n BIGINT)")


def column_rules(conn: duckdb.DuckDBPyConnection, cols: list[ScanColumn], hits: Hits) -> None:
    """Type rules of ``column_rules.sql`` for every contract column, in one pass over
    ``guard_distinct`` (counts are weighted by rows)."""
    sections = snippets(COLUMN_RULES)
    aggregates: list[tuple[str, ScanColumn, str]] = []
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
    for (rule, col, cond), count in zip(aggregates, counts, strict=True):
        first = _first_rows(conn, col, cond, int(count)) if count else []
        hits.add(rule, col.shown, int(count), col.position, first)


PARQUET_KINDS: dict[ColumnType, frozenset[str]] = {
    ColumnType.TEXT: frozenset({"string"}),
    ColumnType.SLUG: frozenset({"string"}),
    ColumnType.GEO: frozenset({"string"}),
    ColumnType.ENUM: frozenset({"string"}),
    ColumnType.DATE: frozenset({"date", "string"}),
    ColumnType.MONDAY: frozenset({"date", "string"}),
    ColumnType.INTEGER: frozenset({"integer", "string"}),
    ColumnType.MONEY: frozenset({"integer", "decimal", "float", "string"}),
    ColumnType.NUMBER: frozenset({"integer", "decimal", "float", "string"}),
}
"""Parquet column kinds (``pipelines.guard.read.parquet_kinds``) each column type accepts: text
is a UTF-8 string, never raw bytes (a UTF-16 label would be stored as bytes)."""


def parquet_types(cols: list[ScanColumn], kinds: list[str], hits: Hits, rows: int) -> None:
    """``bad_parquet_type`` for every column whose Parquet type its contract type does not
    accept (any column outside the contract: binary, nested and other opaque types)."""
    for col, kind in zip(cols, kinds, strict=True):
        allowed = (
            PARQUET_KINDS[col.contract.type] if col.contract else frozenset({kind} - {"other"})
        )
        if kind not in allowed:
            hits.add("bad_parquet_type", col.shown, rows, col.position)


PER_HEAD: dict[str, tuple[str, float]] = {
    "calls": ("count_exceeds_population", allowlists.MAX_COUNT_SHARE),
    "new_patient_calls": ("count_exceeds_population", allowlists.MAX_COUNT_SHARE),
    "bookings": ("count_exceeds_population", allowlists.MAX_COUNT_SHARE),
    "new_patient_bookings": ("count_exceeds_population", allowlists.MAX_COUNT_SHARE),
    "spend": ("spend_per_head", allowlists.MAX_SPEND_PER_HEAD),
    "impressions": ("impressions_per_head", allowlists.MAX_IMPRESSIONS_PER_HEAD),
}
"""Numeric columns bounded per head of their market's population: column -> (rule, bound)."""


def checks(
    conn: duckdb.DuckDBPyConnection,
    feed: Feed,
    cols: list[ScanColumn],
    hits: Hits,
    known_geos: Collection[str] | Mapping[str, int | None] | None,
) -> None:
    """Keys, count totals, geos against markets, the markets' own rules, cardinality bounds and
    plausibility bounds of numbers (per head of the market's population where it is known)."""
    sections = snippets(CHECKS)
    by_name = {c.contract.name: c for c in cols if c.contract is not None}
    limit = str(ROWS_SHOWN)
    if all(k in by_name for k in feed.key):
        key = ", ".join(by_name[k].ref for k in feed.key)
        count = int(run(conn, fill(sections["duplicate_key"], key=key))[0][0])
        sql = fill(sections["duplicate_key_rows"], key=key, limit=limit)
        first = run(conn, sql)[0][0] if count else []
        hits.add("duplicate_key", "+".join(feed.key), count, by_name[feed.key[0]].position, first)
    for part, total in feed.totals:
        if part in by_name and total in by_name:
            sql = fill(
                sections["count_exceeds_total"],
                part=by_name[part].ref,
                total=by_name[total].ref,
                limit=limit,
            )
            count, first = run(conn, sql)[0]
            hits.add("count_exceeds_total", part, int(count), by_name[part].position, first)
    populations = _known_geos_table(conn, known_geos)
    geo_cols = [c for c in cols if c.contract is not None and c.contract.type is ColumnType.GEO]
    if known_geos is not None:
        for col in geo_cols:
            _value_hits(conn, hits, "unknown_geo", col, sections["unknown_geo"])
    if feed.name == "markets" and "geo" in by_name and "geo_type" in by_name:
        _markets(conn, by_name, hits)
    for name, limit in allowlists.MAX_DISTINCT.items():
        if name in by_name:
            col = by_name[name]
            sql = fill(sections["too_many_values"], col=str(col.position))
            if int(run(conn, sql)[0][0]) > limit:
                hits.add("too_many_values", col.shown, _rows(conn), col.position)
    geo = by_name.get("geo")
    for name, (rule, ratio) in PER_HEAD.items():
        if name in by_name and geo is not None:
            _per_head(conn, hits, rule, by_name[name], geo, ratio, populations)
    if feed.name == "controls" and "value" in by_name:
        above = fill(sections["above_cap"], cap=str(allowlists.MAX_CONTROL_VALUE))
        _value_hits(conn, hits, "implausible_value", by_name["value"], above)


def _rows(conn: duckdb.DuckDBPyConnection) -> int:
    return int(run(conn, "SELECT count(*) FROM guard_scan")[0][0])


def _known_geos_table(
    conn: duckdb.DuckDBPyConnection, known_geos: Collection[str] | Mapping[str, int | None] | None
) -> list[int]:
    """Create ``guard_known_geos(geo, population)``; return the known populations."""
    if isinstance(known_geos, Mapping):
        items = sorted((str(g), p) for g, p in known_geos.items())
    else:
        items = [(str(g), None) for g in sorted(set(known_geos or ()))]
    conn.execute(
        "CREATE OR REPLACE TEMP TABLE guard_known_geos AS "
        "SELECT unnest($1::VARCHAR[]) AS geo, unnest($2::BIGINT[]) AS population",
        [[g for g, _ in items], [p for _, p in items]],
    ).fetchall()
    return [int(p) for _, p in items if p is not None and int(p) > 0]


def _per_head(
    conn: duckdb.DuckDBPyConnection,
    hits: Hits,
    rule: str,
    col: ScanColumn,
    geo: ScanColumn,
    ratio: float,
    populations: list[int],
) -> None:
    """``rule`` for the rows whose value exceeds ``ratio`` times their market's population (the
    default population where it is unknown). A quick test on distinct values first: below the
    bound of the smallest market, no row can exceed its own."""
    sections = snippets(CHECKS)
    smallest = min(populations, default=allowlists.DEFAULT_POPULATION)
    quick = fill(sections["above_cap"], cap=repr(ratio * smallest))
    if not populations:
        _value_hits(conn, hits, rule, col, quick)
        return
    sql = fill(sections["value_count"], col=str(col.position), condition=quick)
    if int(run(conn, sql)[0][0]) == 0:
        return
    sql = fill(
        sections["above_cap_per_head"],
        geo=geo.ref,
        value=col.ref,
        ratio=repr(ratio),
        default_population=str(allowlists.DEFAULT_POPULATION),
        limit=str(ROWS_SHOWN),
    )
    count, first = run(conn, sql)[0]
    hits.add(rule, col.shown, int(count), col.position, first)


def _markets(conn: duckdb.DuckDBPyConnection, by_name: dict[str, ScanColumn], hits: Hits) -> None:
    """Geo codes by geo_type, Safe Harbor ZIP3 rules, small and implausible populations."""
    _temp_list(conn, "guard_restricted_zip3", "zip3", sorted(RESTRICTED_ZIP3))
    bounds = sorted(allowlists.MAX_POPULATION.items())
    conn.execute(
        "CREATE OR REPLACE TEMP TABLE guard_max_population AS "
        "SELECT unnest($1::VARCHAR[]) AS geo_type, unnest($2::BIGINT[]) AS max_population",
        [[t for t, _ in bounds], [n for _, n in bounds]],
    ).fetchall()
    population = by_name["population"].ref if "population" in by_name else "NULL"
    sql = fill_allowlists(
        fill(
            snippets(CHECKS)["markets"],
            geo=by_name["geo"].ref,
            geo_type=by_name["geo_type"].ref,
            population=population,
            min_population=str(allowlists.MIN_POPULATION),
            default_population=str(allowlists.DEFAULT_POPULATION),
            limit=str(ROWS_SHOWN),
        )
    )
    result = run(conn, sql)[0]
    counts, first_rows = result[0::2], result[1::2]  # per rule: count, first rows
    rules = ("bad_geo_code", "restricted_zip3", "small_zip3", "small_market")
    geo = by_name["geo"]
    for rule, count, first in zip(rules, counts[:4], first_rows[:4], strict=True):
        hits.add(rule, geo.shown, int(count), geo.position, first)
    if "population" in by_name:
        pop = by_name["population"]
        hits.add("implausible_population", pop.shown, int(counts[4]), pop.position, first_rows[4])


def value_rules(
    conn: duckdb.DuckDBPyConnection,
    cols: list[ScanColumn],
    hits: Hits,
    ascii_only: bool,
    header_cells: list[str] | None = None,
    name: str | None = None,
) -> dict[str, int]:
    """Value patterns over the distinct values of every scanned column (typed columns: only
    the values that fail their type), and over the file's ``name`` in the same pass.

    Returns:
        The patterns' counts for the file name (all 0 when ``name`` is None).

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
    text_cols = [
        str(c.position)
        for c in cols
        if c.contract is not None and c.contract.type in CONTRACT_TEXT and not c.identifier
    ]
    run(
        conn,
        fill(snippets(CHECKS)["values"], scope=where, text_cols=", ".join(text_cols) or "NULL"),
    )
    if header_cells is not None:
        insert_cells(conn, header_cells, create=False, text=False)
        skipped = [str(c.position) for c in cols if c.identifier]
        if skipped:
            run(conn, f"DELETE FROM guard_values WHERE col IN ({', '.join(skipped)})")
        ascii_only = ascii_only and all(c.isascii() for c in header_cells)
    if name is not None:
        insert_cells(conn, file_name_cells(name), create=False, text=False, col=FILE_NAME_COL)
        ascii_only = ascii_only and name.isascii()
    if not ascii_only:
        run(conn, snippets(CHECKS)["normalise"])
    rules = _match_patterns(conn)
    shown = {c.position: c for c in cols}
    name_counts = dict.fromkeys(rules, 0)
    for position, *counts in _pattern_counts_by_col(conn, rules):
        if int(position) == FILE_NAME_COL:
            name_counts = {r: int(n) for r, n in zip(rules, counts, strict=True)}
            continue
        col = shown[int(position)]
        hit = {rule: int(count) for rule, count in zip(rules, counts, strict=True) if count}
        first_rows = _pattern_rows(conn, col, hit) if hit else {}
        for rule, count in zip(rules, counts, strict=True):
            hits.add(rule, col.shown, int(count), col.position, first_rows.get(rule))
    return name_counts

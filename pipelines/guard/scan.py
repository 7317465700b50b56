"""The privacy guard's scan of one landing file (CONTRACT.md section 3).

``scan_file`` reads the file as text into a private in-memory DuckDB (never the warehouse),
checks the feed's column contract, types, Mondays, keys, totals, geos and the Safe Harbor ZIP
rules, and looks for individual-level values (e-mail, phone, SSN, ...) in every text column after
NFKC normalisation. It returns counts per (rule, column), never a value. The rule passes are
in ``pipelines.guard.passes`` and their SQL in ``sql/guard/``: ``column_rules.sql`` (types),
``checks.sql`` (keys, totals, geos, markets) and ``value_rules.sql`` (value patterns).

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
from pathlib import Path

import duckdb

from pipelines.feeds import FEEDS, Feed
from pipelines.guard import normalise, passes
from pipelines.guard.errors import GuardError
from pipelines.guard.hits import Hits, ScanColumn
from pipelines.guard.names import is_identifier_name
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
from pipelines.guard.sql import run


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
    hits = Hits()
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
            headerless = not set(names) <= set(feed.column_names) and passes.header_is_data(
                conn, names
            )
    except Unreadable:
        hits.add("unreadable", None, 0)
        return 0, hits.result(), ()

    if headerless:
        # The first line is data: name no column by its "header" text, scan it as data too.
        hits.add("unreadable", None, rows + 1)
        cols = [ScanColumn(i, f"c{i}", f"column#{i + 1}", None) for i in range(len(names))]
        passes.distinct(conn, cols)
        passes.value_rules(conn, cols, hits, dig.ascii, header_cells=names)
        return rows + 1, hits.result(), tuple(c.shown for c in cols if c.identifier)

    cols = _structure(names, feed, rows, hits)
    passes.distinct(conn, cols)
    passes.column_rules(conn, cols, hits)
    passes.checks(conn, feed, cols, hits, known_geos)
    passes.value_rules(conn, cols, hits, dig.ascii)
    unscanned = tuple(c.shown for c in cols if c.identifier)
    return rows, hits.result(), unscanned


def _structure(names: list[str], feed: Feed, rows: int, hits: Hits) -> list[ScanColumn]:
    """Map file columns onto the contract; count missing, unknown and identifier columns."""
    cols: list[ScanColumn] = []
    seen: set[str] = set()
    for i, name in enumerate(names):
        if name in feed.column_names and name not in seen:
            seen.add(name)
            cols.append(ScanColumn(i, f"c{i}", name, feed.column(name)))
            continue
        shown = display_column(name, i + 1)
        cols.append(ScanColumn(i, f"c{i}", shown, None))
        hits.add("unknown_column", shown, rows, i)
        if is_identifier_name(name):
            hits.add("identifier_column", shown, rows, i)
            cols[-1].identifier = True
    for j, required in enumerate(feed.required_names):
        if required not in seen:
            hits.add("missing_column", required, rows, len(names) + j)
    return cols

"""The privacy guard's scan of one landing file (docs/contract.md section 3, docs/guard_rules.md).

``scan_file`` first copies the landing file into a content-addressed quarantine (its bytes are
read once, ``pipelines.guard.quarantine``), then reads that copy as text into a private in-memory
DuckDB (never the warehouse). It checks, in two layers: first what an aggregate feed may hold
(the feed's columns, types, Mondays, keys, totals, geos, an allowlist per text field, the Safe
Harbor market rules, cardinality bounds per dimension, plausibility bounds per number, Parquet
physical types, the file-name allowlist); then value patterns for individual-level values
(e-mail, phone, SSN, names, ...) in every text value after Unicode normalisation, which name
what a rejected value looked like. It returns counts per (rule, column) and the numbers of the
first rows that hit a row-level rule (positions in the file, never read from a cell), never a
value. The
rule passes are in ``pipelines.guard.passes`` and their SQL in ``sql/guard/``:
``column_rules.sql`` (types and field allowlists), ``checks.sql`` (keys, totals, geos, markets,
bounds) and ``value_rules.sql`` (value patterns).

Which columns the value patterns read: every text-like column (``text``, ``geo``, ``slug``,
``enum`` and any column not in the contract) in full; for numeric and date columns only the
values that fail their type, so a week date is never taken for a birth date and a spend amount
never for a phone number, while a phone typed into a count column is still named. A column
whose name is identifier-like (``Caller Name``, ``Recording URL``, ``Start Time``) is reported as
``identifier_column`` and its values are not pattern-scanned: the file is rejected by its header
already, and skipping the column keeps an individual-level export of a million rows within a few
seconds. Such columns are listed in ``ScanResult.unscanned``; every rule that fired on every
other column is reported. Columns are named only by the contract's column names, others as
``column#N``; the file's name is shown as it is, escaped or withheld
(``pipelines.guard.file_names``).
"""

from __future__ import annotations

from collections.abc import Collection
from pathlib import Path

import duckdb

from pipelines.feeds import FEEDS, Feed
from pipelines.guard import normalise, passes
from pipelines.guard.errors import GuardError
from pipelines.guard.file_names import shown_name
from pipelines.guard.hits import Hits, ScanColumn
from pipelines.guard.names import is_identifier_name
from pipelines.guard.quarantine import Quarantined, admit, private_folder
from pipelines.guard.read import (
    Unreadable,
    load_csv,
    load_parquet,
    parquet_kinds,
    read_header,
    row_numbers,
)
from pipelines.guard.result import ScanResult, display_column
from pipelines.guard.sql import run


def scan_file(
    source: Path | Quarantined, feed: str, known_geos: Collection[str] | None = None
) -> ScanResult:
    """Scan one landing file against a feed's contract and the privacy rules.

    Args:
        source: a ``.csv`` (UTF-8, comma, header row) or ``.parquet`` landing file, which is
            first copied into a private quarantine (its bytes are read once) and scanned from
            there; or a file already admitted to the quarantine (``pipelines.guard.quarantine``),
            whose copy is scanned as it is.
        feed: the feed name (a key of ``pipelines.feeds.FEEDS``).
        known_geos: geo codes of the ``markets`` feed, or a mapping of them to their populations
            (counts, spend and impressions are then bounded per head of the row's market);
            None skips the ``unknown_geo`` rule (for a markets file, or when no markets feed
            exists).

    Returns:
        The verdict with counts per (rule, column) and the first rows of row-level hits. Never
        a value from the file.

    Raises:
        GuardError: unknown feed, the file cannot be opened, or an internal failure; the
            message is value-free and raised ``from None``.
    """
    if feed not in FEEDS:
        raise GuardError(f"unknown feed name; expected one of {', '.join(FEEDS)}") from None
    if isinstance(source, Quarantined):
        return _scan_copy(source, feed, known_geos)
    with private_folder() as folder:
        try:
            copy = admit(Path(source), folder)
        except OSError:
            raise GuardError(f"cannot read a landing file of feed '{feed}'") from None
        return _scan_copy(copy, feed, known_geos)


def _scan_copy(copy: Quarantined, feed: str, known_geos: Collection[str] | None) -> ScanResult:
    """Scan a quarantined copy (never the landing file itself)."""
    conn = duckdb.connect(":memory:")
    try:
        run(conn, "SET preserve_insertion_order = false; SET enable_progress_bar = false")
        if not (copy.ascii and copy.name.isascii()):
            normalise.register(conn)  # only non-ASCII text needs NFKC
        hits = Hits()
        rows, unscanned, name_counts = _scan(conn, copy, FEEDS[feed], known_geos, hits)
        name_hit = passes.file_name(conn, copy.name, hits, name_counts)
        numbers = row_numbers(copy, hits.row_positions())
    except Exception as error:  # DuckDB and library messages may quote a row: never pass them on
        kind = type(error).__name__
        raise GuardError(
            f"internal error ({kind}) while scanning a file of feed '{feed}' (sha256 {copy.sha256})"
        ) from None
    finally:
        conn.close()
    return ScanResult(
        path=copy.source,
        file_name=shown_name(copy.name, copy.sha256, copy.suffix, name_hit),
        sha256=copy.sha256,
        feed=feed,
        rows=rows,
        hits=hits.result(numbers),
        unscanned=unscanned,
    )


def _scan(
    conn: duckdb.DuckDBPyConnection,
    copy: Quarantined,
    feed: Feed,
    known_geos: Collection[str] | None,
    hits: Hits,
) -> tuple[int, tuple[str, ...], dict[str, int] | None]:
    """Every rule over the copy; returns the data rows, the display names of unscanned columns
    and the value patterns' counts for the file name (None when the file was unreadable)."""
    path = copy.path
    headerless = False
    kinds: list[str] | None = None
    try:
        if copy.size == 0:
            raise Unreadable("empty file")
        if copy.suffix == ".parquet":
            names, rows = load_parquet(conn, path)
            kinds = parquet_kinds(conn, path)
        else:
            if copy.nul or not copy.utf8:
                raise Unreadable("not UTF-8 text")
            names = read_header(path)
            rows = load_csv(conn, path, len(names))
            headerless = not set(names) <= set(feed.column_names) and passes.header_is_data(
                conn, names
            )
    except Unreadable:
        hits.add("unreadable", None, 0)
        return 0, (), None

    if headerless:
        # The first line is data: name no column by its "header" text, scan it as data too.
        hits.add("unreadable", None, rows + 1)
        cols = [ScanColumn(i, f"c{i}", f"column#{i + 1}", None) for i in range(len(names))]
        passes.distinct(conn, cols)
        name_counts = passes.value_rules(
            conn, cols, hits, copy.ascii, header_cells=names, name=copy.name
        )
        return rows + 1, tuple(c.shown for c in cols if c.identifier), name_counts

    cols = _structure(names, feed, rows, hits)
    if kinds is not None:
        passes.parquet_types(cols, kinds, hits, rows)
    passes.distinct(conn, cols)
    passes.column_rules(conn, cols, hits)
    passes.checks(conn, feed, cols, hits, known_geos)
    name_counts = passes.value_rules(conn, cols, hits, copy.ascii, name=copy.name)
    return rows, tuple(c.shown for c in cols if c.identifier), name_counts


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

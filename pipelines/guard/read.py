"""Read a landing file as text into an in-memory DuckDB table ``guard_scan``.

The file read is the quarantined copy (``pipelines.guard.quarantine``), whose bytes were checked
while they were copied (UTF-8, no NUL, not empty); the header row is parsed with Python's csv module; DuckDB then reads the data rows with
every column as VARCHAR under internal names ``c0, c1, ...``. Parquet columns are cast to VARCHAR
(dates print as ISO dates). Rows are stored in file order: a row's ``rowid`` is its 0-based
position among the data rows, which ``row_numbers`` turns into the row number a data owner sees.
DuckDB's own error messages can quote a row, so every failure is turned into ``Unreadable`` with
a fixed, value-free reason.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Collection
from pathlib import Path

import duckdb

from pipelines.guard.quarantine import Quarantined
from pipelines.guard.sql import quote_ident, quote_literal, run

HEADER_BYTES = 1024 * 1024
TABLE = "guard_scan"


class Unreadable(Exception):
    """The file cannot be read as the contract says. ``reason`` is fixed text, never a value."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def read_header(path: Path) -> list[str]:
    """The first CSV record of a UTF-8 file (BOM removed).

    Raises:
        Unreadable: empty file, blank first line, or a header that does not parse.
    """
    with path.open("rb") as fh:
        head = fh.read(HEADER_BYTES)
    text = head.decode("utf-8", errors="ignore").removeprefix("\ufeff")
    if not text.strip():
        raise Unreadable("empty file")
    try:
        record = next(csv.reader(io.StringIO(text, newline=""), strict=True))
    except (csv.Error, StopIteration):
        raise Unreadable("no parseable header row") from None
    if not record or all(not cell.strip() for cell in record):
        raise Unreadable("no header row")
    return record


def load_csv(conn: duckdb.DuckDBPyConnection, path: Path, n_columns: int) -> int:
    """Read the data rows of a CSV into ``guard_scan`` (all VARCHAR); return the row count.

    Raises:
        Unreadable: when DuckDB cannot parse the rows with the header's column count.
    """
    columns = "{" + ", ".join(f"'c{i}': 'VARCHAR'" for i in range(n_columns)) + "}"
    sql = (
        f"CREATE OR REPLACE TABLE {TABLE} AS SELECT * FROM read_csv("
        f"{quote_literal(str(path))}, header = true, columns = {columns}, auto_detect = false, "
        "delim = ',', quote = '\"', escape = '\"', strict_mode = true, null_padding = false, "
        "ignore_errors = false, encoding = 'utf-8')"
    )
    try:
        _in_file_order(conn, sql)
        return int(run(conn, f"SELECT count(*) FROM {TABLE}")[0][0])
    except duckdb.Error:
        raise Unreadable("rows do not parse as CSV with the header's columns") from None


def load_parquet(conn: duckdb.DuckDBPyConnection, path: Path) -> tuple[list[str], int]:
    """Read a Parquet file into ``guard_scan`` with every column cast to VARCHAR.

    Returns:
        (column names as stored in the file, row count).

    Raises:
        Unreadable: when the file is not Parquet or a column cannot be shown as text.
    """
    source = f"read_parquet({quote_literal(str(path))})"
    try:
        described = run(conn, f"DESCRIBE SELECT * FROM {source}")
        names = [str(row[0]) for row in described]
        if not names:
            raise Unreadable("no columns")
        casts = ", ".join(
            f"CAST({quote_ident(name)} AS VARCHAR) AS c{i}" for i, name in enumerate(names)
        )
        _in_file_order(conn, f"CREATE OR REPLACE TABLE {TABLE} AS SELECT {casts} FROM {source}")
        rows = int(run(conn, f"SELECT count(*) FROM {TABLE}")[0][0])
    except duckdb.Error:
        raise Unreadable("not a readable Parquet file") from None
    return names, rows


def _in_file_order(conn: duckdb.DuckDBPyConnection, sql: str) -> None:
    """Run the statement that fills ``guard_scan`` with insertion order preserved, so that
    ``rowid`` follows the file (the guard's other queries run without it: it costs speed)."""
    run(conn, "SET preserve_insertion_order = true")
    try:
        run(conn, sql)
    finally:
        run(conn, "SET preserve_insertion_order = false")


HEADER_ROW = -1
"""The position of a CSV's first line among ``guard_scan``'s rows, when that line is data."""


def row_numbers(copy: Quarantined, positions: Collection[int]) -> dict[int, int]:
    """The row numbers a data owner sees for rows of ``guard_scan``.

    Args:
        copy: the quarantined file the rows were read from.
        positions: 0-based positions of data rows (``rowid``), or ``HEADER_ROW``.

    Returns:
        position -> row number. CSV: as a spreadsheet numbers the file's rows: the header is
        row 1 and the first data row row 2; a record with a line break inside quotes is one row,
        an empty line is a row. Parquet: the 1-based row index. Positions are never read from
        cells, only counted; empty when the CSV cannot be re-read with Python's csv module.
    """
    if copy.suffix == ".parquet":
        return {p: p + 1 for p in positions if p >= 0}
    if not copy.blank_lines:
        return {p: p + 2 for p in positions}
    wanted = set(positions)
    numbers = {HEADER_ROW: 1} if HEADER_ROW in wanted else {}
    record = 0  # data records as DuckDB reads them, which skips empty lines between them
    try:
        with copy.path.open(encoding="utf-8-sig", newline="") as fh:
            reader = csv.reader(fh)
            skips_empty = len(next(reader)) > 1  # a one-column file reads an empty line as NULL
            for number, cells in enumerate(reader, start=2):
                if len(numbers) == len(wanted):
                    break
                if cells or not skips_empty:
                    if record in wanted:
                        numbers[record] = number
                    record += 1
    except (csv.Error, StopIteration):
        return {}
    return numbers


def parquet_kinds(conn: duckdb.DuckDBPyConnection, path: Path) -> list[str]:
    """The kind of each top-level column of a Parquet file, from its schema (never from its
    key-value metadata, which is not read): ``string`` (BYTE_ARRAY annotated UTF8), ``date``,
    ``integer``, ``decimal`` (scale <= 2), ``float``, or ``other`` (binary, UTF-16 or any
    unannotated BYTE_ARRAY, fixed-length bytes, INT96, timestamps, times, wider decimals,
    nested columns).

    Raises:
        Unreadable: when the schema cannot be read.
    """
    try:
        rows = run(
            conn,
            "SELECT type, num_children, converted_type, scale "
            f"FROM parquet_schema({quote_literal(str(path))})",
        )
    except duckdb.Error:
        raise Unreadable("not a readable Parquet file") from None
    kinds: list[str] = []
    pending = 0  # schema elements still to skip inside a nested column
    for physical, children, converted, scale in rows[1:]:  # rows[0] is the root
        if pending:
            pending += int(children or 0) - 1
            continue
        if children:
            kinds.append("other")
            pending = int(children)
            continue
        kinds.append(_kind(physical, converted, scale))
    return kinds


def _kind(physical: str | None, converted: str | None, scale: int | None) -> str:
    if converted == "DECIMAL":
        return "decimal" if (scale or 0) <= 2 else "other"
    if physical == "BYTE_ARRAY":
        return "string" if converted == "UTF8" else "other"
    if physical == "INT32" and converted == "DATE":
        return "date"
    if physical in ("INT32", "INT64") and (
        converted is None or converted.startswith(("INT_", "UINT_"))
    ):
        return "integer"
    if physical in ("FLOAT", "DOUBLE"):
        return "float"
    return "other"

"""The DuckDB warehouse: open it, create its schemas and tables, and load SQL files.

SQL lives in ``sql/`` at the repository root; ``sql_text("marts/pac.sql")`` returns the text of
``sql/marts/pac.sql``. DuckDB allows one writing process at a time: readers (notebooks,
dashboards) should open the file with ``read_only=True`` and close it quickly.
"""

from __future__ import annotations

import contextlib
import fcntl
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import duckdb

if TYPE_CHECKING:
    import polars as pl

SQL_DIR: Path = Path(__file__).resolve().parents[1] / "sql"
"""The folder holding all ``.sql`` files of the project."""

SCHEMA_DIR = "schema"


class WarehouseError(RuntimeError):
    """The warehouse could not be opened or changed. Messages carry no landing values."""


@contextmanager
def transaction(
    conn: duckdb.DuckDBPyConnection, what: str, error: type[Exception] = WarehouseError
) -> Iterator[None]:
    """Run the ``with`` block in one transaction: all of it is written, or none of it.

    On any error the transaction is rolled back and ``error`` is raised with a value-free text
    naming ``what`` and the exception class only: DuckDB messages can quote rows, so they are
    never passed on. An ``error`` raised inside the block is already value-free and passes as is.
    """
    conn.execute("BEGIN TRANSACTION")
    try:
        yield
        conn.execute("COMMIT")
    except BaseException as exc:
        with contextlib.suppress(Exception):
            conn.execute("ROLLBACK")
        if isinstance(exc, error) or not isinstance(exc, Exception):
            raise
        raise error(
            f"{what} failed ({type(exc).__name__}); the tables keep their previous rows"
        ) from None


def sql_text(relpath: str) -> str:
    """Return the text of ``sql/<relpath>``.

    Args:
        relpath: path relative to the ``sql/`` folder, e.g. ``"core/weekly_panel.sql"``.

    Raises:
        FileNotFoundError: when the file does not exist.
    """
    path = SQL_DIR / relpath
    if not path.is_file():
        raise FileNotFoundError(f"no SQL file {relpath} under {SQL_DIR}")
    return path.read_text(encoding="utf-8")


def connect(path: str | Path, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    """Open the warehouse file (created, with its parent folder, when writing and missing).

    Args:
        path: the DuckDB file, or ``":memory:"``.
        read_only: open without taking the writer lock (several readers may share the file).
    """
    if str(path) != ":memory:" and not read_only:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    return duckdb.connect(str(path), read_only=read_only)


def schema_files() -> list[Path]:
    """The files of ``sql/schema/`` in the order they are applied (file-name order)."""
    return sorted((SQL_DIR / SCHEMA_DIR).glob("*.sql"))


def apply_schema(conn: duckdb.DuckDBPyConnection) -> None:
    """Create the schemas ``audit``, ``staging``, ``core``, ``mmm``, ``marts`` and their tables.

    Idempotent: every statement is ``CREATE ... IF NOT EXISTS``; existing rows are kept. All of
    it is created in one transaction, so a process killed part-way leaves no half-made schema.
    """
    with transaction(conn, "creating the warehouse schema"):
        for path in schema_files():
            conn.execute(path.read_text(encoding="utf-8"))


def run_sql(conn: duckdb.DuckDBPyConnection, relpath: str, params: list | None = None) -> None:
    """Execute the statements of ``sql/<relpath>`` on ``conn``."""
    if params:
        conn.execute(sql_text(relpath), params)
    else:
        conn.execute(sql_text(relpath))


def table_exists(conn: duckdb.DuckDBPyConnection, table: str) -> bool:
    """Whether the schema-qualified ``table`` (``"marts.pac_by_channel"``) exists."""
    schema, _, name = table.partition(".")
    rows = conn.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_schema = ? AND table_name = ?",
        [schema, name],
    ).fetchall()
    return bool(rows and rows[0][0])


def replace_tables(
    conn: duckdb.DuckDBPyConnection,
    frames: Mapping[str, pl.DataFrame],
    what: str,
    error: type[Exception] = WarehouseError,
) -> None:
    """Replace every row of each table with the rows of its frame, all in one transaction.

    Args:
        conn: a writable connection; the tables exist (their DDL lives in ``sql/``).
        frames: schema-qualified table name -> the new rows. Columns are matched by name;
            table columns missing from a frame get their default (NULL).
        what: what is written, for the value-free error message.
        error: exception class raised (value-free) when the write fails; nothing is changed.
    """
    names = {table: f"_replace_{i}" for i, table in enumerate(frames)}
    for table, frame in frames.items():
        conn.register(names[table], frame.to_arrow())
    try:
        with transaction(conn, what, error):
            for table, name in names.items():
                conn.execute(f"DELETE FROM {table}")
                conn.execute(f"INSERT INTO {table} BY NAME SELECT * FROM {name}")
    finally:
        for name in names.values():
            conn.unregister(name)


def table_rows(conn: duckdb.DuckDBPyConnection, table: str) -> int:
    """Number of rows of ``table`` (a trusted, schema-qualified name)."""
    row = conn.execute(f"SELECT count(*) FROM {table}").fetchall()[0]
    return int(row[0]) if row else 0


def lock_path(warehouse: str | Path) -> Path:
    """The advisory lock file that serialises whole refreshes against one warehouse file."""
    path = Path(warehouse)
    return path.with_name(path.name + ".refresh.lock")


@contextmanager
def refresh_lock(
    warehouse: str | Path, wait_seconds: float = 3600.0, on_wait: object | None = None
) -> Iterator[None]:
    """Hold an exclusive advisory lock for the duration of one refresh of ``warehouse``.

    A second refresh of the same warehouse waits (up to ``wait_seconds``) for the first to
    finish instead of interleaving its writes. The lock is released by the kernel when the
    holding process dies, so a killed refresh never blocks the next one.

    Args:
        warehouse: the DuckDB file path.
        wait_seconds: how long to wait for another refresh before giving up.
        on_wait: called once (no arguments) when the lock is busy and we start waiting.

    Raises:
        WarehouseError: when the lock is still held after ``wait_seconds``.
    """
    path = lock_path(warehouse)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+") as handle:
        deadline = time.monotonic() + wait_seconds
        told = False
        while True:
            try:
                fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if not told and callable(on_wait):
                    on_wait()
                    told = True
                if time.monotonic() > deadline:
                    raise WarehouseError(
                        f"another refresh of {warehouse} has been running for more than "
                        f"{wait_seconds:.0f} s; try again when it has finished"
                    ) from None
                time.sleep(0.5)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)

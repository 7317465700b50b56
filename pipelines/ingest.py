"""Load a landing feed's accepted files into ``staging.<feed>`` in one transaction.

For a feed, the current files are listed in file-name order. Each is first copied, its bytes read
once, into the content-addressed quarantine next to the warehouse (``<warehouse>.quarantine/
<feed>/<sha256>.<ext>``, see ``pipelines.guard.quarantine``); everything after that reads the
copy, so what is loaded is exactly what was scanned and hashed, even if a landing file is replaced
meanwhile. Files whose sha256 is already recorded in ``audit.loaded_files`` under the same name
are not scanned again (a second refresh with the same files changes nothing). Every other file is
scanned by the privacy guard and one ``audit.file_scans`` row is written per scan; a rejected
file's copy is deleted at once. If every file of the feed is accepted and the set
of files differs from what staging holds, ``staging.<feed>`` is rebuilt from all current files
inside ONE transaction (later files' rows replace earlier rows with the same key) and
``audit.loaded_files`` is updated in the same transaction. If any file is rejected, staging keeps
its previous state.

Values are read as text and cast with ``TRY_CAST`` only after the guard accepted the file; no
error raised here carries a value from a file (DuckDB and pandas messages quote rows, so they are
replaced by value-free text and raised ``from None``).
"""

from __future__ import annotations

import contextlib
import hashlib
import tempfile
from collections.abc import Collection, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import duckdb

from pipelines.feeds import FEEDS, Feed
from pipelines.guard.quarantine import Quarantined, admit, keep_only
from pipelines.warehouse import apply_schema, sql_text

if TYPE_CHECKING:
    from pipelines.guard import ScanResult

LANDING_SUFFIXES: tuple[str, ...] = (".csv", ".parquet")
RAW_TABLE = "_landing_raw"


class IngestError(RuntimeError):
    """A feed could not be loaded. The message names files, folders and rules, never values."""


class MissingFeedError(IngestError):
    """A required feed folder is absent from the landing dir."""


@dataclass(frozen=True)
class FileStatus:
    """The verdict on one landing file of a feed.

    Attributes:
        file_name: the file's name inside the feed folder.
        sha256: hex digest of the file's bytes.
        verdict: ``accepted`` or ``rejected``.
        rows: data rows in the file (as counted by the guard or at load), None if unreadable.
        rules: rule hits as ``rule(column)=rows; ...``; empty when accepted.
        scanned: False when the file was already loaded unchanged and was not scanned again.
    """

    file_name: str
    sha256: str
    verdict: str
    rows: int | None
    rules: str
    scanned: bool

    @property
    def accepted(self) -> bool:
        return self.verdict == "accepted"


@dataclass(frozen=True)
class FeedLoad:
    """What one load of a feed did.

    Attributes:
        feed: feed name.
        files: one status per current file, in file-name order.
        changed: True when ``staging.<feed>`` was rebuilt by this load.
        staged_rows: rows in ``staging.<feed>`` after the load.
        folder_present: False when an optional feed's folder is absent.
    """

    feed: str
    files: tuple[FileStatus, ...]
    changed: bool
    staged_rows: int
    folder_present: bool = True

    @property
    def accepted(self) -> bool:
        """True when no current file of the feed was rejected."""
        return all(f.accepted for f in self.files)

    @property
    def rejected(self) -> tuple[FileStatus, ...]:
        return tuple(f for f in self.files if not f.accepted)

    def rejection_text(self) -> str:
        """One value-free sentence per rejected file: name, sha256, rules with columns, rows."""
        return " ".join(
            f"{f.file_name} (sha256 {f.sha256}) was rejected: {f.rules or 'unreadable'}."
            for f in self.rejected
        )


def sha256_of(path: Path) -> str:
    """Hex sha256 of a file's bytes, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def feed_folder(landing_dir: Path, feed: str) -> Path:
    """The folder of ``feed`` under ``landing_dir``."""
    return Path(landing_dir) / feed


def list_feed_files(landing_dir: Path, feed: str) -> list[Path]:
    """The feed's landing files (``.csv``, ``.parquet``) in file-name order.

    Other files (READMEs, hidden files, sub-folders) are ignored.

    Raises:
        MissingFeedError: the folder of a required feed does not exist.
    """
    spec = FEEDS[feed]
    folder = feed_folder(landing_dir, feed)
    if not folder.is_dir():
        if spec.optional_feed:
            return []
        raise MissingFeedError(
            f"the landing folder for feed '{feed}' is missing: expected a folder {folder} "
            f"holding its .csv or .parquet files"
        )
    return sorted(
        (
            p
            for p in folder.iterdir()
            if p.is_file() and not p.name.startswith(".") and p.suffix.lower() in LANDING_SUFFIXES
        ),
        key=lambda p: p.name,
    )


def staged_geos(conn: duckdb.DuckDBPyConnection) -> dict[str, int | None]:
    """Market codes currently in ``staging.markets`` with their populations (the guard bounds
    counts and spend per head of a market's population)."""
    rows = conn.execute("SELECT geo, population FROM staging.markets").fetchall()
    return {geo: None if population is None else int(population) for geo, population in rows}


def landing_geos(landing_dir: Path) -> dict[str, int | None] | None:
    """Market codes listed in the ``markets`` files of a landing dir (read as text), with their
    populations (None where a population is not a whole number).

    Returns None when the landing dir has no readable markets file. Used by ``clearcount scan``
    to check geos without a warehouse; values never leave this function except as a mapping.
    """
    folder = feed_folder(landing_dir, "markets")
    if not folder.is_dir():
        return None
    geos: dict[str, int | None] = {}
    found = False
    conn = duckdb.connect(":memory:")
    try:
        for path in list_feed_files(landing_dir, "markets"):
            try:
                query, columns = _text_query(conn, path)
                if "geo" not in columns:
                    continue
                population = (
                    'TRY_CAST("population" AS BIGINT)' if "population" in columns else "NULL"
                )
                rows = conn.execute(f'SELECT "geo", {population} FROM ({query})').fetchall()
                geos.update((g, p) for g, p in rows if g is not None)
                found = True
            except Exception:  # unreadable markets files are reported by their own scan
                continue
    finally:
        conn.close()
    return geos if found else None


def _sql_literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _text_query(conn: duckdb.DuckDBPyConnection, path: Path) -> tuple[str, list[str]]:
    """A SELECT giving the file's rows with every column as VARCHAR, and its column names.

    CSV is read with ``all_varchar`` (no type inference, no casting); Parquet columns are cast to
    VARCHAR, so dates become ``YYYY-MM-DD`` text as in a CSV.
    """
    if path.suffix.lower() == ".parquet":
        source = f"read_parquet({_sql_literal(str(path))})"
        columns = conn.sql(f"SELECT * FROM {source} LIMIT 0").columns
        cols = ", ".join(f'CAST("{c}" AS VARCHAR) AS "{c}"' for c in columns)
        return f"SELECT {cols} FROM {source}", list(columns)
    source = (
        f"read_csv({_sql_literal(str(path))}, header = true, all_varchar = true, "
        "delim = ',', quote = '\"', escape = '\"', encoding = 'utf-8', "
        "null_padding = false, strict_mode = true)"
    )
    columns = conn.sql(f"SELECT * FROM {source} LIMIT 0").columns
    return f"SELECT * FROM {source}", list(columns)


def _loaded(conn: duckdb.DuckDBPyConnection, feed: str) -> dict[str, tuple[str, int]]:
    """``file_name -> (sha256, rows)`` of the files staging holds for ``feed``."""
    return {
        name: (sha, int(rows))
        for name, sha, rows in conn.execute(
            "SELECT file_name, sha256, rows FROM audit.loaded_files WHERE feed = ?", [feed]
        ).fetchall()
    }


def _now() -> datetime:
    """Current UTC time without timezone (DuckDB TIMESTAMP)."""
    return datetime.now(UTC).replace(tzinfo=None)


def _markets_changed_since_load(conn: duckdb.DuckDBPyConnection, feed: str) -> bool:
    """True when staging.markets was rebuilt after ``feed``'s files were last loaded."""
    ((markets_at, feed_at),) = conn.execute(
        "SELECT (SELECT max(loaded_at) FROM audit.loaded_files WHERE feed = 'markets'), "
        "(SELECT min(loaded_at) FROM audit.loaded_files WHERE feed = ?)",
        [feed],
    ).fetchall()
    return markets_at is not None and feed_at is not None and markets_at > feed_at


def record_scan(conn: duckdb.DuckDBPyConnection, result: ScanResult) -> None:
    """Append one ``audit.file_scans`` row for a guard scan."""
    conn.execute(
        "INSERT INTO audit.file_scans "
        "(file_name, sha256, feed, rows, verdict, rules, scanned_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
        [
            result.file_name,
            result.sha256,
            result.feed,
            result.rows,
            result.verdict,
            result.rules_text(),
            _now(),
        ],
    )


def scan_paths(
    paths: Iterable[Path | Quarantined], feed: str, known_geos: Collection[str] | None
) -> list[ScanResult]:
    """Scan landing files (each copied to a private quarantine first) or quarantined copies
    with the privacy guard (loads nothing)."""
    from pipelines.guard import scan_file

    return [
        scan_file(p if isinstance(p, Quarantined) else Path(p), feed, known_geos) for p in paths
    ]


@contextlib.contextmanager
def quarantine_folder(conn: duckdb.DuckDBPyConnection, feed: str) -> Iterator[Path]:
    """The quarantine folder of ``feed``: ``<warehouse file>.quarantine/<feed>`` next to the
    warehouse (never in the landing dir), or a temporary folder for an in-memory warehouse."""
    ((database,),) = conn.execute(
        "SELECT path FROM duckdb_databases() WHERE database_name = current_database()"
    ).fetchall()
    if database:
        warehouse = Path(database)
        yield warehouse.with_name(warehouse.name + ".quarantine") / feed
        return
    with tempfile.TemporaryDirectory(prefix="clearcount-quarantine-") as tmp:
        yield Path(tmp) / feed


def load_feed(
    conn: duckdb.DuckDBPyConnection,
    feed: str,
    landing_dir: Path,
    known_geos: Collection[str] | None = None,
) -> FeedLoad:
    """Scan and load one feed's files into ``staging.<feed>``.

    Args:
        conn: a writable warehouse connection (the schema is applied if needed).
        feed: a feed name of ``pipelines.feeds.FEEDS``.
        landing_dir: folder holding one sub-folder per feed.
        known_geos: markets that geos are checked against; by default those in
            ``staging.markets`` (not used for the ``markets`` feed itself).

    Returns:
        What was scanned and whether staging changed.

    Raises:
        MissingFeedError: a required feed folder is absent.
        IngestError: the load failed; staging and ``audit.loaded_files`` are unchanged.
    """
    spec = FEEDS[feed]
    apply_schema(conn)
    folder_present = feed_folder(landing_dir, feed).is_dir()
    paths = list_feed_files(landing_dir, feed)
    if feed == "markets":
        geos: Collection[str] | Mapping[str, int | None] | None = None
    elif known_geos is not None:
        geos = known_geos
    else:
        geos = staged_geos(conn)

    loaded = _loaded(conn, feed)
    # Files loaded before the markets feed last changed are scanned again: their geos are
    # checked against the current markets.
    stale = feed != "markets" and _markets_changed_since_load(conn, feed)
    statuses: list[FileStatus] = []
    copies: list[Quarantined] = []
    with quarantine_folder(conn, feed) as quarantine:
        for path in paths:
            try:
                copy = admit(path, quarantine)
            except OSError:
                raise IngestError(
                    f"a landing file of feed '{feed}' could not be copied into the quarantine "
                    f"{quarantine}; staging.{feed} keeps its previous rows"
                ) from None
            copies.append(copy)
            if not stale and loaded.get(path.name, ("", 0))[0] == copy.sha256:
                statuses.append(
                    FileStatus(
                        path.name, copy.sha256, "accepted", loaded[path.name][1], "", scanned=False
                    )
                )
                continue
            (result,) = scan_paths([copy], feed, geos)
            record_scan(conn, result)
            if not result.accepted:
                copy.discard()
            statuses.append(
                FileStatus(
                    result.file_name,
                    result.sha256,
                    result.verdict,
                    result.rows,
                    result.rules_text(),
                    scanned=True,
                )
            )

        current = {copy.name: copy.sha256 for copy in copies}
        unchanged = current == {name: sha for name, (sha, _) in loaded.items()}
        accepted = all(s.accepted for s in statuses)
        changed = False
        if accepted and not unchanged:
            _rebuild(conn, spec, copies)
            changed = True
        elif accepted and stale:
            conn.execute(
                "UPDATE audit.loaded_files SET loaded_at = ? WHERE feed = ?", [_now(), feed]
            )
        keep_only(
            quarantine, {c.sha256 for c, s in zip(copies, statuses, strict=True) if s.accepted}
        )
    staged = conn.execute(f"SELECT count(*) FROM staging.{feed}").fetchall()[0]
    return FeedLoad(
        feed=feed,
        files=tuple(statuses),
        changed=changed,
        staged_rows=int(staged[0]) if staged else 0,
        folder_present=folder_present,
    )


def _rebuild(conn: duckdb.DuckDBPyConnection, spec: Feed, copies: list[Quarantined]) -> None:
    """Replace ``staging.<feed>`` with the rows of the quarantined ``copies`` in one
    transaction."""
    feed = spec.name
    raw_cols = ", ".join(f'"{c}" VARCHAR' for c in spec.column_names)
    started = False
    try:
        conn.execute("BEGIN TRANSACTION")
        started = True
        conn.execute(
            f"CREATE OR REPLACE TEMP TABLE {RAW_TABLE} "
            f"({raw_cols}, _file VARCHAR, _sha256 VARCHAR, _ord INTEGER)"
        )
        file_rows: dict[str, int] = {}
        for ordinal, copy in enumerate(copies):
            query, columns = _text_query(conn, copy.path)
            present = set(columns)
            select = ", ".join(
                f'"{c}"' if c in present else f'NULL::VARCHAR AS "{c}"' for c in spec.column_names
            )
            before = conn.execute(f"SELECT count(*) FROM {RAW_TABLE}").fetchall()[0][0]
            conn.execute(
                f"INSERT INTO {RAW_TABLE} SELECT {select}, ?, ?, ? FROM ({query})",
                [copy.name, copy.sha256, ordinal],
            )
            after = conn.execute(f"SELECT count(*) FROM {RAW_TABLE}").fetchall()[0][0]
            file_rows[copy.name] = int(after - before)
        conn.execute(f"DELETE FROM staging.{feed}")
        conn.execute(sql_text(f"staging/{feed}.sql"))
        conn.execute("DELETE FROM audit.loaded_files WHERE feed = ?", [feed])
        now = _now()
        for copy in copies:
            conn.execute(
                "INSERT INTO audit.loaded_files (feed, file_name, sha256, rows, loaded_at) "
                "VALUES (?, ?, ?, ?, ?)",
                [feed, copy.name, copy.sha256, file_rows[copy.name], now],
            )
        conn.execute(f"DROP TABLE {RAW_TABLE}")
        conn.execute("COMMIT")
    except IngestError:
        if started:
            _rollback(conn)
        raise
    except Exception as exc:  # DuckDB messages can quote rows: never pass them on
        if started:
            _rollback(conn)
        raise IngestError(
            f"loading feed '{feed}' into staging.{feed} failed ({type(exc).__name__}); "
            f"staging.{feed} keeps its previous rows"
        ) from None


def _rollback(conn: duckdb.DuckDBPyConnection) -> None:
    with contextlib.suppress(Exception):
        conn.execute("ROLLBACK")

"""Load the guard's SQL from ``sql/guard/`` and fill in its template fields.

A snippet file holds sections that start with a line ``-- name: <name>``; the text up to the next
such line is the section's SQL. Placeholders are written ``__name__`` and replaced textually.
"""

from __future__ import annotations

import re
from functools import cache

import duckdb

from pipelines.warehouse import sql_text

_SECTION = re.compile(r"^-- name: (\S+)\s*$", re.MULTILINE)


@cache
def snippets(relpath: str) -> dict[str, str]:
    """The named sections of ``sql/<relpath>``, comment-only lines dropped, by name."""
    text = sql_text(relpath)
    parts = _SECTION.split(text)
    out: dict[str, str] = {}
    for name, body in zip(parts[1::2], parts[2::2], strict=True):
        lines = [ln for ln in body.splitlines() if ln.strip() and not ln.lstrip().startswith("--")]
        out[name] = "\n".join(lines)
    return out


@cache
def statement(relpath: str) -> str:
    """The whole text of ``sql/<relpath>``."""
    return sql_text(relpath)


def fill(sql: str, **values: str) -> str:
    """Replace each ``__key__`` in ``sql`` by its value (SQL text chosen by the guard)."""
    for key, value in values.items():
        sql = sql.replace(f"__{key}__", value)
    return sql


def quote_ident(name: str) -> str:
    """A DuckDB identifier for a column name the guard chose (``c0``, ``c1``, ...)."""
    return '"' + name.replace('"', '""') + '"'


def quote_literal(text: str) -> str:
    """A SQL string literal for contract text (slug pattern, enum values)."""
    return "'" + text.replace("'", "''") + "'"


def run(conn: duckdb.DuckDBPyConnection, sql: str) -> list[tuple]:
    """Execute ``sql`` and fetch every row (duckdb 2.x refuses new work on a connection while a
    result is unfinished, so every statement is drained here)."""
    return conn.execute(sql).fetchall()

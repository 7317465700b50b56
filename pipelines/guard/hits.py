"""What a guard scan collects while it runs: the file's columns as the scan sees them, and the
rule hits counted per (rule, column) in the order they are reported, with the positions of the
first rows that hit a row-level rule. Counts and positions only, never a value.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from pipelines.feeds import Column
from pipelines.guard.result import RuleHit
from pipelines.guard.sql import quote_ident

RULE_ORDER: tuple[str, ...] = (
    "unreadable",
    "bad_file_name",
    "missing_column",
    "unknown_column",
    "identifier_column",
    "bad_type",
    "not_monday",
    "duplicate_key",
    "negative_value",
    "count_exceeds_total",
    "bad_parquet_type",
    "unknown_geo",
    "bad_slug",
    "bad_label",
    "bad_geo_code",
    "too_many_values",
    "zip5",
    "restricted_zip3",
    "small_zip3",
    "small_market",
    "implausible_population",
    "count_exceeds_population",
    "spend_per_head",
    "impressions_per_head",
    "implausible_value",
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
    "person_name",
    "mrn",
    "age_over_89",
    "encoded_text",
)
"""Every rule id the guard reports, in the order hits are listed."""

ROWS_SHOWN = 5
"""Rows listed per hit, at most: the first ones in the file (``negative_value(spend)=9 at rows
4, 17, 22, 23, 40 and 4 more``)."""

STRUCTURE_RULES = frozenset(
    {"unreadable", "missing_column", "unknown_column", "identifier_column", "bad_parquet_type"}
)


@dataclass
class ScanColumn:
    """One column of the file as the scan sees it."""

    position: int  # 0-based
    internal: str  # c0, c1, ... in guard_scan
    shown: str  # display-safe name
    contract: Column | None  # None: not a column of the feed
    identifier: bool = False  # name looks like an identifier: values are not pattern-scanned

    @property
    def ref(self) -> str:
        return quote_ident(self.internal)


class Hits:
    """Collects hits keyed by (rule, column), with their first rows, and orders them."""

    def __init__(self) -> None:
        self._hits: dict[tuple[str, str | None], tuple[int, int]] = {}
        self._first_rows: dict[tuple[str, str | None], tuple[int, ...]] = {}

    def add(
        self,
        rule: str,
        column: str | None,
        rows: int,
        position: int = -1,
        first_rows: Iterable[int] | None = (),
    ) -> None:
        """Count ``rows`` more rows hitting ``rule`` on ``column`` (its 0-based ``position``
        orders the report); ``first_rows`` are positions of the first of them in ``guard_scan``
        (``pipelines.guard.read.row_numbers``), none for rules about the whole file."""
        if rows <= 0 and rule not in STRUCTURE_RULES:
            return  # value rules that found nothing; structure rules count even on 0 rows
        key = (rule, column)
        old = self._hits.get(key, (0, position))[0]
        self._hits[key] = (old + int(rows), position)
        if first_rows:
            merged = set(self._first_rows.get(key, ())) | set(first_rows)
            self._first_rows[key] = tuple(sorted(merged)[:ROWS_SHOWN])

    def structurally_rejected(self) -> bool:
        """True when a structure rule (no header, wrong or identifier columns) has fired."""
        return any(rule in STRUCTURE_RULES for rule, _ in self._hits)

    def row_positions(self) -> set[int]:
        """Every row position kept, to be numbered by ``pipelines.guard.read.row_numbers``."""
        return {p for rows in self._first_rows.values() for p in rows}

    def result(self, row_numbers: Mapping[int, int]) -> tuple[RuleHit, ...]:
        """The hits in report order, their rows numbered by ``row_numbers`` (position -> row
        number as the data owner sees it; a position without a number is left out)."""
        order = {rule: i for i, rule in enumerate(RULE_ORDER)}
        items = sorted(
            self._hits.items(), key=lambda kv: (order.get(kv[0][0], 99), kv[1][1], kv[0][1] or "")
        )
        return tuple(
            RuleHit(
                rule,
                column,
                rows,
                tuple(
                    row_numbers[p]
                    for p in self._first_rows.get((rule, column), ())
                    if p in row_numbers
                ),
            )
            for (rule, column), (rows, _) in items
        )

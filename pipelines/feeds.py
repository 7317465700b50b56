"""The landing feeds of docs/contract.md section 2: columns, types and keys.

This is the single description of the data contract; the guard and the loaders both read it.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class ColumnType(StrEnum):
    """How a column's text must parse."""

    DATE = "date"  # ISO YYYY-MM-DD, no time part
    MONDAY = "monday"  # a DATE that falls on a Monday
    INTEGER = "integer"  # whole number
    MONEY = "money"  # decimal number, at most 2 decimals
    NUMBER = "number"  # any finite decimal number
    SLUG = "slug"  # ^[a-z][a-z0-9_]{0,39}$
    GEO = "geo"  # a market code listed in the markets feed
    TEXT = "text"  # free text (labels)
    ENUM = "enum"  # one of Column.values


@dataclass(frozen=True)
class Column:
    """One column of a feed.

    Attributes:
        name: column header, exact.
        type: how its values parse.
        required: False for the bracketed optional columns of the contract.
        values: allowed values for ENUM columns.
        non_negative: numbers must be >= 0.
        positive: numbers must be > 0.
    """

    name: str
    type: ColumnType
    required: bool = True
    values: tuple[str, ...] = ()
    non_negative: bool = False
    positive: bool = False


@dataclass(frozen=True)
class Feed:
    """A landing feed: its folder name, columns, key and count-total pairs.

    Attributes:
        name: folder name under the landing dir and staging table name.
        columns: all columns, required and optional.
        key: columns that identify a row; unique inside one file, later files replace earlier.
        totals: (part, total) pairs where ``part <= total`` must hold.
        optional_feed: True when the whole feed may be absent.
    """

    name: str
    columns: tuple[Column, ...]
    key: tuple[str, ...]
    totals: tuple[tuple[str, str], ...] = ()
    optional_feed: bool = False

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)

    @property
    def required_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns if c.required)

    def column(self, name: str) -> Column:
        return next(c for c in self.columns if c.name == name)


C, T = Column, ColumnType

FEEDS: dict[str, Feed] = {
    f.name: f
    for f in (
        Feed(
            "markets",
            (
                C("geo", T.TEXT),
                C("geo_type", T.ENUM, values=("zip3", "dma", "state", "custom")),
                C("population", T.INTEGER, positive=True),
                C("label", T.TEXT, required=False),
            ),
            key=("geo",),
        ),
        Feed(
            "spend",
            (
                C("week_start", T.MONDAY),
                C("geo", T.GEO),
                C("channel", T.SLUG),
                C("spend", T.MONEY, non_negative=True),
                C("impressions", T.INTEGER, required=False, non_negative=True),
            ),
            key=("week_start", "geo", "channel"),
        ),
        Feed(
            "calls",
            (
                C("week_start", T.MONDAY),
                C("geo", T.GEO),
                C("channel", T.SLUG),
                C("calls", T.INTEGER, non_negative=True),
                C("new_patient_calls", T.INTEGER, non_negative=True),
            ),
            key=("week_start", "geo", "channel"),
            totals=(("new_patient_calls", "calls"),),
        ),
        Feed(
            "bookings",
            (
                C("week_start", T.MONDAY),
                C("geo", T.GEO),
                C("channel", T.SLUG),
                C("bookings", T.INTEGER, non_negative=True),
                C("new_patient_bookings", T.INTEGER, non_negative=True),
            ),
            key=("week_start", "geo", "channel"),
            totals=(("new_patient_bookings", "bookings"),),
        ),
        Feed(
            "experiments",
            (
                C("test_id", T.SLUG),
                C("channel", T.SLUG),
                C("geo", T.GEO),
                C("role", T.ENUM, values=("treatment", "control")),
                C("start_week", T.MONDAY),
                C("end_week", T.MONDAY),
                C("design", T.ENUM, values=("holdout", "scale_up")),
            ),
            key=("test_id", "geo"),
            optional_feed=True,
        ),
        Feed(
            "controls",
            (
                C("week_start", T.MONDAY),
                C("geo", T.GEO),
                C("name", T.SLUG),
                C("value", T.NUMBER),
            ),
            key=("week_start", "geo", "name"),
            optional_feed=True,
        ),
    )
}

# Feeds in load order: markets first, because every other feed's geos are checked against it.
FEED_ORDER: tuple[str, ...] = ("markets", "spend", "calls", "bookings", "experiments", "controls")

# Restricted 3-digit ZIP prefixes: union of the HHS 2000-Census and 2010 lists
# (docs/contract.md s.3).
RESTRICTED_ZIP3: frozenset[str] = frozenset(
    [
        "036",
        "059",
        "063",
        "102",
        "203",
        "205",
        "369",
        "556",
        "692",
        "790",
        "821",
        "823",
        "830",
        "831",
        "878",
        "879",
        "884",
        "890",
        "893",
    ]
)

SLUG_PATTERN = r"^[a-z][a-z0-9_]{0,39}$"

"""What an aggregate feed may hold: per-field allowlists, cardinality and plausibility bounds.

These are the guard's first layer (docs/contract.md section 3, ``docs/guard_rules.md``): a value
that is not on its field's allowlist, a dimension with more distinct values than a weekly feed
has, or a number no market of that size produces, rejects the file whatever it looks like. The
value patterns (e-mail, phone, ...) are the second layer and name what a rejected value looked
like.
"""

from __future__ import annotations

SLUG_MAX_DIGIT_RUN = 4
"""Slugs (channel, test_id, control name, custom geo) hold no run of more digits than this."""

LABEL_PATTERN = r"[ -~]{1,64}"
"""A market label: 1 to 64 printable ASCII characters (no line break, no tab, no non-ASCII);
besides, no ``@`` and no run of 5 or more digits."""

STATE_CODES: tuple[str, ...] = tuple(
    [
        "AL",
        "AK",
        "AZ",
        "AR",
        "CA",
        "CO",
        "CT",
        "DE",
        "DC",
        "FL",
        "GA",
        "HI",
        "ID",
        "IL",
        "IN",
        "IA",
        "KS",
        "KY",
        "LA",
        "ME",
        "MD",
        "MA",
        "MI",
        "MN",
        "MS",
        "MO",
        "MT",
        "NE",
        "NV",
        "NH",
        "NJ",
        "NM",
        "NY",
        "NC",
        "ND",
        "OH",
        "OK",
        "OR",
        "PA",
        "RI",
        "SC",
        "SD",
        "TN",
        "TX",
        "UT",
        "VT",
        "VA",
        "WA",
        "WV",
        "WI",
        "WY",
        "PR",
        "VI",
        "GU",
        "AS",
        "MP",
    ]
)
"""USPS codes of the states, DC and the territories: the allowlist of ``state`` geo codes."""

DMA_RANGE = (500, 899)
"""Nielsen DMA codes are three digits from 500 to 899."""

MIN_POPULATION = 20_000
"""A market of any type with this many people or fewer is identifying (HIPAA Safe Harbor's
threshold for geographic units) and never a market."""

MAX_POPULATION: dict[str, int] = {
    "zip3": 5_000_000,  # the most populous 3-digit ZIP areas hold about 3 million people
    "dma": 25_000_000,  # the New York DMA, the largest, holds about 21 million
    "state": 45_000_000,  # California, the largest state, about 39 million
    "custom": 340_000_000,  # at most the whole United States
}
"""Largest plausible population per ``geo_type``; a market above it is ``implausible_population``."""

DEFAULT_POPULATION = MAX_POPULATION["custom"]
"""Population assumed for a geo whose market population is unknown (no markets feed given)."""

MAX_DISTINCT: dict[str, int] = {
    "geo": 1_000,  # markets: there are fewer than 1,000 usable ZIP3 areas and 210 DMAs
    "channel": 50,  # paid channels and call or booking sources
    "test_id": 50,  # geo tests in one experiments file
    "name": 20,  # control variables
}
"""Distinct values one file may hold per dimension column (``too_many_values``): a file with one
row per call, patient or visit has far more. A restatement of a single week stays far below."""

MAX_COUNT_SHARE = 0.05
"""A weekly count (calls, bookings, new patients) of one channel in one market is at most this
share of the market's population (``count_exceeds_population``)."""

MAX_SPEND_PER_HEAD = 10.0
"""USD per person per week one channel spends in one market, at most (``spend_per_head``)."""

MAX_IMPRESSIONS_PER_HEAD = 1_000
"""Impressions per person per week of one channel in one market, at most
(``impressions_per_head``)."""

MAX_CONTROL_VALUE = 10_000_000
"""Largest absolute value of a control variable (``implausible_value``): controls are rates,
indices and temperatures, not identifiers."""

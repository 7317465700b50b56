"""Great Expectations (GX 1.x) suites on the staged tables, with value-free results.

One declarative suite per staged feed, derived from the contract in ``pipelines.feeds``: the exact
column set (the feed's columns plus ``_file`` and ``_sha256``), required columns not null, enum
value sets, slugs, non-negative and positive ranges, key uniqueness (compound where the key has
several columns), part <= total for new-patient counts and, when the markets are known, geos in
the markets. GX 1.x cannot read DuckDB, so a pandas frame of ``staging.<feed>`` is validated.

GX's default result formats quote failing values; here every expectation runs with
``SUMMARY``, ``partial_unexpected_count=0`` and ``include_unexpected_rows=False``, and
``validate_staged`` returns only expectation names, column names (from the contract) and counts.
GX's context is slow to create, so one ephemeral context is made per process and reused.
"""

from __future__ import annotations

import logging
from collections.abc import Collection
from functools import cache
from typing import TYPE_CHECKING, Any

from pipelines.feeds import FEEDS, SLUG_PATTERN, ColumnType, Feed

if TYPE_CHECKING:
    import pandas as pd

STAGING_EXTRA = ("_file", "_sha256")
"""Columns every staged table adds to its feed's columns."""

RESULT_FORMAT: dict[str, Any] = {
    "result_format": "SUMMARY",
    "partial_unexpected_count": 0,
    "include_unexpected_rows": False,
    "return_unexpected_index_query": False,
}
"""Counts and percentages only: no failing value is ever kept."""


class ExpectationError(RuntimeError):
    """GX could not run the suite. The message is value-free (raised ``from None``)."""


@cache
def _context() -> Any:
    """The process's one ephemeral GX context (progress bars and analytics off)."""
    import great_expectations as gx
    from great_expectations.data_context.types.base import (
        DataContextConfig,
        InMemoryStoreBackendDefaults,
        ProgressBarsConfig,
    )

    logging.getLogger("great_expectations").setLevel(logging.ERROR)
    config = DataContextConfig(
        store_backend_defaults=InMemoryStoreBackendDefaults(),
        progress_bars=ProgressBarsConfig(globally=False),
        analytics_enabled=False,
    )
    return gx.get_context(mode="ephemeral", project_config=config)


@cache
def _batch_definition(feed: str) -> Any:
    context = _context()
    try:
        source = context.data_sources.get("clearcount_staging")
    except (KeyError, ValueError, LookupError):
        source = context.data_sources.add_pandas("clearcount_staging")
    asset = source.add_dataframe_asset(name=f"staging_{feed}")
    return asset.add_batch_definition_whole_dataframe(f"staging_{feed}_whole")


def expectations_for(feed: Feed, known_geos: Collection[str] | None = None) -> list[Any]:
    """The declarative expectations of one staged feed (GX expectation objects)."""
    import great_expectations.expectations as gxe

    out: list[Any] = [
        gxe.ExpectTableColumnsToMatchSet(
            column_set=[*feed.column_names, *STAGING_EXTRA], exact_match=True
        )
    ]
    for col in feed.columns:
        if col.required:
            out.append(gxe.ExpectColumnValuesToNotBeNull(column=col.name))
        if col.type is ColumnType.ENUM:
            out.append(gxe.ExpectColumnValuesToBeInSet(column=col.name, value_set=list(col.values)))
        elif col.type is ColumnType.SLUG:
            out.append(gxe.ExpectColumnValuesToMatchRegex(column=col.name, regex=SLUG_PATTERN))
        elif col.type is ColumnType.GEO and known_geos is not None:
            out.append(
                gxe.ExpectColumnValuesToBeInSet(column=col.name, value_set=sorted(known_geos))
            )
        if col.positive:
            out.append(gxe.ExpectColumnValuesToBeBetween(column=col.name, min_value=1))
        elif col.non_negative:
            out.append(gxe.ExpectColumnValuesToBeBetween(column=col.name, min_value=0))
    if len(feed.key) == 1:
        out.append(gxe.ExpectColumnValuesToBeUnique(column=feed.key[0]))
    else:
        out.append(gxe.ExpectCompoundColumnsToBeUnique(column_list=list(feed.key)))
    for part, total in feed.totals:
        out.append(
            gxe.ExpectColumnPairValuesAToBeGreaterThanB(
                column_A=total, column_B=part, or_equal=True
            )
        )
    return out


def build_suite(feed: str, known_geos: Collection[str] | None = None) -> Any:
    """A GX ``ExpectationSuite`` named ``staging_<feed>`` for one feed."""
    import great_expectations as gx

    _context()  # GX needs an active context to build suites
    suite = gx.ExpectationSuite(name=f"staging_{feed}")
    for expectation in expectations_for(FEEDS[feed], known_geos):
        suite.add_expectation(expectation)
    return suite


def _columns_of(kwargs: dict[str, Any]) -> str | None:
    if "column" in kwargs:
        return str(kwargs["column"])
    if "column_list" in kwargs:
        return "+".join(map(str, kwargs["column_list"]))
    if "column_A" in kwargs:
        return f"{kwargs['column_B']}<={kwargs['column_A']}"
    return None


def validate_staged(
    feed: str, frame: pd.DataFrame, known_geos: Collection[str] | None = None
) -> dict[str, Any]:
    """Validate a pandas frame of ``staging.<feed>`` with the feed's suite.

    Args:
        feed: feed name.
        frame: the staged table (feed columns typed, plus ``_file`` and ``_sha256``).
        known_geos: market codes; when given, geos must be among them.

    Returns:
        A value-free summary: ``suite``, ``success``, ``rows``, ``evaluated``, ``failed`` and
        ``expectations`` (a list of ``{"expectation", "column", "success", "unexpected_count",
        "unexpected_percent"}``), fit for Dagster check metadata.

    Raises:
        ExpectationError: GX failed to run (message without values).
    """
    if feed not in FEEDS:
        raise ExpectationError(f"unknown feed; expected one of {', '.join(FEEDS)}") from None
    try:
        batch = _batch_definition(feed).get_batch(batch_parameters={"dataframe": frame})
        result = batch.validate(build_suite(feed, known_geos), result_format=RESULT_FORMAT)
    except Exception:
        raise ExpectationError(f"GX could not validate staging.{feed}") from None
    expectations = []
    for r in result.results:
        config = r.expectation_config
        details = r.result or {}
        expectations.append(
            {
                "expectation": str(config.type),
                "column": _columns_of(dict(config.kwargs)),
                "success": bool(r.success),
                "unexpected_count": _int_or_none(details.get("unexpected_count")),
                "unexpected_percent": _float_or_none(details.get("unexpected_percent")),
            }
        )
    failed = sum(not e["success"] for e in expectations)
    return {
        "suite": f"staging_{feed}",
        "success": bool(result.success),
        "rows": len(frame),
        "evaluated": len(expectations),
        "failed": failed,
        "expectations": expectations,
    }


def _int_or_none(value: Any) -> int | None:
    return None if value is None else int(value)


def _float_or_none(value: Any) -> float | None:
    return None if value is None else round(float(value), 4)

"""What a data owner should do about a rejected landing file, rule by rule (no values).

The guard (``pipelines.guard``) says which rule fired on which column and how many rows hit it
(``negative_value(spend)=1``); this module adds the fix, in the words of the person who exports
the file. It also names spreadsheets left in a landing dir: only CSV and Parquet are read, so an
Excel workbook would otherwise be skipped without a word.

Rule ids are those of ``docs/guard_rules.md``.
"""

from __future__ import annotations

import re
from pathlib import Path

RULE_ADVICE: dict[str, str] = {
    "unreadable": (
        "save the file as CSV (UTF-8, comma-separated, one header row) or Parquet; it could not "
        "be read as either, or it is empty"
    ),
    "missing_column": (
        "add the column, spelled exactly as in docs/contract.md (a header row is required)"
    ),
    "unknown_column": (
        "remove columns the feed does not have (docs/contract.md lists them); a column is "
        "shown by position (column#N) when its name is not a contract column"
    ),
    "identifier_column": (
        "remove the column: it looks like a person's identifier; clearcount takes counts per "
        "market and week, never people"
    ),
    "bad_type": (
        "make every value of the column parse as its type (numbers without currency signs or "
        "thousands separators, dates as YYYY-MM-DD without a time)"
    ),
    "not_monday": (
        "use the Monday that starts each week (ISO weeks) for week_start, start_week and end_week"
    ),
    "duplicate_key": (
        "aggregate to one row per key (for example one row per week, market and channel); a "
        "duplicate usually means the export has one row per call or booking"
    ),
    "negative_value": (
        "correct the negative amounts (refunds and credits belong in the week they reduce, as a "
        "lower non-negative spend)"
    ),
    "count_exceeds_total": (
        "a new-patient count is larger than its total: export both columns from the same report"
    ),
    "unknown_geo": "add the market to the markets feed, or fix the market code",
    "bad_parquet_type": (
        "write text columns as UTF-8 strings, weeks as dates or strings, counts as integers "
        "and amounts as decimals with at most 2 decimals"
    ),
    "bad_label": (
        "shorten the market label to 1 to 64 printable ASCII characters, with no @ and no run "
        "of 5 or more digits"
    ),
    "bad_geo_code": (
        "use market codes of the markets feed's geo_type: zip3 three digits, dma 500 to 899, "
        "state a USPS code (MA, DC, PR), custom a slug"
    ),
    "small_market": "merge markets of 20,000 people or fewer into a larger market",
    "implausible_population": (
        "correct the population (a phone number or a date typed as a population is the usual cause)"
    ),
    "too_many_values": (
        "aggregate sources into channels and events into weeks: one channel, test or control "
        "per call or patient is the usual cause"
    ),
    "count_exceeds_population": (
        "correct the count: a weekly count above 5% of the market's population is usually a "
        "phone number typed as a count"
    ),
    "spend_per_head": "correct the amount: above $10 per person per week is not plausible",
    "impressions_per_head": (
        "correct the count: above 1,000 impressions per person per week is not plausible"
    ),
    "implausible_value": "rescale the control (rates, indices, temperatures)",
    "encoded_text": "write plain text (no percent escapes, HTML entities or base64 tokens)",
    "bad_file_name": (
        "rename the file with letters, digits, spaces and . _ - ( ) , only, no run of 9 or more "
        "digits (for example spend_2026-11-23.csv)"
    ),
    "bad_slug": (
        "use lower-case letters, digits and underscores for channel, name and test_id "
        "(for example paid_search), starting with a letter, at most 40 characters"
    ),
    "zip5": ("use 3-digit ZIP prefixes (or DMA, state or custom markets), never 5-digit ZIP codes"),
    "restricted_zip3": (
        "merge the restricted ZIP3 prefix into a larger custom market (HIPAA Safe Harbor)"
    ),
    "small_zip3": (
        "merge markets of 20,000 people or fewer into a larger market (HIPAA Safe Harbor)"
    ),
}
"""Rule id -> what to do. Value patterns (email, phone, ...) share ``PERSONAL_DATA_ADVICE``."""

PERSONAL_DATA_ADVICE = (
    "remove the personal data from the file (it looks like a person's {what}); the export "
    "must hold counts per market and week only, so re-export the aggregate report"
)
VALUE_RULES: dict[str, str] = {
    "email": "email address",
    "phone": "phone number",
    "ssn": "social security number",
    "ip_address": "IP address",
    "url": "web address (URLs can carry personal query strings)",
    "click_id": "ad click id",
    "device_id": "device id",
    "mac_address": "device (MAC) address",
    "hashed_id": "hashed identifier",
    "medicare_id": "Medicare number",
    "card_number": "card number",
    "date_of_birth": "date of birth",
    "street_address": "street address",
    "person_name": "name",
    "mrn": "record, account or member number",
    "age_over_89": "age over 89 (an identifier under HIPAA Safe Harbor)",
}

SPREADSHEET_SUFFIXES = (".xlsx", ".xlsm", ".xls", ".xlsb", ".ods", ".numbers")
ONLY_CSV_PARQUET = (
    "only CSV and Parquet are read: save the sheet as CSV (UTF-8) or Parquet in the same folder"
)

_RULE = re.compile(r"\b([a-z_0-9]+)(?:\([^)]*\))?=\d+")


def advice(rule: str) -> str:
    """What to do about ``rule`` (a rule id), or a pointer to the docs for a rule not listed."""
    if rule in RULE_ADVICE:
        return RULE_ADVICE[rule]
    if rule in VALUE_RULES:
        return PERSONAL_DATA_ADVICE.format(what=VALUE_RULES[rule])
    return "see docs/guard_rules.md for this rule"


def rules_in(text: str) -> list[str]:
    """Rule ids of a ``rule(column)=rows; ...`` text, in order, without repeats."""
    return list(dict.fromkeys(_RULE.findall(text or "")))


def fixes(text: str) -> list[str]:
    """``rule: what to do`` for each rule of a ``rule(column)=rows`` text."""
    return [f"{rule}: {advice(rule)}" for rule in rules_in(text)]


def spreadsheets(landing_dir: Path, feeds: list[str]) -> list[Path]:
    """Spreadsheet files in the feed folders of ``landing_dir`` (they are not read)."""
    found = []
    for feed in feeds:
        folder = landing_dir / feed
        if folder.is_dir():
            found += sorted(
                p
                for p in folder.iterdir()
                if p.is_file() and p.suffix.lower() in SPREADSHEET_SUFFIXES
            )
    return found

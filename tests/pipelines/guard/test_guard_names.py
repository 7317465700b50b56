"""Identifier-like column names and header rows that are data."""

from __future__ import annotations

import pytest

from pipelines.guard.names import canonical, is_identifier_name, looks_like_data

IDENTIFIERS = [
    "Caller Name",
    "callerName",
    "Phone Number",
    "E-mail",
    "emailAddress",
    "Street Address",
    "Zip",
    "postal_code",
    "DOB",
    "Date of Birth",
    "SSN",
    "Patient MRN",
    "member_id",
    "IP Address",
    "device_id",
    "IDFA",
    "_ga cookie",
    "gclid",
    "FBCLID",
    "msclkid",
    "Recording URL",
    "transcript",
    "Call ID",
    "Start Time",
    "called_at",
    "latitude",
    "ｅｍａｉｌ",
]

NOT_IDENTIFIERS = [
    "week_start",
    "geo",
    "channel",
    "spend",
    "impressions",
    "new_patient_calls",
    "new_patients",
    "campaign_name",
    "campaign_id",
    "channel_name",
    "notes",
    "label",
    "clicks",
    "zip3",
    "dma_code",
    "week_start;geo;channel;calls;new_patient_calls",
]


@pytest.mark.parametrize("name", IDENTIFIERS)
def test_identifier_names(name: str) -> None:
    assert is_identifier_name(name)


@pytest.mark.parametrize("name", NOT_IDENTIFIERS)
def test_ordinary_names(name: str) -> None:
    assert not is_identifier_name(name)


def test_canonical() -> None:
    assert canonical("Caller Phone #") == "caller_phone"
    assert canonical("emailAddress") == "email_address"


@pytest.mark.parametrize("cell", ["2024-01-01", "021", "12.50", "10:32", "1/2/2024", " 5 "])
def test_data_like_header_cells(cell: str) -> None:
    assert looks_like_data(cell)


@pytest.mark.parametrize("cell", ["week_start", "geo", "Zip 5", "q1"])
def test_name_like_header_cells(cell: str) -> None:
    assert not looks_like_data(cell)

"""Rejection advice: every contract rule says what to do; spreadsheets are named as not read."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipelines import cli
from pipelines.commands.rejections import (
    ONLY_CSV_PARQUET,
    advice,
    fixes,
    rules_in,
    spreadsheets,
)

CONTRACT_RULES = [
    "unreadable",
    "missing_column",
    "unknown_column",
    "identifier_column",
    "bad_type",
    "not_monday",
    "duplicate_key",
    "negative_value",
    "count_exceeds_total",
    "unknown_geo",
    "bad_slug",
    "zip5",
    "restricted_zip3",
    "small_zip3",
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
    "bad_file_name",
    "age_over_89",
    "bad_geo_code",
    "bad_label",
    "bad_parquet_type",
    "count_exceeds_population",
    "encoded_text",
    "implausible_population",
    "implausible_value",
    "impressions_per_head",
    "mrn",
    "person_name",
    "small_market",
    "spend_per_head",
    "too_many_values",
]


@pytest.mark.parametrize("rule", CONTRACT_RULES)
def test_every_rule_says_what_to_do(rule):
    text = advice(rule)
    assert "docs/guard_rules.md" not in text and len(text) > 30


def test_fixes_follow_the_rules_text_in_order():
    text = "negative_value(spend)=1; email(notes)=3; email(label)=2; bad_file_name=1"
    assert rules_in(text) == ["negative_value", "email", "bad_file_name"]
    lines = fixes(text)
    assert lines[0].startswith("negative_value: correct the negative amounts")
    assert "email address" in lines[1] and len(lines) == 3
    assert advice("some_new_rule") == "see docs/guard_rules.md for this rule"


def test_spreadsheets_in_feed_folders_are_found(tmp_path: Path):
    (tmp_path / "spend").mkdir()
    (tmp_path / "spend" / "spend_2026.XLSX").write_bytes(b"PK")
    (tmp_path / "spend" / "spend_2026.csv").write_text("x")
    (tmp_path / "notes.xlsx").write_bytes(b"PK")  # not in a feed folder
    assert [p.name for p in spreadsheets(tmp_path, ["spend", "calls"])] == ["spend_2026.XLSX"]


def test_scan_and_refresh_say_only_csv_and_parquet_are_read(
    clearcount_env, small_landing: Path, monkeypatch: pytest.MonkeyPatch, capsys
):
    sheet = small_landing / "spend" / "spend_jan.xlsx"
    sheet.write_bytes(b"PK\x03\x04")
    assert cli.main(["scan", str(sheet)]) == 2
    err = capsys.readouterr().err
    assert ONLY_CSV_PARQUET in err and "spend_jan" not in err
    # refresh names the folder and count, not the file (a name may carry a person's name)
    monkeypatch.setattr(cli, "execute_refresh", lambda **_: type("R", (), {"success": True})())
    assert cli.main(["refresh"]) == 0
    err = capsys.readouterr().err
    assert f"note: 1 spreadsheet file(s) in spend/ not read: {ONLY_CSV_PARQUET}" in err
    assert "spend_jan" not in err


def test_fixes_read_rules_texts_with_row_numbers():
    text = (
        "negative_value(spend)=9 at rows 5, 8, 11, 14, 17 and 4 more; "
        "email(notes)=1 at row 3; bad_file_name=1"
    )
    assert rules_in(text) == ["negative_value", "email", "bad_file_name"]

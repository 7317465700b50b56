"""Landing file names: the allowlist, escaping, withholding, and what ``clearcount scan`` prints.

Names with control characters cannot be committed as fixtures portably, so they are made here.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from canaries import assert_no_canary

from pipelines import cli
from pipelines.guard import scan_file
from pipelines.guard.file_names import escape_text, name_on_allowlist, shown_name

CALLS = "week_start,geo,channel,calls,new_patient_calls\n2024-01-01,021,search,5,1\n"
GEOS = {"021"}
CALLS_CA = CALLS.replace(",021,", ",CA,")  # the small landing dir's markets are states

BENIGN_NAMES = [
    "calls.csv",
    "spend_2023-11-27_2026-11-16.csv",
    "spend_20240108.csv",
    "Calls Export (3).csv",
    "bookings-2024-W02.csv",
    "calls_2024_01_08_restated.csv",
    "markets v2.1, final.csv",
]


@pytest.mark.parametrize("name", BENIGN_NAMES)
def test_benign_names_accepted_and_shown_as_they_are(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    path.write_text(CALLS)
    result = scan_file(path, "calls", GEOS)
    assert result.accepted, result.rules_text()
    assert result.file_name == name


BAD_NAMES = [
    # (name, rules that must fire, how it is shown: "escaped" or "withheld")
    ("calls.csv\naccepted: calls forged.csv", {"bad_file_name"}, "escaped"),
    ("calls\r.csv", {"bad_file_name"}, "escaped"),
    ("calls\x1b[2J\x1b[31m.csv", {"bad_file_name"}, "escaped"),
    ("calls\t2024.csv", {"bad_file_name"}, "escaped"),
    ("calls\u202egnp.csv", {"bad_file_name"}, "escaped"),
    ("calls_\u0441anary.csv", {"bad_file_name"}, "escaped"),  # Cyrillic homoglyph
    ("x" * 200 + ".csv", {"bad_file_name"}, "escaped"),
    ("calls_canary.ann@example.org.csv", {"bad_file_name", "email"}, "withheld"),
    ("calls canary.ann at example dot org 617-555-0142.csv", {"email", "phone"}, "withheld"),
    ("calls_617_555_0142.csv", {"phone"}, "withheld"),
    ("calls_6175550145.csv", {"bad_file_name", "phone"}, "withheld"),
    ("calls_078-05-1120.csv", {"ssn"}, "withheld"),
    (
        "calls_\uff16\uff11\uff17\uff15\uff15\uff15\uff10\uff11\uff14\uff15.csv",
        {"bad_file_name"},
        "withheld",
    ),
    ("calls_1961-03-17_dob.csv", {"date_of_birth"}, "withheld"),
]


@pytest.mark.parametrize(("name", "rules", "shown"), BAD_NAMES)
def test_bad_names_rejected_and_never_printed_raw(
    tmp_path: Path, name: str, rules: set[str], shown: str
) -> None:
    path = tmp_path / name
    path.write_text(CALLS)
    result = scan_file(path, "calls", GEOS)
    assert not result.accepted
    assert rules <= set(result.rules), result.rules_text()
    assert result.file_name.isascii() and result.file_name.isprintable()
    assert "\\" not in result.file_name or shown == "escaped"
    if shown == "withheld":
        assert result.file_name == f"file-name-withheld-{result.sha256[:12]}.csv"
    else:
        assert result.file_name == escape_text(name)
    assert_no_canary(result.message(), where="scan result")


def test_escape_and_shown_name() -> None:
    assert escape_text("a\nb\x1b\\c\u200b\U0001f600") == "a\\x0ab\\x1b\\x5cc\\u200b\\U0001f600"
    assert escape_text("abcdef", limit=3) == "abc..."
    assert name_on_allowlist("spend_20240108.csv")
    assert not name_on_allowlist("spend_202401081.csv")
    assert not name_on_allowlist(".hidden.csv")
    assert shown_name("a\nb.csv", "ab" * 32, ".csv", pattern_hit=False) == "a\\x0ab.csv"
    assert shown_name("ok.csv", "ab" * 32, ".csv", pattern_hit=True) == (
        "file-name-withheld-abababababab.csv"
    )


def test_cli_scan_cannot_be_forged_by_a_file_name(
    clearcount_env, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "calls"
    folder.mkdir()
    (folder / "a.csv").write_text(CALLS_CA)
    (folder / "b.csv\taccepted\t-\nc\x1b[0m.csv").write_text(CALLS_CA)
    (folder / "c canary.ann@example.org 617-555-0142.csv").write_text(CALLS_CA)
    assert cli.main(["scan", str(folder)]) == 1
    out = capsys.readouterr()
    lines = out.out.splitlines()
    assert len(lines) == 3
    assert lines[0].endswith("/a.csv\taccepted\t-")
    assert "\trejected\tbad_file_name=1" in lines[1] and "\\x0a" in lines[1]
    assert "\x1b" not in out.out and "\trejected\t" in lines[2]
    assert_no_canary(out.out + out.err, where="clearcount scan output")

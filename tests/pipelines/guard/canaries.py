"""Canary values planted in the bad files of the guard corpus (``tests/fixtures/guard/bad``).

Every bad file carries at least one of these values. None of them may ever appear in anything
clearcount writes or prints: scan results, CLI output, the warehouse, the output dir, the Dagster
event log. ``assert_no_canary(text)`` checks a text for all of them, in the raw form and after
NFKC normalisation with zero-width characters removed, case-insensitively.

Every value that contains letters also contains the word ``canary``; values that cannot (phones,
SSNs, hashes, ...) are listed one by one in ``CANARY_VALUES``.

Import from outside this folder (no test package here)::

    import importlib.util
    spec = importlib.util.spec_from_file_location("canaries", REPO / "tests/pipelines/guard/canaries.py")
    canaries = importlib.util.module_from_spec(spec); spec.loader.exec_module(canaries)
    canaries.assert_no_canary(text)
"""

from __future__ import annotations

import hashlib
import re
import unicodedata

CANARY_WORD = "canary"
"""Every lettered canary value contains this word (any case, possibly full-width)."""

# Values without the word: phones, SSNs, card numbers, hashes, ids, addresses' numbers.
PHONE_DASHED = "617-555-0142"
PHONE_PARENS = "(617) 555-0143"
PHONE_LOCAL = "555-0107"
PHONE_E164 = "+16175550144"
PHONE_BARE = "6175550145"
SSN = "078-05-1120"
SSN_BARE = "078051121"
MBI = "1EG4-TE5-MK72"
CARD = "4111 1111 1111 1111"
CARD_PLAIN = "5500005555555559"
IPV4 = "203.0.113.77"
IPV6 = "2001:db8:85a3::8a2e:370:7334"
MAC = "00:1a:2b:3c:4d:5e"
UUID = "6f1c2a9e-0d4b-4c8e-9a7f-3b2e1d0c9f8a"
ANDROID_ID = "9774d56d682e549c"
GA_CLIENT_ID = "1197596843.1699999999"
MSCLKID = "2f1e8d7c6b5a49382716a5b4c3d2e1f0"
ZIP5 = "02199"
ZIP9 = "02199-3600"
DOB = "03/17/1961"
DOB_ISO = "1961-03-17"
DOB_MONDAY = "1985-03-04"
STREET = "1428 Elm Street"
PO_BOX = "PO Box 7719"
TIMESTAMP = "2024-01-01T10:32:07Z"
HASH_SOURCE = "canary.hash@example.org"
MD5 = hashlib.md5(HASH_SOURCE.encode()).hexdigest()
SHA1 = hashlib.sha1(HASH_SOURCE.encode()).hexdigest()
SHA256 = hashlib.sha256(HASH_SOURCE.encode()).hexdigest()

CANARY_VALUES: tuple[str, ...] = (
    PHONE_DASHED,
    PHONE_PARENS,
    PHONE_LOCAL,
    PHONE_E164,
    PHONE_BARE,
    SSN,
    SSN_BARE,
    MBI,
    MBI.replace("-", ""),
    CARD,
    CARD.replace(" ", ""),
    CARD_PLAIN,
    IPV4,
    IPV6,
    MAC,
    UUID,
    ANDROID_ID,
    GA_CLIENT_ID,
    MSCLKID,
    ZIP9,
    DOB,
    DOB_ISO,
    STREET,
    PO_BOX,
    TIMESTAMP,
    MD5,
    SHA1,
    SHA256,
)
"""Canary values without the canary word, as written in the files (ASCII forms)."""

CANARIES: tuple[str, ...] = (CANARY_WORD, *CANARY_VALUES)
"""Everything ``assert_no_canary`` looks for."""

_ZERO_WIDTH = re.compile("[\u00ad\u200b-\u200f\u2060-\u206f\ufeff]")


def normalised(text: str) -> str:
    """NFKC, zero-width characters removed, lower case."""
    return _ZERO_WIDTH.sub("", unicodedata.normalize("NFKC", text)).lower()


def find_canaries(text: str) -> list[str]:
    """The canaries found in ``text`` (raw or normalised), empty when clean."""
    forms = {text.lower(), normalised(text)}
    return [c for c in CANARIES if any(c.lower() in form for form in forms)]


def assert_no_canary(text: str, where: str = "text") -> None:
    """Fail when any canary appears in ``text``; the failure names which canary, not the text."""
    found = find_canaries(text)
    assert not found, f"{len(found)} canary value(s) leaked into {where}: {found}"

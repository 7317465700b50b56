"""Landing file names: the allowlist, and the text that may be shown for a name.

A file name is printed by ``clearcount scan``, stored in ``audit.file_scans`` and shown in the
refresh error and on the dashboards, so it is held to an allowlist like any text field: ASCII
letters, digits, space and ``. _ - ( ) ,``; starting with a letter or digit; at most
``MAX_NAME`` characters; no run of 9 or more digits (a compact date such as ``20240108`` is
fine, a phone number is not). A name outside it breaks the ``bad_file_name`` rule. The value
patterns (e-mail, phone, ...) run over every name as well (``pipelines.guard.passes``).

What is shown for a name (``shown_name``):
- the name itself when it is on the allowlist and no value pattern matched it;
- ``file-name-withheld-<sha256 prefix><suffix>`` when a value pattern matched it or it holds a
  run of 9 or more digits (an identifier is never printed, escaped or not);
- otherwise the name with every character outside printable ASCII (and the backslash) escaped
  as ``\\xNN``/``\\uNNNN``/``\\UNNNNNNNN``: a newline or an ANSI escape cannot forge an output line
  or reach a terminal.
"""

from __future__ import annotations

import re

from pipelines.guard.normalise import normalise_text

MAX_NAME = 128
"""Characters a landing file name may have."""

SAFE_FILE_NAME = re.compile(rf"[A-Za-z0-9][A-Za-z0-9 ._(),\-]{{0,{MAX_NAME - 1}}}")
"""The allowlist of landing file names (characters and length)."""

_LONG_DIGIT_RUN = re.compile(r"[0-9]{9}")


def escape_text(text: str, limit: int = MAX_NAME) -> str:
    """``text`` with every character outside printable ASCII, and ``\\``, escaped; cut to
    ``limit`` characters of the original (``...`` marks the cut)."""
    out = []
    for ch in text[:limit]:
        code = ord(ch)
        if 0x20 <= code < 0x7F and ch != "\\":
            out.append(ch)
        elif code < 0x100:
            out.append(f"\\x{code:02x}")
        elif code < 0x10000:
            out.append(f"\\u{code:04x}")
        else:
            out.append(f"\\U{code:08x}")
    return "".join(out) + ("..." if len(text) > limit else "")


def name_on_allowlist(name: str) -> bool:
    """True when ``name`` passes the file-name allowlist."""
    return bool(SAFE_FILE_NAME.fullmatch(name)) and not _LONG_DIGIT_RUN.search(name)


def must_withhold(name: str) -> bool:
    """True when a name must not be shown even escaped: it holds a run of 9 or more digits
    (after NFKC normalisation, so full-width digits count)."""
    return bool(_LONG_DIGIT_RUN.search(normalise_text(name)))


def shown_name(name: str, sha256: str, suffix: str, pattern_hit: bool) -> str:
    """The text that may be printed or stored for a landing file's name.

    Args:
        name: the name as found in the landing folder.
        sha256: hex digest of the file (names a withheld file).
        suffix: ``.csv`` or ``.parquet``.
        pattern_hit: True when a value pattern (e-mail, phone, ...) matched the name.
    """
    if pattern_hit or must_withhold(name):
        return f"file-name-withheld-{sha256[:12]}{suffix}"
    if name_on_allowlist(name):
        return name
    return escape_text(name)

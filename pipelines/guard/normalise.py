"""Unicode normalisation before value patterns: NFKC, zero-width and format characters and
combining marks out, every dash and hyphen as ``-``, common homoglyphs as the Latin letter.

NFKC turns full-width digits and letters (``５５５``, ``ｊｏｈｎ＠ｘ．ｃｏｍ``) into ASCII; removing
zero-width characters and combining marks rejoins values split or decorated by them
(``john\u200b@x.com``, ``6\u03327\u0332``); en dashes, minus signs and non-breaking hyphens
become ``-`` (``617\u2013555\u20130142``). This only names what a rejected value looked like: the
contract's text fields are printable ASCII by their allowlists. The work is vectorised
with pyarrow and registered in DuckDB as an Arrow UDF, so it runs per batch, not per value.
"""

from __future__ import annotations

import re
import unicodedata

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

ZERO_WIDTH = "[\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180b-\u180f\u200b-\u200f\u202a-\u202e\u2060-\u206f\u3164\ufe00-\ufe0f\ufeff\uffa0\U000e0000-\U000e007f]"
"""Characters that are invisible (zero-width spaces and joiners, soft hyphen, bidi and other
format controls, variation selectors, fillers, tag characters): removed before and after NFKC."""

_ZW = re.compile(ZERO_WIDTH)

DASHES = "[\u2010-\u2015\u2212\u2e3a\u2e3b\ufe58\ufe63\uff0d]"
"""Hyphens and dashes that NFKC leaves alone: read as ``-``."""

COMBINING = r"\p{Mn}"
"""Combining marks (underlines, accents stacked on digits): removed after NFKC."""

_DASH = re.compile(DASHES)

CONFUSABLES: dict[str, str] = {
    # Cyrillic and Greek letters that look like Latin ones (the common homoglyphs)
    "\u0430": "a",
    "\u0435": "e",
    "\u043e": "o",
    "\u0440": "p",
    "\u0441": "c",
    "\u0443": "y",
    "\u0445": "x",
    "\u0456": "i",
    "\u0458": "j",
    "\u0455": "s",
    "\u0501": "d",
    "\u0261": "g",
    "\u04bb": "h",
    "\u0410": "A",
    "\u0412": "B",
    "\u0415": "E",
    "\u041a": "K",
    "\u041c": "M",
    "\u041d": "H",
    "\u041e": "O",
    "\u0420": "P",
    "\u0421": "C",
    "\u0422": "T",
    "\u0425": "X",
    "\u03bf": "o",
    "\u03b1": "a",
    "\u03bd": "v",
    "\u03c1": "p",
    "\u039f": "O",
    "\u0391": "A",
}
"""Homoglyphs read as the Latin letter they imitate (``c\u0430nary@ex\u0430mple.org``)."""

_CONFUSABLE_TABLE = str.maketrans(CONFUSABLES)

UDF_NAME = "guard_normalise"


def normalise_array(values: pa.Array) -> pa.Array:
    """NFKC-normalise a string array, strip invisible characters and combining marks, read
    dashes as ``-``; nulls stay null."""
    stripped = pc.replace_substring_regex(values, ZERO_WIDTH, "")
    normal = pc.utf8_normalize(stripped, form="NFKC")
    normal = pc.replace_substring_regex(normal, f"{ZERO_WIDTH}|{COMBINING}", "")
    for glyph, latin in CONFUSABLES.items():
        normal = pc.replace_substring(normal, glyph, latin)
    return pc.replace_substring_regex(normal, DASHES, "-")


def normalise_text(text: str) -> str:
    """The same normalisation for one string (column headers, file names)."""
    normal = unicodedata.normalize("NFKC", _ZW.sub("", text))
    normal = "".join(ch for ch in _ZW.sub("", normal) if unicodedata.category(ch) != "Mn")
    return _DASH.sub("-", normal).translate(_CONFUSABLE_TABLE)


def register(conn: duckdb.DuckDBPyConnection) -> None:
    """Make ``guard_normalise(VARCHAR) -> VARCHAR`` available on ``conn``."""
    conn.create_function(
        UDF_NAME,
        normalise_array,
        [duckdb.sqltype("VARCHAR")],
        duckdb.sqltype("VARCHAR"),
        type="arrow",
    )

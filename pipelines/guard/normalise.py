"""Unicode normalisation before value patterns: NFKC, then zero-width and format characters out.

NFKC turns full-width digits and letters (``５５５``, ``ｊｏｈｎ＠ｘ．ｃｏｍ``) into ASCII; removing
zero-width characters rejoins values split by them (``john\u200b@x.com``). The work is vectorised
with pyarrow and registered in DuckDB as an Arrow UDF, so it runs per batch, not per value.
"""

from __future__ import annotations

import re
import unicodedata

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

ZERO_WIDTH = "[\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180b-\u180f\u200b-\u200f\u202a-\u202e\u2060-\u206f\u3164\ufe00-\ufe0f\ufeff\uffa0]"
"""Characters that are invisible (zero-width spaces and joiners, soft hyphen, bidi and other
format controls, variation selectors, fillers): removed before and after NFKC."""

_ZW = re.compile(ZERO_WIDTH)

UDF_NAME = "guard_normalise"


def normalise_array(values: pa.Array) -> pa.Array:
    """NFKC-normalise a string array and strip invisible characters; nulls stay null."""
    stripped = pc.replace_substring_regex(values, ZERO_WIDTH, "")
    normal = pc.utf8_normalize(stripped, form="NFKC")
    return pc.replace_substring_regex(normal, ZERO_WIDTH, "")


def normalise_text(text: str) -> str:
    """The same normalisation for one string (column headers)."""
    return _ZW.sub("", unicodedata.normalize("NFKC", _ZW.sub("", text)))


def register(conn: duckdb.DuckDBPyConnection) -> None:
    """Make ``guard_normalise(VARCHAR) -> VARCHAR`` available on ``conn``."""
    conn.create_function(
        UDF_NAME,
        normalise_array,
        [duckdb.sqltype("VARCHAR")],
        duckdb.sqltype("VARCHAR"),
        type="arrow",
    )

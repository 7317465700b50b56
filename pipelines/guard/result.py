"""What a guard scan returns: rule hits per column and the file's verdict, never a value.

A ``RuleHit`` names a rule id of docs/contract.md section 3, the column it fired on (already made
safe for display), how many rows hit it and the numbers of the first of those rows. A
``ScanResult`` collects the hits of one file.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from pipelines.feeds import FEEDS

CONTRACT_COLUMNS: frozenset[str] = frozenset(c.name for f in FEEDS.values() for c in f.columns)
"""The only column names ever printed or stored: those of the contract's feeds (any feed)."""


def display_column(name: str, position: int) -> str:
    """The text that may be shown for a file's column.

    Args:
        name: the header text as read from the file.
        position: 1-based position of the column in the file.

    Returns:
        ``name`` when it is a column name of the contract (of any feed), else
        ``column#<position>``: a header cell may be data (a file without a header row, a pivot
        with people as columns), so no other header text is ever printed or stored.
    """
    return name if name in CONTRACT_COLUMNS else f"column#{position}"


@dataclass(frozen=True)
class RuleHit:
    """One rule that fired on one column (or on the whole file when ``column`` is None).

    Attributes:
        rule: rule id, e.g. ``email``.
        column: display-safe column text (see ``display_column``), a contract key such as
            ``week_start+geo+channel``, or None for file-level rules.
        rows: number of data rows that hit the rule (for column-level structure rules such as
            ``unknown_column``: every row of the file; 0 when the file could not be read).
        at_rows: row numbers of the first rows that hit a row-level rule, ascending, at most
            ``pipelines.guard.hits.ROWS_SHOWN`` (CSV: the header is row 1, the first data row
            row 2, as a spreadsheet shows the file; Parquet: the 1-based row index). Empty for
            rules about the whole file or its name.
    """

    rule: str
    column: str | None
    rows: int
    at_rows: tuple[int, ...] = ()

    def text(self) -> str:
        """``rule(column)=rows``, ``rule=rows``, then ``at rows 4, 17, 22`` with ``and N more``
        when more rows hit than are listed."""
        where = f"({self.column})" if self.column is not None else ""
        text = f"{self.rule}{where}={self.rows}"
        if not self.at_rows:
            return text
        more = self.rows - len(self.at_rows)
        label = "row" if len(self.at_rows) == 1 and more <= 0 else "rows"
        text += f" at {label} {', '.join(str(n) for n in self.at_rows)}"
        return f"{text} and {more} more" if more > 0 else text


@dataclass(frozen=True)
class ScanResult:
    """The guard's verdict on one landing file.

    Attributes:
        path: the landing file (never printed: use ``file_name``).
        file_name: the text that may be shown for its name (``pipelines.guard.file_names``):
            the name itself, escaped, or withheld.
        sha256: hex digest of the file's bytes (empty when the file could not be opened).
        feed: the feed the file was checked against.
        rows: data rows read (0 when unreadable).
        hits: rules that fired, in a stable order; empty means accepted.
        unscanned: display names of columns whose values were not matched against the value
            patterns: identifier-like columns, and columns past the value budget of a file
            already rejected by its structure (see ``pipelines.guard.scan``).
    """

    path: Path = field(repr=False)  # the landing path: its name may hold an identifier
    file_name: str
    sha256: str
    feed: str
    rows: int
    hits: tuple[RuleHit, ...]
    unscanned: tuple[str, ...] = ()

    @property
    def accepted(self) -> bool:
        return not self.hits

    @property
    def verdict(self) -> str:
        """``accepted`` or ``rejected``."""
        return "accepted" if self.accepted else "rejected"

    def rules_text(self) -> str:
        """The hits as ``email(notes)=3 at rows 2, 5, 9; bad_file_name=1`` (empty when
        accepted)."""
        return "; ".join(h.text() for h in self.hits)

    @property
    def rules(self) -> tuple[str, ...]:
        """Distinct rule ids that fired, in hit order."""
        return tuple(dict.fromkeys(h.rule for h in self.hits))

    def message(self) -> str:
        """One value-free line naming the file, its sha256, the verdict, rules and columns."""
        line = f"{self.verdict}: {self.feed}/{self.file_name} sha256={self.sha256} rows={self.rows}"
        if not self.hits:
            return line
        line = f"{line} rules: {self.rules_text()}"
        if self.unscanned:
            line += f" (values not pattern-scanned in: {', '.join(self.unscanned)})"
        return line

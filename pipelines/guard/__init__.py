"""The privacy guard: no individual-level identifier reaches the warehouse (CONTRACT.md s.3).

``scan_file(path, feed, known_geos)`` returns a ``ScanResult``: the file's sha256, rows, verdict
and the rules that fired per column, as counts only.
"""

from pipelines.guard.errors import GuardError
from pipelines.guard.hits import RULE_ORDER
from pipelines.guard.result import CONTRACT_COLUMNS, RuleHit, ScanResult, display_column
from pipelines.guard.scan import scan_file

__all__ = [
    "RULE_ORDER",
    "CONTRACT_COLUMNS",
    "GuardError",
    "RuleHit",
    "ScanResult",
    "display_column",
    "scan_file",
]

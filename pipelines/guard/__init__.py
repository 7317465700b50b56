"""The privacy guard: no individual-level identifier reaches the warehouse (docs/contract.md s.3;
every rule is described in docs/guard_rules.md).

``scan_file(path, feed, known_geos)`` copies the file into a quarantine, scans the copy and
returns a ``ScanResult``: the file's sha256, rows, verdict and the rules that fired per column,
as counts only.
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

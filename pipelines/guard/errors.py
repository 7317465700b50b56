"""The guard's exception: value-free text only."""

from __future__ import annotations


class GuardError(RuntimeError):
    """The guard could not scan a file (not: the file broke a rule, which is a ``ScanResult``).

    The message names the file and the step, never a value from the file; raise it ``from None``
    so that no chained DuckDB or library message (which may quote a row) travels with it.
    """

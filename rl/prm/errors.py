"""Exceptions raised by the PRM store (``rl.prm``).

Every exception here descends from :class:`PrmError` (itself an :class:`rl.errors.RLError`)::

    PrmError
    ├── SchemaVersionError     the database was written by a newer rlvr (forward migrations only)
    ├── StoreBusyError         the database stayed locked past the bounded retry
    ├── NotFoundError          (also LookupError) no such problem / trajectory / step
    ├── LabelValueError        (also ValueError) a label value does not fit its kind
    ├── ImportFormatError      (also ValueError) malformed input; names the file and line
    └── ExportPolicyError      (also ValueError) an export met data its policy says to refuse
"""

from __future__ import annotations

from rl.errors import RLError


class PrmError(RLError):
    """Root of every error raised by :mod:`rl.prm`."""


class SchemaVersionError(PrmError):
    """The database schema is newer than this code understands; upgrade rlvr to open it."""


class StoreBusyError(PrmError):
    """Another writer held the database lock for longer than the store's bounded retry."""


class NotFoundError(PrmError, LookupError):
    """A problem, trajectory or step id/hash that is not in the store."""


class LabelValueError(PrmError, ValueError):
    """A label's value does not fit its kind (ternary -1/0/+1, boolean 0/1, soft in [0, 1])."""


class ImportFormatError(PrmError, ValueError):
    """Malformed import input. The message names the file and 1-based line; nothing of that batch is
    kept."""

    def __init__(self, source: str, line: int, message: str) -> None:
        super().__init__(f"{source}:{line}: {message}")
        self.source = source
        self.line = line


class ExportPolicyError(PrmError, ValueError):
    """An export met a label its policy refuses (e.g. a neutral rating with ``neutral="error"``)."""

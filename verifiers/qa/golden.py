"""Finding and reading a verifier's golden table.

A golden table is JSONL, one case per line: ``{"reference", "response", "status", "score"?,
"code"?, "note"}``. Where it comes from, first match wins:

1. an explicit ``golden=`` argument (a path, or the rows themselves);
2. the verifier class's ``golden_table`` attribute (a path; a relative one is read next to the
   module that defines the class), which is how a plugin ships its table;
3. the packaged table ``verifiers/golden/<name>@<version>.jsonl`` of a built-in verifier.

>>> table = load_golden("json_schema@1")
>>> table.source.endswith("json_schema@1.jsonl"), table.rows[0].status.value
(True, 'pass')
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Mapping

from ..jsonl import BadLine, decode_line, table_lines
from ..verdict import Status

#: Where the built-in verifiers' golden tables ship (package data).
GOLDEN_DIR = Path(__file__).resolve().parents[1] / "golden"
REQUIRED_FIELDS = ("reference", "response", "status")


@dataclass(frozen=True)
class GoldenRow:
    """One case of a golden table; ``line`` is its 1-based line (or position) in the table."""

    line: int
    reference: Any
    response: str
    status: Status
    score: float | None = None
    code: str | None = None
    note: str = ""


@dataclass(frozen=True)
class GoldenTable:
    """The rows of a table, where they came from, and the lines that could not be read."""

    source: str
    rows: tuple[GoldenRow, ...]
    problems: tuple[str, ...] = ()


def golden_path(spec: str, verifier_cls: type | None = None) -> Path | None:
    """The golden table file for ``spec``: the class's ``golden_table`` or the packaged one (None if
    neither).

    >>> golden_path("math@1").name
    'math@1.jsonl'
    """
    declared = getattr(verifier_cls, "golden_table", None) if verifier_cls is not None else None
    if declared:
        path = Path(declared)
        if not path.is_absolute():
            module = sys.modules.get(getattr(verifier_cls, "__module__", ""), None)
            base = Path(getattr(module, "__file__", "") or ".").resolve().parent
            path = base / path
        return path
    packaged = GOLDEN_DIR / f"{spec}.jsonl"
    return packaged if packaged.is_file() else None


def load_golden(
    spec: str, golden: Any = None, verifier_cls: type | None = None
) -> GoldenTable | None:
    """Read the golden table for ``spec`` (see the module docstring for the order); None when there
    is none."""
    if golden is not None and not isinstance(golden, (str, Path)):
        return parse_rows(golden, source="<rows>")
    path = Path(golden) if golden is not None else golden_path(spec, verifier_cls)
    if path is None:
        return None
    if not path.is_file():
        return GoldenTable(str(path), (), (f"{path}: no such file",))
    return parse_rows(table_lines(path), source=str(path))  # bad bytes: U+FFFD, not a crash


def parse_rows(lines: Iterable[Any], *, source: str) -> GoldenTable:
    """Rows from JSON lines (strings) or dicts; bad lines become problems, blank lines are
    skipped."""
    rows, problems = [], []
    for n, line in enumerate(lines, 1):
        if isinstance(line, str) and not line.strip():
            continue
        row, problem = _parse_row(n, line)
        if problem:
            problems.append(f"{source}:{n}: {problem}")
        else:
            rows.append(row)
    return GoldenTable(source, tuple(rows), tuple(problems))


def _parse_row(n: int, line: Any) -> tuple[GoldenRow | None, str]:
    record = decode_line(line) if isinstance(line, str) else line
    if isinstance(record, BadLine):
        return None, record.describe(json_error_chars=120)
    if not isinstance(record, Mapping):
        return None, f"expected a JSON object, got {type(record).__name__}"
    missing = [f for f in REQUIRED_FIELDS if f not in record]
    if missing:
        return None, f"missing {', '.join(missing)}"
    try:
        status = Status(record["status"])
    except ValueError:
        return None, f"status {record['status']!r} is not one of {[s.value for s in Status]}"
    if not isinstance(record["response"], str):
        return None, "response must be a string"
    return GoldenRow(
        n,
        record["reference"],
        record["response"],
        status,
        record.get("score"),
        record.get("code"),
        str(record.get("note", "")),
    ), ""

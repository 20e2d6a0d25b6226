"""What a format parser is given and what it may share: the import options, the context of one
line, the :data:`Parser` signature, and field helpers.

A parser turns one record (a JSON object of the source file) into the
:class:`~rl.prm.bulk.BatchItem` s of its trajectories; the driver (:mod:`rl.prm.importers`)
numbers the lines, turns a parser's ``ValueError`` / ``KeyError`` into an
:class:`~rl.prm.errors.ImportFormatError` naming the line, and writes the items. Parsers:
:mod:`rl.prm.prm800k`, :mod:`rl.prm.math_shepherd`, :mod:`rl.prm.processbench`.

>>> join_steps(["1+1=2.", "The answer is 2."])
('1+1=2.\\nThe answer is 2.', [(0, 6), (7, 23)])
"""

from __future__ import annotations

import itertools
import operator
from dataclasses import dataclass
from typing import Any, Callable, Mapping, Sequence

from .bulk import BatchItem
from .errors import PrmError


@dataclass(frozen=True)
class ImportOptions:
    """Provenance and knobs shared by the importers."""

    source: str | None = None
    """Source dataset name recorded on problems (default: per format)."""
    licence: str | None = None
    """Licence of the source dataset, recorded on problems."""
    generator: str | None = None
    """Generator recorded on trajectories (default: per format). ProcessBench records name their own
    generator, which is kept; this applies only to a record without one."""
    step_tag: str = "ки"
    """Math-Shepherd: the tag that ends each step in ``input``."""
    solution_start: str = r"Step 1\s*:"
    """Math-Shepherd: regex where the solution begins (the problem is the text before it)."""

    def __post_init__(self) -> None:
        if not self.step_tag:
            raise PrmError("ImportOptions.step_tag is empty; Math-Shepherd files use 'ки'")


@dataclass(frozen=True)
class LineContext:
    """Where a parsed line came from (for dedupe keys)."""

    source_hash: str
    """sha256 of the file."""
    line: int
    """1-based line number."""
    options: ImportOptions
    """Importer options."""
    build: bool = True
    """False in the validation pass: check everything, build nothing."""


#: A format parser: one record and its line's context -> the items of its trajectories (``[]``
#: when ``ctx.build`` is false); raises ``ValueError`` or ``KeyError`` on a malformed record.
Parser = Callable[[Mapping[str, Any], LineContext], list[BatchItem]]


def join_steps(texts: Sequence[str], separator: str = "\n") -> tuple[str, list[tuple[int, int]]]:
    """The texts joined by ``separator``, and each one's (start, end) in the result."""
    lengths = list(map(len, texts))
    if 0 in lengths:
        raise ValueError("a step's text is empty")
    gap = len(separator)
    starts = list(itertools.accumulate([n + gap for n in lengths[:-1]], initial=0))
    return separator.join(texts), list(zip(starts, map(operator.add, starts, lengths)))


def require_field(obj: Any, key: str, kind: type) -> Any:
    """``obj[key]``, which must exist (else ``KeyError``) and be a ``kind`` (else ``ValueError``).

    >>> require_field({"steps": []}, "steps", list)
    []
    """
    if not isinstance(obj, dict) or key not in obj:
        raise KeyError(key)
    value = obj[key]
    if not isinstance(value, kind):
        raise ValueError(f"field {key!r} should be a {kind.__name__}, got {type(value).__name__}")
    return value

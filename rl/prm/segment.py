"""Segmentation: cut a raw trajectory into steps, as character spans ``[start, end)``.

A segmentation never rewrites the text: a step is ``raw_text[start:end]``. Each method is
versioned (``name@version``); a change that can move any boundary is a new version, and the
old one stays, so stored segmentations keep their meaning. Importers record the spans given
by their source under their own method name (``prm800k@1``, ``math_shepherd@1``).

>>> text = "Step 1: 2+2=4.\\n\\nStep 2: so 4.\\n"
>>> [text[a:b] for a, b in segment(text, "newline@1")]
['Step 1: 2+2=4.', 'Step 2: so 4.']

Version history: newline@1, paragraph@1, step_marker@1 - first versions.
"""

from __future__ import annotations

import re
from typing import Callable, Sequence

from .errors import PrmError

Span = tuple[int, int]

_NON_BLANK_LINE = re.compile(r"[^\n]*\S[^\n]*")
_PARAGRAPH = re.compile(r"\S(?:.*?\S)?(?=\s*\n\s*\n|\s*\Z)", re.S)
_STEP_MARKER = re.compile(r"(?m)^[ \t]*Step \d+\s*:")


def _trim(text: str, start: int, end: int) -> Span:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end


def newline_v1(text: str) -> list[Span]:
    """Each non-blank line is a step (surrounding whitespace excluded)."""
    return [_trim(text, m.start(), m.end()) for m in _NON_BLANK_LINE.finditer(text)]


def paragraph_v1(text: str) -> list[Span]:
    """Blocks separated by blank lines are steps."""
    return [_trim(text, m.start(), m.end()) for m in _PARAGRAPH.finditer(text)]


def step_marker_v1(text: str) -> list[Span]:
    """Steps start at lines beginning ``Step N:``; text before the first marker is its own step."""
    starts = [m.start() for m in _STEP_MARKER.finditer(text)]
    if not starts:
        return [s for s in [_trim(text, 0, len(text))] if s[0] < s[1]]
    bounds = ([0] if text[: starts[0]].strip() else []) + starts + [len(text)]
    spans = [_trim(text, a, b) for a, b in zip(bounds, bounds[1:])]
    return [s for s in spans if s[0] < s[1]]


#: ``name -> {version: function}``.
METHODS: dict[str, dict[int, Callable[[str], list[Span]]]] = {
    "newline": {1: newline_v1},
    "paragraph": {1: paragraph_v1},
    "step_marker": {1: step_marker_v1},
}


def parse_method(spec: str) -> tuple[str, int]:
    """``"newline@1"`` -> ``("newline", 1)``; a bare name means its latest version."""
    name, _, version = spec.partition("@")
    if name not in METHODS:
        raise PrmError(f"unknown segmentation method {name!r}; known: {sorted(METHODS)}")
    if not version:
        return name, max(METHODS[name])
    if not version.isdigit() or int(version) not in METHODS[name]:
        raise PrmError(
            f"segmentation {name!r} has versions {sorted(METHODS[name])}, not {version!r}"
        )
    return name, int(version)


def segment(text: str, method: str = "newline@1") -> list[Span]:
    """Spans of the steps of ``text`` under ``method`` (``name@version``)."""
    name, version = parse_method(method)
    return METHODS[name][version](text)


def check_spans(text_length: int, spans: Sequence[Span]) -> None:
    """Raise :class:`PrmError` unless spans are non-empty, in order, non-overlapping and inside the
    text."""
    previous_end = 0
    for index, (start, end) in enumerate(spans):
        if not 0 <= start < end <= text_length or start < previous_end:
            raise PrmError(
                f"step {index} span ({start}, {end}) is empty, out of order, overlapping or "
                f"outside the text of length {text_length}; spans must satisfy 0 <= start < end <= "
                "len(text)"
            )
        previous_end = end

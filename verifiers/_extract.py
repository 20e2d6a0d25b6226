"""Find the payload in a model's response: the whole text, or a fenced code block.

Shared by the structured-output verifiers (``json_schema``, ``xml_schema``). Fence lines are
found by one linear regular expression, so megabytes of hostile text cost milliseconds.

Rule, applied by :func:`fenced_blocks` and used by the verifiers:

* a fence is a line whose first non-blank characters are three or more backticks (or tildes);
  the rest of that line is the block's language tag (``json``, ``xml``, or empty);
* the block ends at the next line that starts (after blanks) with at least as many of the same
  fence character and has nothing else on it, or at the end of the text (an unclosed block);
* only the first 1000 fence lines are looked at (a bound for hostile input);
* :func:`pick_block` returns the *first* block tagged with one of the wanted languages, else the
  first untagged block, else ``None``.

>>> blocks = fenced_blocks("Here:\\n```json\\n{\\"a\\": 1}\\n```\\nbye")
>>> [(b.language, b.text) for b in blocks]
[('json', '{"a": 1}')]
>>> pick_block(blocks, ("json",)).text
'{"a": 1}'
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass
from typing import Iterable

#: A fence line: optional blanks, three or more backticks or tildes, the rest of the line.
#: Linear to match (no nested quantifiers), so the scan is C-speed on megabytes of text.
_FENCE_LINE = re.compile(r"^[ \t]*(?P<marker>`{3,}|~{3,})(?P<rest>[^\n]*)$", re.MULTILINE)


@dataclass(frozen=True)
class Block:
    """One fenced code block: its language tag (lower-cased, may be empty) and its body."""

    language: str
    text: str


def fenced_blocks(text: str, *, max_fence_lines: int = 1000) -> list[Block]:
    """Every fenced block in ``text``, in order; only the first ``max_fence_lines`` fence lines
    count."""
    blocks: list[Block] = []
    opener: tuple[str, str, int] | None = None  # (marker, language, where the body starts)
    for match in itertools.islice(_FENCE_LINE.finditer(text), max_fence_lines):
        marker, rest = match.group("marker"), match.group("rest")
        if opener is None:
            if marker[0] == "`" and "`" in rest:
                continue  # inline code such as ```a``` on one line
            words = rest.split()
            opener = (marker, words[0].lower() if words else "", match.end() + 1)
        elif marker[0] == opener[0][0] and len(marker) >= len(opener[0]) and not rest.strip():
            blocks.append(Block(opener[1], text[opener[2] : max(opener[2], match.start() - 1)]))
            opener = None
    if opener is not None:  # unclosed: the block runs to the end of the text
        blocks.append(Block(opener[1], text[opener[2] :]))
    return blocks


def pick_block(blocks: Iterable[Block], languages: tuple[str, ...]) -> Block | None:
    """The first block tagged with one of ``languages``, else the first untagged one."""
    blocks = list(blocks)
    for block in blocks:
        if block.language in languages:
            return block
    for block in blocks:
        if not block.language:
            return block
    return None

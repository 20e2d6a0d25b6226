"""Reading JSON Lines: how rlvr decodes the JSONL it is given, in one place.

Text is UTF-8; a leading byte-order mark is skipped and undecodable bytes become U+FFFD (a bad
byte costs its line, never the file). Each line must hold one JSON object; a line that does not
becomes a :class:`BadLine` saying why, which each reader turns into its own verdict or message.
The output side is :func:`verifiers.hashing.json_line`.

>>> decode_line('{"id": 1}')
{'id': 1}
>>> decode_line("[1, 2]").describe()
'expected a JSON object, got list'
"""

from __future__ import annotations

import io
import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

#: How input files and stdin are decoded: "utf-8-sig" is UTF-8 that skips a leading byte-order mark.
INPUT_ENCODING = "utf-8-sig"

#: :attr:`BadLine.code` of a line with nothing but whitespace.
EMPTY_LINE = "empty_line"
#: :attr:`BadLine.code` of a line that is not JSON.
BAD_JSON = "bad_json"
#: :attr:`BadLine.code` of a line that is JSON, but not an object.
NOT_AN_OBJECT = "bad_record"


@dataclass(frozen=True)
class BadLine:
    """Why a JSONL line holds no JSON object.

    >>> BadLine(BAD_JSON, "Expecting value: line 1 column 1 (char 0)").describe(json_error_chars=15)
    'not valid JSON (Expecting value)'
    """

    code: str
    """:data:`EMPTY_LINE`, :data:`BAD_JSON` or :data:`NOT_AN_OBJECT` (the ``rlvr grade`` codes)."""
    detail: str = ""
    """The JSON parser's message, or the name of the type the line held."""

    def describe(self, *, json_error_chars: int = 200) -> str:
        """The problem in words, with at most ``json_error_chars`` of the parser's message."""
        if self.code == EMPTY_LINE:
            return "empty line"
        if self.code == BAD_JSON:
            return f"not valid JSON ({self.detail[:json_error_chars]})"
        return f"expected a JSON object, got {self.detail}"


def decode_line(line: str) -> dict[str, Any] | BadLine:
    """The JSON object on ``line``, or the :class:`BadLine` that says why there is none.

    >>> decode_line("  ").code, decode_line("{oops").code
    ('empty_line', 'bad_json')
    """
    if not line.strip():
        return BadLine(EMPTY_LINE)
    try:
        record = json.loads(line)
    except (ValueError, RecursionError) as exc:  # RecursionError: nesting too deep to decode
        return BadLine(BAD_JSON, str(exc))
    if not isinstance(record, dict):
        return BadLine(NOT_AN_OBJECT, type(record).__name__)
    return record


def open_jsonl(path: str | Path) -> IO[str]:
    """A JSONL file opened for reading as text, decoded as the module docstring says.

    Lines end at ``\\n`` only, as JSON Lines says: a lone ``\\r`` is whitespace inside a line,
    and the ``\\r`` of ``\\r\\n`` is whitespace at its end.
    """
    return open(path, encoding=INPUT_ENCODING, errors="replace", newline="\n")


@contextmanager
def stdin_jsonl() -> Iterator[IO[str]]:
    """Standard input decoded as :func:`open_jsonl` decodes a file (same bytes, same hashes).

    A ``sys.stdin`` that was replaced by a text-only stream (tests, notebooks) is used as it is.
    """
    if getattr(sys.stdin, "buffer", None) is None:
        yield sys.stdin
        return
    stream = io.TextIOWrapper(
        sys.stdin.buffer, encoding=INPUT_ENCODING, errors="replace", newline="\n"
    )
    try:
        yield stream
    finally:
        stream.detach()  # leave sys.stdin's buffer open


def table_lines(path: str | Path) -> list[str]:
    """The lines of a golden table or labelled set, for :mod:`verifiers.qa`.

    Decoded as :func:`open_jsonl` decodes, but split at every line boundary
    :meth:`str.splitlines` knows (also ``\\r``, ``\\x0b``, U+2028...), as these tables have
    always been read; their line numbers in reports depend on it.
    """
    return Path(path).read_text(encoding=INPUT_ENCODING, errors="replace").splitlines()

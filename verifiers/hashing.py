"""Stable content hashes for test material and responses.

Hashes are sha256 over a canonical JSON encoding (sorted keys, no whitespace, UTF-8), so the
same reference gives the same hash in any process, on any machine, in any Python version.

>>> stable_hash({"b": 1, "a": [1, 2]}) == stable_hash({"a": [1, 2], "b": 1})
True
>>> stable_hash("42")[:7]
'sha256:'
"""

from __future__ import annotations

import hashlib
import json
import math
from typing import Any


def canonical_json(value: Any) -> str:
    """Canonical JSON text of ``value``; non-finite floats and unknown objects become strings."""
    if _plain_json(value):
        try:  # fast path for plain JSON data; same text as the sanitising walk below
            return json.dumps(
                value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
            )
        except (TypeError, ValueError):
            pass
    return json.dumps(
        sanitize_json(value), sort_keys=True, separators=(",", ":"), ensure_ascii=False
    )


def stable_hash(value: Any) -> str:
    """``"sha256:<hex>"`` of ``value`` (a ``str`` is hashed as its UTF-8 bytes, anything else as
    canonical JSON)."""
    text = value if isinstance(value, str) else canonical_json(value)
    digest = hashlib.sha256(text.encode("utf-8", errors="surrogatepass")).hexdigest()
    return f"sha256:{digest}"


def _plain_json(value: Any) -> bool:
    """Cheap check that the top level is JSON-shaped (keys are checked by ``json.dumps`` itself)."""
    if isinstance(value, dict):
        return all(type(k) is str for k in value)
    return isinstance(value, (list, str, int, float, bool)) or value is None


def sanitize_json(value: Any) -> Any:
    """``value`` as plain JSON data: non-finite floats and unknown objects become their ``repr``.

    >>> sanitize_json({"x": float("nan"), 1: (2, 3)})
    {'x': 'nan', '1': [2, 3]}
    """
    if isinstance(value, float) and not math.isfinite(value):
        return repr(value)
    if isinstance(value, dict):
        return {str(k): sanitize_json(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [sanitize_json(v) for v in value]
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return repr(value)


def json_line(record: Any) -> str:
    """One strict-JSON output line, whatever a record holds.

    NaN or Infinity (not JSON) and objects JSON cannot hold (a set in a plugin's details) are
    written as their ``repr``; text UTF-8 cannot encode (a lone surrogate) falls back to ASCII
    escapes.

    >>> json_line({"x": float("nan"), "t": "cafe"}).strip()
    '{"x": "nan", "t": "cafe"}'
    """
    try:
        line = json.dumps(record, ensure_ascii=False, allow_nan=False) + "\n"
    except (ValueError, TypeError, RecursionError):
        record = sanitize_json(record)
        line = json.dumps(record, ensure_ascii=False) + "\n"
    try:
        line.encode("utf-8")
    except UnicodeEncodeError:
        line = json.dumps(record) + "\n"
    return line

"""Locating the public conformance suites in ``../shared/conformance/`` (read there, never copied).

A suite whose folder is absent is skipped with the reason printed; under ``CI=true`` its absence
is a failure, because CI always has the suites. ``RLVR_CONFORMANCE`` points at another copy.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_DIR = ROOT.parent / "shared" / "conformance"


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


def conformance_dir() -> Path:
    """Where the suites live: ``$RLVR_CONFORMANCE`` or ``<repo>/../shared/conformance``."""
    return Path(os.environ.get("RLVR_CONFORMANCE") or DEFAULT_DIR)


def suite_path(*parts: str) -> Path:
    """The path of a suite's folder or file; skip (fail under ``CI=true``) when it is absent."""
    path = conformance_dir().joinpath(*parts)
    if not path.exists():
        message = f"conformance suite {'/'.join(parts)} not found at {path} (set RLVR_CONFORMANCE)"
        if in_ci():
            pytest.fail(message + "; CI=true: the suites must be present", pytrace=False)
        print(f"SKIP {message}")
        pytest.skip(message)
    return path


def read_jsonl(path: Path) -> list[dict]:
    """Every JSON line of ``path`` (blank lines skipped)."""
    import json

    with open(path, encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def documented(doc: Path, section: str) -> set[str]:
    """The ids in the first column (`` `id` ``) of the table under ``## <section>`` of ``doc``."""
    import re

    text = doc.read_text(encoding="utf-8")
    body = text.split(f"## {section}\n", 1)[1].split("\n## ", 1)[0]
    return set(re.findall(r"^\| `([^`]+)` \|", body, re.M))

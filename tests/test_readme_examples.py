"""Every Python example in README.md runs as written, in a fresh interpreter and an empty
directory."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"


def python_blocks(text: str) -> list[tuple[int, str]]:
    """``(line, code)`` of each fenced ``python`` block (a fence inside a string does not end
    it)."""
    blocks, current, start = [], None, 0
    for number, line in enumerate(text.splitlines(), 1):
        if current is None and line.strip() == "```python":
            current, start = [], number + 1
        elif current is not None and line.strip() == "```":
            blocks.append((start, "\n".join(current)))
            current = None
        elif current is not None:
            current.append(line)
    return blocks


BLOCKS = python_blocks(README.read_text())


def test_the_readme_has_python_examples():
    assert len(BLOCKS) >= 8


@pytest.mark.parametrize("line, code", BLOCKS, ids=[f"README.md:{line}" for line, _ in BLOCKS])
def test_readme_example_runs(line, code, tmp_path):
    env = {
        **os.environ,
        "PYTHONPATH": str(README.parent) + os.pathsep + os.environ.get("PYTHONPATH", ""),
        "RAY_AUTH_MODE": "disabled",
    }  # the Ray example's local ray.init() must leave no ~/.ray/auth_token behind
    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, f"README.md:{line} failed:\n{done.stderr[-3000:]}"

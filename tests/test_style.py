"""The tree keeps one format and one line limit: ``[tool.ruff]`` in pyproject.toml (100 characters).

Fix a failure with ``.venv/bin/ruff format .``; a line ruff cannot shorten (a comment, docstring or
long string) is wrapped by hand.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FOLDERS = ("verifiers", "envs", "sandbox", "rl", "tests", "datasets")


def _ruff(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ruff", *args], cwd=ROOT, capture_output=True, text=True, timeout=300
    )


def test_the_tree_is_formatted():
    proc = _ruff("format", "--check", ".")
    assert proc.returncode == 0, f"{proc.stdout}{proc.stderr}fix: .venv/bin/ruff format ."


def test_no_line_is_over_the_limit():
    proc = _ruff("check", "--select", "E501", "--output-format", "concise", ".")
    assert proc.returncode == 0, (
        f"{proc.stdout}{proc.stderr}wrap these lines (limit: pyproject.toml)"
    )


def test_no_line_is_longer_than_the_limit_in_characters():
    # ruff's E501 passes over some lines (one long "word", a URL, a trailing pragma): count them all
    import tomllib

    limit = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["ruff"]["line-length"]
    assert limit == 100
    long = [
        f"{path.relative_to(ROOT)}:{number}"
        for folder in FOLDERS
        for path in sorted((ROOT / folder).rglob("*.py"))
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if len(line) > limit
    ]
    assert long == [], f"lines over {limit} characters: {long}"

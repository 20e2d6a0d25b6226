"""Helpers shared by the batch and `rlvr grade` tests: a grader that hangs; a process check."""

from __future__ import annotations

import textwrap

import pytest

#: A script that grades one item in one worker; the item starts a child process, prints the
#: child's pid and hangs. Tests kill the script and check that nothing it started survives.
HANGING_GRADER = textwrap.dedent("""
    import subprocess, sys, time
    from verifiers import BaseVerifier, GradeItem, grade_batch, register

    @register
    class Hang(BaseVerifier):
        name, version, description = "qa_hang", 1, "starts a child, then hangs"
        def check(self, response, reference):
            child = subprocess.Popen(["sleep", "600"])
            print(child.pid, flush=True)
            time.sleep(600)

    grade_batch([GradeItem("x", {}, "qa_hang@1")], workers=1, timeout_s=600)
""")


def alive(pid: int) -> bool:
    """True while process ``pid`` exists and is not a zombie."""
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().split(") ")[-1][0] != "Z"
    except FileNotFoundError:
        return False


@pytest.fixture(name="hanging_grader")
def _hanging_grader_fixture() -> str:
    """The :data:`HANGING_GRADER` script's source."""
    return HANGING_GRADER


@pytest.fixture(name="alive")
def _alive_fixture():
    """The :func:`alive` check."""
    return alive

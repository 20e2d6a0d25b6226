"""Hostile inputs end fast and bounded; the CAS helper is killable and leaves no stray processes."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest

import verifiers
from verifiers import GradeItem, grade_batch
from verifiers.math import MathConfig, MathVerifier
from verifiers.math.cas_process import PROCESS_NAME, CasHelper
from verifiers.math.screen import nesting_depth, screen_answer
from verifiers.math.verifier import helper_for

# passes the screen; expanding takes > 20 s
SLOW_PAIR = ("(x+1)^{3000}", "\\boxed{(x^2+2x+1)^{1500}}")

HOSTILE = [
    ("3", "\\boxed{9^{9^{9^{9}}}}", "fail", "too_large"),
    ("3", "\\boxed{10^{10^{10}}}", "fail", "too_large"),
    ("3", "\\boxed{100000000!}", "fail", "too_large"),
    ("3", "\\boxed{2^{2^{100}}}", "fail", "too_large"),
    ("3", "\\boxed{" + "9" * 25000 + "}", "fail", "too_large"),
    ("1", "\\boxed{" + "(" * 3000 + "1" + ")" * 3000 + "}", "unparseable", "too_deep"),
    ("1", "\\boxed{" + "\\frac{" * 3000 + "1" + "}{2}" * 3000 + "}", "unparseable", "too_deep"),
    ("1", "\\boxed{" + "1+" * 300_000 + "1}", "unparseable", "answer_too_long"),
    ("1", "x" * 1_000_001, "unparseable", "response_too_long"),
    ("12", "\\boxed{1\x002}", "unparseable", "control_characters"),
]


MEGABYTE_RESPONSES = [  # extraction stays linear on these (each was quadratic in a naive scan)
    ("\\boxed{" * 120_000, "unparseable", "no_answer"),
    ("\\boxed{1} " * 90_000, "fail", "wrong_answer"),
    ("".join(f"\\boxed{{{i}}} or " for i in range(50_000)), "fail", "hedged"),
    ("The answer is 5. " * 50_000, "pass", None),
    ("Answer: " * 100_000, "unparseable", "empty_answer"),
    ("{" * 900_000, "unparseable", "no_answer"),
    ("1 " * 450_000, "fail", "wrong_answer"),
]


def rlvr_helper_pids() -> set[int]:
    """Live (non-zombie) processes named like the CAS helper, found by scanning /proc."""
    pids = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            comm = (entry / "comm").read_bytes().strip()
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if comm == PROCESS_NAME and state != "Z":
            pids.add(int(entry.name))
    return pids


def own_helper_pids() -> set[int]:
    return {pid for pid in rlvr_helper_pids() if _ppid(pid) == os.getpid()}


def _ppid(pid: int) -> int:
    try:
        return int((Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()[1])
    except (OSError, IndexError, ValueError):
        return -1


@pytest.mark.parametrize(
    "gold, response, status, code", HOSTILE, ids=[h[3] + str(i) for i, h in enumerate(HOSTILE)]
)
def test_hostile_inputs_end_without_the_cas(gold, response, status, code):
    verdict = verifiers.get("math@1").verify(response, {"answer": gold})
    assert (verdict.status.value, verdict.failure_reason.code) == (status, code)


@pytest.mark.parametrize(
    "response, status, code",
    MEGABYTE_RESPONSES,
    ids=[str(i) for i in range(len(MEGABYTE_RESPONSES))],
)
def test_megabyte_responses_are_handled(response, status, code):
    verdict = verifiers.get("math@1").verify(response, {"answer": "5"})
    assert verdict.status.value == status
    assert (verdict.failure_reason.code if verdict.failure_reason else None) == code


def test_screen_lets_ordinary_powers_through():
    for text in ("2^{-99}", "2^{2^{3}}", "10^{100}", "\\frac{1}{2004!}", "e^{x^2}"):
        assert screen_answer(text, max_chars=2000, max_nesting=60, max_digits=20000) is None, text
    assert nesting_depth("((x))") == 2


def test_slow_cas_work_times_out_and_the_helper_recovers():
    verifier = MathVerifier(MathConfig(timeout_s=0.5))
    verdict = verifier.verify(SLOW_PAIR[1], {"answer": SLOW_PAIR[0]})
    assert verdict.status.value == "timeout" and verdict.failure_reason.code == "cas_timeout"
    assert verdict.details["extraction_rule"] == "boxed"
    assert verifier.verify("\\boxed{x^2+2x+1}", {"answer": "(x+1)^2"}).passed


def test_verify_is_bounded_off_the_main_thread():
    verifier = MathVerifier(MathConfig(timeout_s=0.5))
    results = []

    def work():
        results.append(verifier.verify(SLOW_PAIR[1], {"answer": SLOW_PAIR[0]}))
        results.append(verifier.verify("\\boxed{\\sqrt{8}}", {"answer": "2\\sqrt{2}"}))

    thread = threading.Thread(target=work)
    thread.start()
    thread.join(timeout=60)
    assert [v.status.value for v in results] == ["timeout", "pass"]
    # the helper forked from the finished thread is gone; the next call respawns one
    assert verifier.verify("\\boxed{\\sqrt{8}}", {"answer": "2\\sqrt{2}"}).passed


def test_helper_is_killed_on_close_and_not_shared_with_forked_children():
    helper = CasHelper(memory_limit_mb=512)
    assert helper.call(("judge", ["1/2"], ["0.5"], 1e-9), timeout_s=60)["equal"] is True
    pid = helper.pid
    assert pid in own_helper_pids()
    child = os.fork()
    if child == 0:  # a forked copy must not talk to (or kill) the parent's helper
        code = 0 if helper.pid is None else 1
        helper.close()
        os._exit(code)
    _, status = os.waitpid(child, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert (
        helper.call(("judge", ["2"], ["2"], 1e-9), timeout_s=60)["equal"] is True
        and helper.pid == pid
    )
    helper.close()
    assert pid not in own_helper_pids()


def test_timeout_kills_the_helper_process():
    verifier = MathVerifier(MathConfig(timeout_s=0.3, memory_limit_mb=777))
    verifier.verify("\\boxed{x+1}", {"answer": "1+x"})
    first = helper_for(777).pid
    assert verifier.verify(SLOW_PAIR[1], {"answer": SLOW_PAIR[0]}).status.value == "timeout"
    assert helper_for(777).pid is None and first not in rlvr_helper_pids()


def _hostile_batch(count: int) -> list[GradeItem]:
    slow = MathVerifier(MathConfig(timeout_s=0.3))
    items = []
    for i in range(count):
        gold, response, _, _ = HOSTILE[i % len(HOSTILE)]
        if i % len(HOSTILE) in (7, 8) and i >= 2 * len(HOSTILE):  # keep megabyte items few
            response = "\\boxed{" + "(" * 100 + "1" + ")" * 100 + "}"
        if i % 100 == 5:
            items.append(GradeItem(SLOW_PAIR[1], {"answer": SLOW_PAIR[0]}, slow, i))
        # ordinary CAS work, so each worker holds a live helper when the pool closes
        elif i % 50 == 7:
            items.append(GradeItem("\\boxed{(1+x)^2}", {"answer": "x^2+2x+1"}, "math@1", i))
        else:
            items.append(GradeItem(response, {"answer": gold}, "math@1", i))
    return items


@pytest.mark.slow
def test_batch_of_1000_hostile_inputs_finishes_and_leaves_no_stray_processes(wait_until):
    before = rlvr_helper_pids()
    verdicts = grade_batch(_hostile_batch(1000), workers=2, timeout_s=30)
    assert len(verdicts) == 1000
    statuses = [v.status.value for v in verdicts]
    assert set(statuses) == {"pass", "fail", "unparseable", "timeout"}
    assert statuses.count("timeout") == 10 and statuses.count("pass") == 20
    assert wait_until(lambda: not rlvr_helper_pids() - before, timeout_s=10)

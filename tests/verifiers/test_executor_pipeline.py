"""ProcessPoolExecutor with jobs queued behind running ones (``prefetch``): bounds, crashes,
order."""

from __future__ import annotations

import pytest

from verifiers import GradeItem, ProcessPoolExecutor, Status, grade_batch
from verifiers import executor as executor_module


def _items(responses, reference=None):
    return [
        GradeItem(r, reference or {"answer": "ok"}, "test_echo@1", i)
        for i, r in enumerate(responses)
    ]


def _grade(items, **pool_args):
    with ProcessPoolExecutor(**pool_args) as pool:
        return grade_batch(items, executor=pool)


def test_jobs_queued_behind_a_hang_are_not_charged_its_time(echo_verifier):
    verdicts = _grade(_items(["HANG", "ok", "no", "ok"]), workers=1, timeout_s=1.0, prefetch=3)
    assert [v.status for v in verdicts] == [Status.TIMEOUT, Status.PASS, Status.FAIL, Status.PASS]


def test_jobs_queued_behind_a_crash_are_regraded(echo_verifier):
    verdicts = _grade(_items(["CRASH", "ok", "CRASH", "no"]), workers=1, timeout_s=10, prefetch=2)
    assert [(v.status, v.failure_reason and v.failure_reason.code) for v in verdicts] == [
        (Status.ERROR, "worker_crashed"),
        (Status.PASS, None),
        (Status.ERROR, "worker_crashed"),
        (Status.FAIL, "wrong_answer"),
    ]


def test_large_jobs_wait_for_an_idle_worker_and_order_is_kept(echo_verifier):
    big = "x" * (executor_module.PIPELINE_MAX_BYTES * 4)
    responses = ["ok" if i % 3 else big for i in range(30)]
    verdicts = _grade(_items(responses), workers=2, timeout_s=30, prefetch=2)
    assert [v.passed for v in verdicts] == [r == "ok" for r in responses]


@pytest.mark.parametrize("prefetch", [1, 2, 4])
def test_prefetch_does_not_change_verdicts(echo_verifier, prefetch):
    responses = ["ok", "no", "RAISE", "ok"] * 10
    verdicts = _grade(_items(responses), workers=2, timeout_s=30, prefetch=prefetch)
    baseline = _grade(_items(responses), workers=1, timeout_s=30, prefetch=1)
    assert [v.identity() for v in verdicts] == [v.identity() for v in baseline]


def test_a_worker_that_died_between_jobs_is_replaced(echo_verifier, monkeypatch):
    real_send = executor_module._Worker.send
    calls = {"n": 0}

    def flaky_send(self, job, data, timeout_s):
        calls["n"] += 1
        if calls["n"] == 2:
            raise BrokenPipeError("worker went away")
        return real_send(self, job, data, timeout_s)

    monkeypatch.setattr(executor_module._Worker, "send", flaky_send)
    verdicts = _grade(_items(["ok", "no", "ok"]), workers=1, timeout_s=30, prefetch=2)
    assert [v.status for v in verdicts] == [Status.PASS, Status.FAIL, Status.PASS]


def test_prefetch_must_be_positive():
    with pytest.raises(ValueError, match="prefetch must be >= 1"):
        ProcessPoolExecutor(1, prefetch=0)

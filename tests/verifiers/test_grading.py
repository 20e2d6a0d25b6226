import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

import verifiers
from verifiers import (
    GradeItem,
    InlineExecutor,
    MemoryCache,
    ProcessPoolExecutor,
    Status,
    Verdict,
    grade_batch,
)


def _items(responses, spec="test_echo@1"):
    return [GradeItem(r, {"answer": "ok"}, spec, i) for i, r in enumerate(responses)]


def test_hanging_item_times_out_and_batch_goes_on(echo_verifier):
    verdicts = grade_batch(_items(["ok", "HANG", "no", "ok"]), workers=2, timeout_s=1.5)
    assert [v.status for v in verdicts] == [Status.PASS, Status.TIMEOUT, Status.FAIL, Status.PASS]
    assert verdicts[1].failure_reason.code == "timeout"
    assert verdicts[1].verifier == "test_echo" and verdicts[1].verifier_version == 1


def test_crashing_worker_is_an_error_not_a_fail(echo_verifier):
    verdicts = grade_batch(_items(["CRASH", "ok", "RAISE"]), workers=1, timeout_s=10)
    assert (
        verdicts[0].status is Status.ERROR and verdicts[0].failure_reason.code == "worker_crashed"
    )
    assert verdicts[1].status is Status.PASS
    assert (
        verdicts[2].status is Status.ERROR and verdicts[2].failure_reason.code == "verifier_crashed"
    )


def test_bad_reference_is_error(echo_verifier):
    [v] = grade_batch([GradeItem("ok", {}, "test_echo@1")], workers=1)
    assert v.status is Status.ERROR and v.failure_reason.code == "bad_reference"
    [v] = grade_batch([GradeItem("ok", ["not", "a", "dict"], "test_echo@1")], workers=1)
    assert v.status is Status.ERROR and v.failure_reason.code == "bad_reference"


def test_unknown_verifier_in_batch_is_error_verdict(echo_verifier):
    verdicts = grade_batch(_items(["ok"]) + _items(["ok"], spec="nope@1"), workers=1)
    assert verdicts[0].passed
    assert (
        verdicts[1].status is Status.ERROR and verdicts[1].failure_reason.code == "unknown_verifier"
    )


def test_order_kept_for_many_items(echo_verifier):
    responses = ["ok" if i % 3 else f"x{i}" for i in range(200)]
    verdicts = grade_batch(_items(responses), workers=2)
    assert [v.passed for v in verdicts] == [r == "ok" for r in responses]


def test_inline_executor_matches_pool(echo_verifier):
    items = _items(["ok", "no"])
    inline = [v.identity() for v in grade_batch(items, executor=InlineExecutor())]
    pooled = [v.identity() for v in grade_batch(items, workers=2)]
    assert inline == pooled


def test_cache_answers_repeat_items_without_regrading(echo_verifier):
    cache = MemoryCache()
    first = grade_batch(_items(["ok", "no"]), workers=1, cache=cache)
    assert len(cache) == 2
    with ProcessPoolExecutor(1) as ex:
        ex.close()
        second = grade_batch(_items(["ok", "no"]), executor=_Refuse(), cache=cache)
    assert [v.identity() for v in first] == [v.identity() for v in second]


def test_timeouts_are_never_cached(echo_verifier):
    cache = MemoryCache()
    grade_batch(_items(["HANG"]), workers=1, timeout_s=0.5, cache=cache)
    assert len(cache) == 0


class _Refuse:
    def map(self, jobs):
        for job in jobs:
            raise AssertionError(f"job {job.index} should have come from the cache")
        return iter(())

    def close(self):
        pass


def test_no_stray_processes_after_batch(echo_verifier):
    import multiprocessing

    before = set(multiprocessing.active_children())  # other tests' long-lived pools may exist
    grade_batch(_items(["HANG", "ok"]), workers=2, timeout_s=0.5)
    assert set(multiprocessing.active_children()) - before == set()


def test_determinism_across_processes(echo_verifier):
    a = grade_batch(_items(["ok", "no"]), workers=1)
    b = grade_batch(_items(["ok", "no"]), workers=2)
    assert [v.identity() for v in a] == [v.identity() for v in b]
    assert all(isinstance(v, Verdict) for v in a)
    assert a[0].input_hash == b[0].input_hash and a[0].test_case_hash == b[0].test_case_hash


def test_pool_rejects_bad_arguments():
    with pytest.raises(ValueError, match="workers must be >= 1"):
        ProcessPoolExecutor(0)
    with pytest.raises(ValueError, match="timeout_s must be > 0"):
        ProcessPoolExecutor(1, timeout_s=0)


def test_a_reference_that_is_not_an_object_is_a_verdict_for_every_verifier():
    from verifiers import available

    specs = [f"{info.name}@{v}" for info in available() for v in info.versions]
    verdicts = grade_batch([GradeItem("4", "4", spec, spec) for spec in specs], workers=0)
    assert [v.status.value for v in verdicts] == ["error"] * len(specs)
    assert {v.failure_reason.code for v in verdicts} == {"bad_reference"}


def test_the_item_id_stays_with_the_caller_and_need_not_pickle(echo_verifier):
    import threading

    from verifiers import Job

    class Recording(InlineExecutor):
        def map(self, jobs):
            self.jobs = list(jobs)
            return super().map(self.jobs)

    items = [GradeItem("ok", {"answer": "ok"}, "test_echo@1", threading.Lock()) for _ in range(2)]
    assert [v.status for v in grade_batch(items, workers=1)] == [Status.PASS] * 2
    recording = Recording()
    grade_batch(items, executor=recording)
    assert recording.jobs == [
        Job(i, GradeItem("ok", {"answer": "ok"}, "test_echo@1")) for i in (0, 1)
    ]


OBJ = {"schema": {"type": "object", "required": ["n"]}}
XSD = {
    "xsd": '<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema">'
    '<xs:element name="a"/></xs:schema>'
}


# -- what may stand in for a verifier spec; grading off the main thread ----------------------


@pytest.mark.parametrize("workers", [0, 1])
def test_an_object_that_is_not_a_verifier_is_an_error_verdict_not_a_crash(workers):
    items = [
        GradeItem('{"n": 1}', OBJ, object()),
        GradeItem('{"n": 1}', OBJ, verifiers.get_class("json_schema@1")),
        GradeItem('{"n": 1}', OBJ, "json_schema@1"),
    ]
    verdicts = grade_batch(items, workers=workers)
    assert [v.status for v in verdicts] == [Status.ERROR, Status.ERROR, Status.PASS]
    assert [v.failure_reason.code for v in verdicts[:2]] == ["bad_verifier", "bad_verifier"]
    assert "pass JsonSchemaVerifier()" in verdicts[1].failure_reason.message


@pytest.mark.parametrize(
    "spec, response, reference",
    [
        ("json_schema@1", '{"n": 1}', OBJ),
        ("xml_schema@1", "<a/>", XSD),
    ],
)
def test_a_verifier_instance_that_already_graded_can_still_go_to_workers(spec, response, reference):
    instance = verifiers.get_class(spec)()
    in_process = instance.verify(response, reference)  # fills its compiled-schema cache
    [in_worker] = grade_batch([GradeItem(response, reference, instance)], workers=1)
    assert in_worker.status is Status.PASS, in_worker.failure_reason
    assert in_worker.identity() == in_process.identity()


def test_a_differently_configured_instance_does_not_share_cached_verdicts():
    from verifiers.json_schema.verifier import JsonSchemaConfig, JsonSchemaVerifier

    cache = verifiers.MemoryCache()
    deep = GradeItem("[[[1]]]", {"schema": {}}, "json_schema@1")
    assert grade_batch([deep], workers=0, cache=cache)[0].status is Status.PASS
    strict = JsonSchemaVerifier(JsonSchemaConfig(max_depth=2))
    [verdict] = grade_batch(
        [GradeItem(deep.response, deep.reference, strict)], workers=0, cache=cache
    )
    assert verdict.identity() == strict.verify(deep.response, deep.reference).identity()
    assert verdict.status is Status.UNPARSEABLE
    # a default-configured instance still shares the cache with its spec
    [again] = grade_batch(
        [GradeItem(deep.response, deep.reference, JsonSchemaVerifier())], workers=0, cache=cache
    )
    assert len(cache) == 2 and again.status is Status.PASS


def test_grade_works_from_a_thread_that_is_not_the_main_thread():
    import threading

    results = []
    thread = threading.Thread(
        target=lambda: results.append(verifiers.grade('{"n": 1}', OBJ, "json_schema@1"))
    )
    thread.start()
    thread.join(timeout=120)
    assert [v.status for v in results] == [Status.PASS]


# -- the worker pool: never outlives a grader that is killed; sized by the CPU affinity mask ---


def test_workers_and_their_children_die_when_the_grader_is_killed(
    hanging_grader, alive, wait_until
):
    grader = subprocess.Popen(
        [sys.executable, "-c", hanging_grader],
        stdout=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    child = int(grader.stdout.readline())  # the hanging item's own child process
    worker = int(Path(f"/proc/{child}/stat").read_text().split(") ")[-1].split()[1])
    grader.kill()  # SIGKILL: no finally, no atexit: only the workers' own watch can clean up
    grader.wait()
    wait_until(lambda: not (alive(worker) or alive(child)), timeout_s=20)
    leftovers = [pid for pid in (worker, child) if alive(pid)]
    for pid in leftovers:  # do not leave them behind if the assertion fails
        os.kill(pid, signal.SIGKILL)
    assert leftovers == []


def test_the_default_pool_size_follows_the_cpu_affinity_mask():
    from verifiers.executor import ProcessPoolExecutor, available_cpus

    assert available_cpus() == len(os.sched_getaffinity(0))
    script = "from verifiers import ProcessPoolExecutor; print(ProcessPoolExecutor().workers)"
    proc = subprocess.run(
        ["taskset", "-c", "0", sys.executable, "-c", script],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.stdout.strip() == "1", proc.stderr
    assert ProcessPoolExecutor(3).workers == 3

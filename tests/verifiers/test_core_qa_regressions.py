"""Regressions found by QA in the grading core: verifier objects in batches, orphaned workers,
and `rlvr grade` input/output edge cases (BOM, undecodable bytes, unwritable outputs, SIGTERM)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

import verifiers
from verifiers import GradeItem, Status, grade_batch

RLVR = str(Path(sys.executable).with_name("rlvr"))
OBJ = {"schema": {"type": "object", "required": ["n"]}}
XSD = {
    "xsd": '<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema"><xs:element name="a"/></xs:schema>'
}
LINE = json.dumps({"id": 1, "verifier": "json_schema@1", "response": '{"n": 1}', "reference": OBJ})


# -- batch: what may stand in for a verifier spec ------------------------------------------


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


# -- workers never outlive a grader that is killed -------------------------------------------

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


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().split(") ")[-1][0] != "Z"
    except FileNotFoundError:
        return False


def test_workers_and_their_children_die_when_the_grader_is_killed():
    grader = subprocess.Popen(
        [sys.executable, "-c", HANGING_GRADER],
        stdout=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    child = int(grader.stdout.readline())  # the hanging item's own child process
    worker = int(Path(f"/proc/{child}/stat").read_text().split(") ")[-1].split()[1])
    grader.kill()  # SIGKILL: no finally, no atexit: only the workers' own watch can clean up
    grader.wait()
    deadline = time.monotonic() + 20
    while (_alive(worker) or _alive(child)) and time.monotonic() < deadline:
        time.sleep(0.1)
    leftovers = [pid for pid in (worker, child) if _alive(pid)]
    for pid in leftovers:  # do not leave them behind if the assertion fails
        os.kill(pid, signal.SIGKILL)
    assert leftovers == []


# -- rlvr grade: input decoding and outputs ------------------------------------------------------


def _grade(args, stdin: bytes | None = None):
    return subprocess.run(
        [RLVR, "grade", *args, "--workers", "0", "--no-progress"],
        input=stdin,
        capture_output=True,
        timeout=120,
    )


def test_a_byte_order_mark_and_crlf_line_ends_are_read_as_plain_lines(tmp_path):
    path = tmp_path / "in.jsonl"
    path.write_bytes(b"\xef\xbb\xbf" + (LINE + "\r\n").encode() * 2)
    for source, stdin in ((str(path), None), ("-", path.read_bytes())):
        proc = _grade([source, "-o", "-"], stdin=stdin)
        out = [json.loads(line) for line in proc.stdout.decode().splitlines()]
        assert [o["verdict"]["status"] for o in out] == ["pass", "pass"], (source, out)


def test_a_lone_carriage_return_inside_a_line_does_not_split_it(tmp_path):
    path = tmp_path / "in.jsonl"
    path.write_bytes(
        LINE.replace(', "verifier"', ',\r"verifier"').encode() + b"\n" + LINE.encode() + b"\n"
    )
    for source, stdin in ((str(path), None), ("-", path.read_bytes())):
        proc = _grade([source, "-o", "-"], stdin=stdin)
        out = [json.loads(line) for line in proc.stdout.decode().splitlines()]
        assert [(o["id"], o["verdict"]["status"]) for o in out] == [(1, "pass"), (1, "pass")], (
            source,
            out,
        )


def test_undecodable_bytes_give_the_same_verdict_from_a_file_and_from_stdin(tmp_path):
    record = (
        b'{"id": 1, "verifier": "json_schema@1", "response": "\xff{}", "reference": {"schema": {}}}'
    )
    path = tmp_path / "in.jsonl"
    path.write_bytes(record + b"\n")
    from_file = _grade([str(path), "-o", "-"])
    from_stdin = _grade(["-", "-o", "-"], stdin=record + b"\n")
    assert from_file.returncode == from_stdin.returncode == 0, from_stdin.stderr
    assert (
        json.loads(from_file.stdout)["verdict"]["input_hash"]
        == json.loads(from_stdin.stdout)["verdict"]["input_hash"]
    )


@pytest.mark.parametrize(
    "flags, match",
    [
        (
            ["-o", "{tmp}/missing/out.jsonl"],
            r"-o .*missing/out.jsonl: the directory .* does not exist; create it first",
        ),
        (["-o", "{tmp}"], r"-o .*: is a directory; give a file name"),
        (
            ["-o", "{tmp}/out.jsonl", "--summary-json", "{tmp}/missing/s.json"],
            r"--summary-json .*: the directory",
        ),
    ],
)
def test_an_unwritable_output_is_a_clear_error_before_grading(tmp_path, flags, match):
    source = tmp_path / "in.jsonl"
    source.write_text(LINE + "\n")
    proc = _grade([str(source), *(f.format(tmp=tmp_path) for f in flags)])
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr.decode()
    assert __import__("re").search(match, proc.stderr.decode())
    assert not (tmp_path / "out.jsonl").exists()  # nothing was graded or written


def test_sigterm_stops_rlvr_grade_and_its_workers(tmp_path):
    script = HANGING_GRADER.split("grade_batch(")[0] + textwrap.dedent("""
        from rl.cli import main
        sys.exit(main(sys.argv[1:]))
    """)
    source = tmp_path / "in.jsonl"
    source.write_text(
        json.dumps({"id": 1, "verifier": "qa_hang@1", "response": "x", "reference": {}}) + "\n"
    )
    grader = subprocess.Popen(
        [
            sys.executable,
            "-c",
            script,
            "grade",
            str(source),
            "-o",
            str(tmp_path / "o.jsonl"),
            "--workers",
            "1",
            "--no-progress",
        ],
        stdout=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    child = int(grader.stdout.readline())
    grader.terminate()
    assert grader.wait(timeout=30) == 128 + signal.SIGTERM
    deadline = time.monotonic() + 20
    while _alive(child) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not _alive(child)


def test_details_that_are_not_json_do_not_crash_rlvr_grade(tmp_path, capsys):
    from rl.cli import main
    from verifiers import BaseVerifier, Outcome, register, unregister

    class OddDetails(BaseVerifier):
        name, version, description = "qa_odd_details", 1, "details JSON cannot hold"

        def check(self, response, reference):
            return Outcome.failed("odd", "odd details", ratio=float("nan"), tags=frozenset({"a"}))

    register(OddDetails)
    try:
        source = tmp_path / "in.jsonl"
        source.write_text(
            json.dumps({"id": 1, "verifier": "qa_odd_details@1", "response": "x", "reference": {}})
            + "\n"
        )
        assert (
            main(
                [
                    "grade",
                    str(source),
                    "-o",
                    str(tmp_path / "out.jsonl"),
                    "--workers",
                    "0",
                    "--no-progress",
                ]
            )
            == 0
        )
    finally:
        unregister("qa_odd_details@1")
    [record] = [json.loads(line) for line in (tmp_path / "out.jsonl").read_text().splitlines()]
    assert record["verdict"]["details"] == {"ratio": "nan", "tags": "frozenset({'a'})"}


def test_an_unknown_name_in_the_wrong_case_still_gets_a_suggestion():
    with pytest.raises(verifiers.UnknownVerifierError, match="Did you mean 'json_schema'"):
        verifiers.get("JSON_SCHEMA@1")


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

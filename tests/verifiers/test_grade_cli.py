"""`rlvr grade` / `rlvr verifiers` through the real console script (and `python -m rl.cli`) in
subprocesses."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

RLVR = str(Path(sys.executable).with_name("rlvr"))
OBJ = {"schema": {"type": "object", "required": ["n"], "properties": {"n": {"type": "integer"}}}}
DTD = {"dtd": "<!ELEMENT a EMPTY>"}


def _line(**record) -> str:
    return json.dumps(record)


MIXED = [
    (_line(id="ok", verifier="json_schema@1", response='{"n": 1}', reference=OBJ), "pass", None),
    (
        _line(id="wrong", verifier="json_schema", response='{"n": "x"}', reference=OBJ),
        "fail",
        "schema_violation",
    ),
    ('{"id": "broken", "verifier": ', "error", "bad_json"),
    ("[1, 2, 3]", "error", "bad_record"),
    (
        _line(id="nosuch", verifier="no_such_verifier@1", response="x", reference={}),
        "error",
        "unknown_verifier",
    ),
    (
        _line(id="badversion", verifier="json_schema@99", response="x", reference=OBJ),
        "error",
        "unknown_verifier",
    ),
    (_line(id="noresp", verifier="json_schema@1", reference=OBJ), "error", "missing_field"),
    (_line(id="nover", response="{}", reference=OBJ), "error", "missing_field"),
    ("", "error", "empty_line"),
    (_line(id="spec", verifier=7, response="{}", reference=OBJ), "error", "bad_record"),
    (
        _line(id="badref", verifier="json_schema@1", response="{}", reference={"nope": 1}),
        "error",
        "bad_reference",
    ),
    (_line(id="xml", verifier="xml_schema@1", response="<a/>", reference=DTD), "pass", None),
    (
        _line(id="unparseable", verifier="xml_schema@1", response="<a", reference=DTD),
        "unparseable",
        "invalid_xml",
    ),
]


def _run(args, stdin=None, command=(RLVR,)):
    return subprocess.run(
        [*command, *args], input=stdin, capture_output=True, text=True, timeout=300
    )


def _grade(args, stdin=None):
    return _run(["grade", *args], stdin=stdin)


def _read_jsonl(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines()]


def _check_mixed(records):
    assert len(records) == len(MIXED)
    for record, (line, status, code) in zip(records, MIXED):
        verdict = record["verdict"]
        assert verdict["status"] == status, (line, verdict)
        assert (verdict["failure_reason"] or {}).get("code") == code, (line, verdict)
    assert [r["id"] for r in records][:2] == ["ok", "wrong"] and records[11]["id"] == "xml"


def test_n_lines_in_n_lines_out_in_order_with_bad_lines(tmp_path):
    src, out = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    src.write_text("\n".join(line for line, _, _ in MIXED) + "\n")
    proc = _grade(
        [str(src), "-o", str(out), "--workers", "2", "--summary-json", str(tmp_path / "s.json")]
    )
    assert proc.returncode == 0, proc.stderr
    _check_mixed(_read_jsonl(out.read_text()))
    assert (
        "items in" in proc.stdout
        and "json_schema@1" in proc.stdout
        and "json_schema@2" in proc.stdout
    )
    assert "grading" in proc.stderr  # the progress bar
    summary = json.loads((tmp_path / "s.json").read_text())
    assert summary["items"] == len(MIXED)
    assert summary["verifiers"]["json_schema@1"]["status"] == {"pass": 1, "error": 1}
    # plain "json_schema" is the latest
    assert summary["verifiers"]["json_schema@2"]["status"] == {"fail": 1}


def test_stdin_to_stdout_keeps_stdout_clean():
    stdin = "\n".join(line for line, _, _ in MIXED) + "\n"
    proc = _grade(["-", "-o", "-", "--workers", "1"], stdin=stdin)
    assert proc.returncode == 0, proc.stderr
    _check_mixed(_read_jsonl(proc.stdout))  # every stdout line is a JSON record: nothing else there
    assert "items in" in proc.stderr


def test_python_dash_m_gives_the_same_verdicts(tmp_path):
    stdin = "\n".join(line for line, _, _ in MIXED[:2] + MIXED[11:]) + "\n"
    a = _grade(["-", "-o", "-", "--workers", "0", "--no-progress"], stdin=stdin)
    b = _run(
        ["-", "-o", "-", "--workers", "2", "--no-progress"],
        stdin=stdin,
        command=(sys.executable, "-m", "rl.cli", "grade"),
    )
    a_records = [
        {**r, "verdict": {k: v for k, v in r["verdict"].items() if k != "elapsed_s"}}
        for r in _read_jsonl(a.stdout)
    ]
    b_records = [
        {**r, "verdict": {k: v for k, v in r["verdict"].items() if k != "elapsed_s"}}
        for r in _read_jsonl(b.stdout)
    ]
    assert a.returncode == b.returncode == 0 and len(a_records) == 4
    assert a_records == b_records


def test_default_verifier_applies_only_to_lines_without_one():
    stdin = (
        "\n".join(
            [
                _line(id=1, response='{"n": 1}', reference=OBJ),
                _line(id=2, verifier="xml_schema@1", response="<a/>", reference=DTD),
            ]
        )
        + "\n"
    )
    proc = _grade(
        ["-", "-o", "-", "--verifier", "json_schema@1", "--workers", "1", "--no-progress"],
        stdin=stdin,
    )
    assert proc.returncode == 0, proc.stderr
    verdicts = [r["verdict"] for r in _read_jsonl(proc.stdout)]
    assert [(v["verifier"], v["status"]) for v in verdicts] == [
        ("json_schema", "pass"),
        ("xml_schema", "pass"),
    ]


@pytest.mark.parametrize(
    "args,match",
    [
        (
            ["-", "-o", "-", "--verifier", "jsn_schema"],
            "no verifier named 'jsn_schema'. Did you mean 'json_schema'",
        ),
        (["/no/such/input.jsonl", "-o", "-"], "cannot read /no/such/input.jsonl"),
        (
            ["-", "-o", "-", "--workers", "-1"],
            "need --workers >= 0 and --timeout > 0, got -1 and 30",
        ),
        (
            ["-", "-o", "-", "--timeout", "0"],
            "need --workers >= 0 and --timeout > 0, got None and 0",
        ),
    ],
)
def test_misuse_exits_2_with_a_message(args, match):
    proc = _grade(args, stdin="")
    assert proc.returncode == 2
    assert match in proc.stderr and "Traceback" not in proc.stderr


def test_many_lines_keep_their_order():
    lines = [
        _line(
            id=i, verifier="json_schema@1", response=str(i), reference={"schema": {"multipleOf": 3}}
        )
        for i in range(300)
    ]
    proc = _grade(
        ["-", "-o", "-", "--workers", "2", "--no-progress"], stdin="\n".join(lines) + "\n"
    )
    records = _read_jsonl(proc.stdout)
    assert [r["id"] for r in records] == list(range(300))
    assert [r["verdict"]["status"] == "pass" for r in records] == [i % 3 == 0 for i in range(300)]


def test_unencodable_id_still_gives_a_json_line():
    proc = _grade(
        ["-", "-o", "-", "--workers", "0", "--no-progress"],
        stdin='{"id": "\\ud800", "verifier": "json_schema", "response": "{}", "reference": '
        '{"schema": {}}}\n',
    )
    assert proc.returncode == 0, proc.stderr
    [record] = _read_jsonl(proc.stdout)
    assert record["id"] == "\ud800" and record["verdict"]["status"] == "pass"


def test_verifiers_lists_every_registered_verifier():
    proc = _run(["verifiers"])
    assert proc.returncode == 0, proc.stderr
    rows = {
        cells[0]: cells[1]
        for cells in (
            re.split(r"\s{2,}", line.strip()) for line in proc.stdout.splitlines() if line.strip()
        )
    }
    assert (
        rows["json_schema"] == "@1, @2" and rows["math"] == "@1, @2" and rows["xml_schema"] == "@1"
    )
    listed = subprocess.run(
        [
            sys.executable,
            "-c",
            "import verifiers; print(' '.join(i.name for i in verifiers.available()))",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    assert sorted(rows) == sorted(listed)


def test_the_sandbox_flag_applies_to_its_command_only(tmp_path, monkeypatch):
    from rl.cli import main

    monkeypatch.setenv("RLVR_SANDBOX", "auto")
    src, out = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    src.write_text(
        json.dumps(
            {
                "id": 1,
                "verifier": "code@2",
                "response": "def f(x):\n    return x",
                "reference": {"tests": "assert f(1) == 1"},
            }
        )
        + "\n"
    )
    assert (
        main(
            [
                "grade",
                str(src),
                "-o",
                str(out),
                "--sandbox",
                "local",
                "--workers",
                "1",
                "--no-progress",
            ]
        )
        == 0
    )
    assert json.loads(out.read_text())["verdict"]["status"] == "pass"
    import os

    assert os.environ["RLVR_SANDBOX"] == "auto"  # restored after the command


LINE = json.dumps(
    {
        "id": 1,
        "verifier": "json_schema@1",
        "response": '{"n": 1}',
        "reference": {"schema": {"type": "object", "required": ["n"]}},
    }
)


def _grade_bytes(args, stdin: bytes | None = None):
    """`rlvr grade` with bytes in and out, grading inline, without a progress bar."""
    return subprocess.run(
        [RLVR, "grade", *args, "--workers", "0", "--no-progress"],
        input=stdin,
        capture_output=True,
        timeout=120,
    )


# -- input decoding: byte order mark, line ends, undecodable bytes -----------------------------


def test_a_byte_order_mark_and_crlf_line_ends_are_read_as_plain_lines(tmp_path):
    path = tmp_path / "in.jsonl"
    path.write_bytes(b"\xef\xbb\xbf" + (LINE + "\r\n").encode() * 2)
    for source, stdin in ((str(path), None), ("-", path.read_bytes())):
        proc = _grade_bytes([source, "-o", "-"], stdin=stdin)
        out = [json.loads(line) for line in proc.stdout.decode().splitlines()]
        assert [o["verdict"]["status"] for o in out] == ["pass", "pass"], (source, out)


def test_a_lone_carriage_return_inside_a_line_does_not_split_it(tmp_path):
    path = tmp_path / "in.jsonl"
    path.write_bytes(
        LINE.replace(', "verifier"', ',\r"verifier"').encode() + b"\n" + LINE.encode() + b"\n"
    )
    for source, stdin in ((str(path), None), ("-", path.read_bytes())):
        proc = _grade_bytes([source, "-o", "-"], stdin=stdin)
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
    from_file = _grade_bytes([str(path), "-o", "-"])
    from_stdin = _grade_bytes(["-", "-o", "-"], stdin=record + b"\n")
    assert from_file.returncode == from_stdin.returncode == 0, from_stdin.stderr
    assert (
        json.loads(from_file.stdout)["verdict"]["input_hash"]
        == json.loads(from_stdin.stdout)["verdict"]["input_hash"]
    )


# -- outputs: checked before grading; details JSON cannot hold; SIGTERM --------------------------


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
    proc = _grade_bytes([str(source), *(f.format(tmp=tmp_path) for f in flags)])
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr.decode()
    assert __import__("re").search(match, proc.stderr.decode())
    assert not (tmp_path / "out.jsonl").exists()  # nothing was graded or written


def test_sigterm_stops_rlvr_grade_and_its_workers(tmp_path, hanging_grader, alive, wait_until):
    script = hanging_grader.split("grade_batch(")[0] + textwrap.dedent("""
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
    assert wait_until(lambda: not alive(child), timeout_s=20)


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

"""``rlvr regrade``: verdict files (+ --inputs), eval outputs, rollout records (JSONL, Parquet, a
real run)."""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path

import pytest

from rl.cli import main
from rl.rollout_records import RecordWriter
from rl.regrade import RegradeInputError, read_entries
from verifiers import registry
from verifiers.regrade import Standing

ROOT = Path(__file__).resolve().parents[2]
REF = {"answer": "4"}


def _verdict(response, spec="math@1", reference=REF):
    return registry.get(spec).verify(response, reference).to_dict()


def _write(path, lines):
    path.write_text(
        "".join((line if isinstance(line, str) else json.dumps(line)) + "\n" for line in lines)
    )
    return path


def _read(path):
    return [json.loads(line) for line in Path(path).read_text().splitlines()]


def _regrade(tmp_path, capsys, *args, to="math@2"):
    out = tmp_path / "out.jsonl"
    code = main(
        [
            "regrade",
            *map(str, args),
            "--to",
            to,
            "-o",
            str(out),
            "--workers",
            "0",
            "--no-progress",
            "--report",
            str(tmp_path / "report.json"),
        ]
    )
    captured = capsys.readouterr()
    assert code == 0, captured.err
    return _read(out), json.loads((tmp_path / "report.json").read_text()), captured.out


def _why(line):
    verdict = line["regraded"]
    assert verdict["status"] == "error" and verdict["failure_reason"]["code"] == "cannot_regrade", (
        verdict
    )
    return verdict["details"]["why"], verdict["failure_reason"]["message"]


# --- rlvr grade output --------------------------------------------------------------------------


def test_grade_output_joined_to_its_inputs_by_position_and_id(tmp_path, capsys):
    inputs = _write(
        tmp_path / "in.jsonl",
        [
            {"id": "a", "response": "The answer is $4$.", "reference": REF},
            {"id": "b", "response": "The answer is $5$.", "reference": REF},
            {"id": "dup", "response": "4", "reference": REF},
            {"id": "dup", "response": "5", "reference": REF},
            {"id": "noref", "response": "4"},
            "{broken",
            {"id": "other", "response": "The answer is $3$.", "reference": REF},
        ],
    )
    verdicts = _write(
        tmp_path / "v.jsonl",
        [
            {"id": "a", "verdict": _verdict("The answer is $4$.")},  # same position, same id
            {"id": "dup", "verdict": _verdict("4")},  # not at its position, id twice
            {"id": "zzz", "verdict": _verdict("x")},  # not in the inputs
            {"id": "b", "verdict": _verdict("The answer is $5$.")},  # out of order: joined by id
            {"id": "noref", "verdict": None},  # its input line lacks a reference
            "not json",  # a malformed verdict line
            {
                "id": "own",
                "verdict": None,
                "response": "\\boxed{4}",
                "reference": REF,
            },  # carries its own inputs
            {"id": "other", "verdict": _verdict("not what was in the inputs")},
        ],
    )  # --inputs is another file
    lines, report, out = _regrade(tmp_path, capsys, verdicts, "--inputs", inputs)
    assert [line.get("id") for line in lines] == [
        "a",
        "dup",
        "zzz",
        "b",
        "noref",
        None,
        "own",
        "other",
    ]
    assert [
        line for line in lines if "line" not in line
    ] == [  # each input line unchanged, plus "regraded"
        {**json.loads(old), "regraded": line["regraded"]}
        for old, line in zip(verdicts.read_text().splitlines(), lines)
        if old.startswith("{")
    ]
    assert (
        lines[0]["regraded"]["status"] == "pass" and lines[0]["regraded"]["verifier_version"] == 2
    )
    assert lines[3]["regraded"]["status"] == "fail" and lines[6]["regraded"]["status"] == "pass"
    assert _why(lines[1]) == (
        "ambiguous_id",
        f"line 2: id 'dup' appears 2 times in --inputs {inputs} (lines 3, 4...)",
    )
    assert _why(lines[2]) == ("id_not_in_inputs", f"line 3: id 'zzz' is not in --inputs {inputs}")
    assert _why(lines[4]) == (
        "bad_input_line",
        f"line 5: --inputs {inputs} line 5: missing reference",
    )
    assert _why(lines[5])[0] == "bad_line" and "line 6: not valid JSON" in _why(lines[5])[1]
    assert lines[5]["line"] == 6
    assert _why(lines[7]) == (
        "input_mismatch",
        f"line 8: the response on line 7 of --inputs {inputs} does not "
        "match the verdict's input_hash; pass the file that was graded",
    )
    assert report["cannot_regrade"] == {
        "ambiguous_id": 1,
        "id_not_in_inputs": 1,
        "bad_input_line": 1,
        "bad_line": 1,
        "input_mismatch": 1,
    }
    # "own" had no old verdict
    assert report["regraded"] == 3 and report["flip_counts"]["now_judged"] == 1
    assert "could not re-grade 5 items" in out


def test_verdicts_without_inputs_say_to_pass_them(tmp_path, capsys):
    verdicts = _write(tmp_path / "v.jsonl", [{"id": 1, "verdict": _verdict("4")}])
    lines, report, _ = _regrade(tmp_path, capsys, verdicts)
    assert _why(lines[0]) == (
        "no_inputs",
        "line 1: id 1 has a verdict but no response and reference; "
        "pass the file that was graded with --inputs",
    )


# --- rlvr eval output ---------------------------------------------------------------------------


def _eval_line(task_id, sample, completion, reference=None, **extra):
    return {
        "task_id": task_id,
        "task_index": 0,
        "sample": sample,
        "completion": completion,
        "verdict": _verdict(completion),
        "reference": reference,
        "env": "rlvr/Math-v0",
        "env_kwargs": {},
        "model": "m",
        "seed": 0,
        "sampling": {"n": 2},
        **extra,
    }


def test_eval_output_with_tasks_lookup_and_a_multi_turn_line(tmp_path, capsys):
    tasks = _write(
        tmp_path / "tasks.jsonl", [{"id": "t2", "prompt": "2+2=", "reference": {"answer": "4"}}]
    )
    two_turns = [_verdict("3"), _verdict("4")]
    evals = _write(
        tmp_path / "eval.jsonl",
        [
            _eval_line("t1", 0, "The answer is $4$.", REF),
            _eval_line("t2", 1, "\\boxed{4}"),  # no reference recorded: found in --tasks
            _eval_line("t3", 0, "4"),  # no reference, not in --tasks
            {
                **_eval_line("t1", 1, "4", REF),
                "verdict": None,
            },  # never graded: re-graded all the same
            _eval_line("t1", 2, "3 then 4", REF, verdicts=two_turns),
        ],
    )
    lines, report, _ = _regrade(tmp_path, capsys, evals, "--tasks", tasks)
    assert [line["sample"] for line in lines] == [0, 1, 0, 1, 2] and "reference" in lines[1]
    assert [line["regraded"]["status"] for line in lines[:2]] == ["pass", "pass"]
    assert lines[3]["regraded"]["status"] == "pass" and lines[3]["verdict"] is None
    assert _why(lines[2]) == ("no_reference", "line 3: task_id 't3' is not in --tasks")
    why, message = _why(lines[4])
    assert why == "multi_turn" and "graded turn by turn (2 verdicts)" in message
    assert report["cannot_regrade"] == {"no_reference": 1, "multi_turn": 1}


def test_eval_output_without_tasks_says_how_to_find_the_reference(tmp_path, capsys):
    evals = _write(tmp_path / "eval.jsonl", [_eval_line("t1", 0, "4")])
    lines, _, _ = _regrade(tmp_path, capsys, evals)
    assert _why(lines[0]) == (
        "no_reference",
        "line 1: no reference recorded; pass the task source with --tasks to look it up by task_id",
    )


# --- trainer records ----------------------------------------------------------------------------


def _completion(text, verdicts):
    return {
        "text": text,
        "token_ids": [1],
        "logprobs": [-0.1],
        "loss_mask": [1],
        "finish_reason": "stop",
        "reward": None,
        "graded": bool(verdicts),
        "advantage": 0.0,
        "verdicts": verdicts,
        "truncated": False,
    }


def _records():
    return [
        {
            "step": 0,
            "group": 0,
            "seed": 1,
            "prompt": "2+2=",
            "task_id": "t2",
            "task_index": 0,
            "reference": REF,
            "rewards": [None, None],
            "sampling": {"n": 2},
            "verifiers": ["math@1"],
            "completions": [
                _completion("The answer is $4$.", [_verdict("The answer is $4$.")]),
                _completion("no idea", []),
            ],
        },
        {
            "step": 1,
            "group": 0,
            "seed": 2,
            "prompt": "2+2=",
            "task_id": "t2",
            "task_index": 0,
            "reference": None,
            "rewards": [None, None],
            "sampling": {"n": 2},
            "verifiers": ["math@1"],
            "completions": [
                _completion("\\boxed{5}", [_verdict("\\boxed{5}")]),
                _completion("3 then 4", [_verdict("3"), _verdict("4")]),
            ],
        },
    ]


@pytest.mark.parametrize("fmt", ["jsonl", "parquet"])
def test_records_one_line_per_completion(tmp_path, capsys, fmt):
    run = tmp_path / "run"
    writer = RecordWriter(run, fmt)
    for record in _records():
        writer.write(record["step"], [record])
    writer.close()
    tasks = _write(tmp_path / "tasks.jsonl", [{"id": "t2", "prompt": "2+2=", "reference": REF}])
    lines, report, _ = _regrade(tmp_path, capsys, run, "--tasks", tasks)
    assert [(line["step"], line["group"], line["sample"], line["task_id"]) for line in lines] == [
        (0, 0, 0, "t2"),
        (0, 0, 1, "t2"),
        (1, 0, 0, "t2"),
        (1, 0, 1, "t2"),
    ]
    assert lines[0]["old_verdict"]["verifier_version"] == 1 and lines[1]["old_verdict"] is None
    assert [line["regraded"]["status"] for line in lines[:3]] == ["pass", "unparseable", "fail"]
    assert _why(lines[3])[0] == "multi_turn"
    assert report["old_specs"] == {"math@1": 2, "": 1} and report["cannot_regrade"] == {
        "multi_turn": 1
    }


def test_records_without_a_reference_and_a_malformed_record_line(tmp_path, capsys):
    records = _records()
    records[0]["reference"] = None
    path = _write(tmp_path / "rollouts.jsonl", [records[0], "{oops"])
    lines, report, _ = _regrade(tmp_path, capsys, path)
    assert len(lines) == 3 and lines[2]["line"] == 2 and _why(lines[2])[0] == "bad_line"
    assert _why(lines[0]) == (
        "no_reference",
        "step 0 group 0 sample 0: no reference recorded; pass the task "
        "source with --tasks to look it up by task_id",
    )


@pytest.mark.slow
def test_regrade_the_records_of_a_real_tiny_training_run(tiny_model_path, tmp_path, capsys):
    import envs

    tasks = [
        {"id": "a", "prompt": "1=", "reference": {"answer": "7"}},
        {"id": "b", "prompt": "2=", "reference": {"answer": "3"}},
    ]
    envs.register_env("rlvrtest/RegradeDigit-v0", verifier="math@1", tasks=tasks, replace=True)
    code = main(
        [
            "train",
            "--env",
            "rlvrtest/RegradeDigit-v0",
            "--model",
            tiny_model_path,
            "--steps",
            "2",
            "--group-size",
            "2",
            "--prompts-per-step",
            "2",
            "--max-new-tokens",
            "2",
            "--output-dir",
            str(tmp_path / "run"),
            "--progress",
            "false",
            "--tensorboard",
            "false",
            "--grading-workers",
            "1",
        ]
    )
    assert code == 0, capsys.readouterr().err
    capsys.readouterr()
    lines, report, out = _regrade(tmp_path, capsys, tmp_path / "run", to="math")
    assert len(lines) == 2 * 2 * 2 and report["cannot_regrade"] == {} and report["regraded"] == 8
    assert {line["task_id"] for line in lines} <= {"a", "b"}
    # the same text and reference: math@2 judges it as math@1 did, or a flip says why
    for line in lines:
        assert (
            line["old_verdict"]["verifier_version"] == 1
            and line["regraded"]["verifier_version"] == 2
        )
        assert line["regraded"]["test_case_hash"] == line["old_verdict"]["test_case_hash"]
    assert "re-graded 8 of 8 items under math@2 (old: math@1 x8)" in out


# --- usage errors -------------------------------------------------------------------------------


def test_usage_errors_exit_2_with_the_fix(tmp_path, capsys):
    verdicts = _write(
        tmp_path / "v.jsonl",
        [{"id": 1, "verdict": _verdict("4"), "response": "4", "reference": REF}],
    )
    cases = [
        (
            ["--to", "math", "-o", str(verdicts)],
            "is an input of this command; write the re-graded lines to a new file",
        ),
        (
            ["--to", "json_schema", "-o", str(tmp_path / "o.jsonl")],
            r"--to json_schema names no version, but old verdicts come from another verifier: "
            r"math@1 \(1\)",
        ),
        (["--to", "maht@2", "-o", str(tmp_path / "o.jsonl")], "Did you mean 'math'"),
        (
            ["--to", "math", "-o", str(tmp_path / "no" / "o.jsonl")],
            "does not exist; create it first",
        ),
        (
            [
                "--to",
                "math",
                "-o",
                str(tmp_path / "o.jsonl"),
                "--format",
                "eval",
                "--inputs",
                str(verdicts),
            ],
            "--inputs joins responses to `rlvr grade` verdicts",
        ),
    ]
    for args, message in cases:
        assert main(["regrade", str(verdicts), "--no-progress", "--workers", "0", *args]) == 2
        err = capsys.readouterr().err
        assert re.search(message, err), err
    odd = _write(tmp_path / "odd.jsonl", [{"foo": 1}])
    with pytest.raises(
        RegradeInputError,
        match=r"cannot tell what .* holds from line 1 \(keys: foo\); "
        r"pass --format grade\|eval\|records",
    ):
        read_entries(odd)
    assert main(["regrade", str(odd), "--to", "math", "-o", str(tmp_path / "o.jsonl")]) == 2


# --- acceptance: math@1 verdicts of the golden table, re-graded under the newest math -------------


def _golden(name):
    for path in (
        ROOT / "verifiers" / "golden" / name,
        ROOT / "tests" / "verifiers" / "golden" / name,
    ):
        if path.exists():
            return path
    pytest.fail(f"golden table {name} is in neither verifiers/golden/ nor tests/verifiers/golden/")


@pytest.mark.slow
def test_math1_golden_verdicts_regraded_under_the_newest_math(tmp_path, capsys):
    golden = _golden("math@1.jsonl")
    graded = tmp_path / "math1.jsonl"
    assert (
        main(
            [
                "grade",
                str(golden),
                "--verifier",
                "math@1",
                "-o",
                str(graded),
                "--workers",
                "2",
                "--no-progress",
            ]
        )
        == 0
    )
    capsys.readouterr()
    lines, report, out = _regrade(
        tmp_path, capsys, graded, "--inputs", golden, "--examples", "2", to="math"
    )
    rows = _read(golden)
    assert len(lines) == len(rows) and report["to"] == registry.resolve("math") == "math@2"
    expected = Counter()
    for row in rows:  # the flips, straight from the two verifiers
        old = Standing.of(registry.get("math@1").verify(row["response"], row["reference"]))
        new = Standing.of(registry.get("math@2").verify(row["response"], row["reference"]))
        if old.key != new.key:
            expected[(old.key, new.key)] += 1
    assert expected, "math@2 should change some math@1 verdicts on its golden table"
    assert {(f["old"], f["new"]): f["count"] for f in report["flips"]} == dict(expected)
    assert report["cannot_regrade"] == {} and report["unchanged"] == len(rows) - sum(
        expected.values()
    )
    for flip in report["flips"]:
        assert 1 <= len(flip["examples"]) <= 2
        example = flip["examples"][0]
        assert rows[example["index"]]["response"].startswith(example["response"])
        assert Standing.of(lines[example["index"]]["regraded"]).key == flip["new"]
    assert f"fail->pass {report['flip_counts']['fail->pass']}" in out and "examples:" in out


def test_the_report_may_not_overwrite_the_regraded_output(tmp_path, capsys):
    from rl.cli import main

    src = tmp_path / "v.jsonl"
    src.write_text(
        '{"id": 1, "response": "4", "reference": {"answer": "4"}, "verdict": {"status": "pass", '
        '"verifier": "math", "verifier_version": 1}}\n'
    )
    out = tmp_path / "o.jsonl"
    assert (
        main(
            [
                "regrade",
                str(src),
                "--to",
                "math@2",
                "-o",
                str(out),
                "--report",
                str(out),
                "--no-progress",
            ]
        )
        == 2
    )
    assert "give the report its own file" in capsys.readouterr().err and not out.exists()

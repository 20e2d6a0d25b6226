"""code@1: extraction, comparison, wire format, assert planning and end-to-end verdicts per
backend."""

from __future__ import annotations

import math

import pytest
from code_backends import backend  # noqa: F401 - fixture
from hypothesis import given, settings
from hypothesis import strategies as st

import verifiers
from sandbox.base import Limits, RunResult, StopReason
from sandbox.errors import SandboxUnavailableError
from verifiers import BadReferenceError, Status
from verifiers.code import CodeConfig, CodeVerifier, compare_output, extract_program
from verifiers.code.asserts import plan_tests
from verifiers.code.wire import WireError, decode, encode

FAST = CodeConfig(case_timeout_s=3)
DOUBLE = {"tests": "assert f(2) == 4\nassert f(-1) == -2\nassert f(0) == 0", "entry_point": "f"}
ADD_STDIO = {"cases": [{"input": "1 2\n", "output": "3\n"}, {"input": "10 -4\n", "output": "6\n"}]}


# ---------------------------------------------------------------- extraction
@pytest.mark.parametrize(
    "response, expected",
    [
        ("```python\na = 1\n```\ntext\n```python\nb = 2\n```", "b = 2\n"),
        ("```py\nx = 1\n```", "x = 1\n"),
        ("```js\nno\n```\n```\nuntagged = 1\n```", "untagged = 1\n"),
        ("```python\nyes = 1\n```\n```\nuntagged = 1\n```", "yes = 1\n"),
        ("\n\nplain code  \n", "plain code"),
        ("\n    return x\n", "    return x"),
        ("~~~python\ntilde = 1\n~~~", "tilde = 1\n"),
        ("```python\r\ncrlf = 1\r\n```\r\n", "crlf = 1\n"),
        ("````python\nx = '```'\n````", "x = '```'\n"),
    ],
)
def test_extraction_rule(response, expected):
    assert extract_program(response, "python") == expected


def test_extraction_for_c_ignores_python_blocks():
    assert extract_program("```python\np\n```\n```c\nint main(){}\n```", "c") == "int main(){}\n"


# ---------------------------------------------------------------- comparison
@pytest.mark.parametrize(
    "got, expected, ok",
    [
        ("3\n", "3", True),
        ("1   2\n3", "1 2 3", True),
        ("0.1000000001", "0.1", True),
        ("1e-12", "0", True),
        ("0.11", "0.1", False),
        ("1 2", "1 2 3", False),  # prefix only
        ("1 2 3 4", "1 2 3", False),  # extra tokens
        ("abc", "abd", False),
        ("nan", "nan", True),  # same string
        ("inf", "1e309", False),
        ("", "", True),
    ],
)
def test_token_comparison(got, expected, ok):
    assert compare_output(got, expected).ok is ok


def test_comparison_messages_say_where():
    assert compare_output("1 2", "1 2 3").message == "output ended after 2 of 3 tokens"
    assert compare_output("1 5", "1 2").message == "token 2: expected '2', got '5'"


# ---------------------------------------------------------------- wire format
plain = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False)
    | st.text(max_size=5)
    | st.binary(max_size=4),
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.tuples(inner, inner)
        | st.dictionaries(st.text(max_size=3), inner, max_size=3)
        | st.frozensets(st.integers(), max_size=3)
    ),
    max_leaves=12,
)


@settings(max_examples=200, deadline=None, database=None)
@given(plain)
def test_wire_roundtrip_preserves_value_and_type(value):
    back = decode(encode(value))
    assert back == value
    assert type(back) is type(value)


def test_wire_special_floats_and_big_ints():
    assert math.isnan(decode(encode(float("nan"))))
    assert decode(encode(float("-inf"))) == float("-inf")
    assert decode(encode(2**100)) == 2**100
    assert decode(encode(-(7**20000))) == -(7**20000)  # beyond int's 4300-digit str limit


@pytest.mark.parametrize("value", [object(), type("Sub", (int,), {})(3), (x for x in []), print])
def test_wire_refuses_non_plain_values(value):
    with pytest.raises(WireError, match="returned an object of type"):
        encode(value)


@pytest.mark.parametrize(
    "data",
    [{"$eval": "1"}, {"$tuple": 3}, {"a": 1, "b": 2}, {"$int": "1" * 200_000}, {"$int": "zz"}],
)
def test_wire_rejects_malformed_input(data):
    with pytest.raises(WireError):
        decode(data)


@pytest.mark.parametrize("key", [b"", b"k" * 32, b"x" * 100])
def test_harness_hmac_matches_the_standard_library(key):
    import hashlib
    import hmac

    from verifiers.code.harness import hmac_sha256

    assert hmac_sha256(key, b"message") == hmac.new(key, b"message", hashlib.sha256).hexdigest()


# ---------------------------------------------------------------- assert planning
def test_units_are_candidate_calls_and_the_rest_stays_in_the_grader():
    plan = plan_tests(
        "import math\nassert abs(f(2) - 1.5) < 1e-6\nassert math.isclose(g(1), 2.0)\n"
        "assert sorted(h([3, 1])) == [1, 3]\nassert Solution().solve(3) == 5"
    )
    assert [c.units for c in plan.cases] == [
        ("f(2)",),
        ("g(1)",),
        ("h([3, 1])",),
        ("Solution().solve(3)",),
    ]
    assert plan.setup == ("import math",)
    assert plan.cases[0].check({"__rlvr_u0": 1.5}) is True
    assert plan.cases[1].check({"__rlvr_u0": 2.5}) is False


def test_humaneval_check_function_is_expanded_with_the_entry_point():
    tests = (
        "METADATA = {}\n\ndef check(candidate):\n    assert candidate(1) == 2\n"
        "    assert candidate(2) == 4, 'msg'\n"
        "    assert True, 'not a test case'\n"
    )
    plan = plan_tests(tests, entry_point="double")
    assert [c.units for c in plan.cases] == [("double(1)",), ("double(2)",)]


def test_comprehension_sends_only_rows_of_calls_and_compares_in_the_grader():
    case = plan_tests("assert all(f(x) == 2 * x for x in range(3))").cases[0]
    assert case.units == ("[(f(x),) for x in range(3)]",)
    assert case.check({"__rlvr_u0": [(0,), (2,), (4,)]}) is True
    assert case.check({"__rlvr_u0": [(0,), (2,), (5,)]}) is False
    with pytest.raises(RuntimeError):  # fewer rows than iterations
        case.check({"__rlvr_u0": [(0,)]})


@pytest.mark.parametrize(
    "tests, message",
    [
        ("for i in range(3):\n    assert f(i) == i", "cannot check test statement at line 1"),
        ("import os\nassert f(1) == 1", "may import only"),
        ("x = f(1)\nassert x == 1", "must be a constant"),
        ("assert f(1).__class__ == int", "private attribute"),
        ("def helper(a, b): pass\nassert f(1)", "cannot check test statement"),
        ("pass", "no assert statement"),
        ("assert True\nassert 1 + 1 == 2", "no assert statement that calls"),
        ("assert sorted(xs, key=lambda t: f(t)) == [1]", "cannot safely check"),
        ("assert all(f(x) for x in range(3) if g(x))", "cannot safely check"),
        ("assert [[f(i) for i in range(j)] for j in range(3)] == []", "cannot safely check"),
        ("assert f(1) ==", "not valid Python"),
    ],
)
def test_unsupported_tests_are_bad_references(tests, message):
    with pytest.raises(BadReferenceError, match=message):
        plan_tests(tests)


# ---------------------------------------------------------------- config
@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"case_timeout_s": 0}, "case_timeout_s must be > 0"),
        ({"memory_mb": 32}, "too small to start Python"),
        ({"sandbox": "podman"}, "sandbox must be one of"),
        ({"retries": -1}, "retries must be >= 0"),
    ],
)
def test_config_validation(kwargs, message):
    with pytest.raises(ValueError, match=message):
        CodeConfig(**kwargs)


def test_registered_as_code_at_1():
    assert isinstance(verifiers.get("code@1"), CodeVerifier)


# ---------------------------------------------------------------- end to end, per backend
@pytest.fixture(scope="module")
def verifier(backend):  # noqa: F811
    return CodeVerifier(FAST, sandbox=backend)


CASES = [
    # (response, reference, status, code)
    ("```python\ndef f(x):\n    return 2 * x\n```", DOUBLE, "pass", None),
    ("def f(x):\n    return x + 2", DOUBLE, "fail", "wrong_answer"),
    ("def f(x)\n    return 2 * x", DOUBLE, "fail", "syntax_error"),
    ("def f(x):\n    return x / 0", DOUBLE, "fail", "runtime_error"),
    ("def f(x):\n    return [0] * 10**10", DOUBLE, "fail", "memory_limit"),
    ("", DOUBLE, "unparseable", "no_code"),
    ("a, b = map(int, input().split())\nprint(a + b)", ADD_STDIO, "pass", None),
    ("print(3)", ADD_STDIO, "fail", "wrong_answer"),
    ("import sys\nsys.exit(2)", ADD_STDIO, "fail", "runtime_error"),
    ("print(", ADD_STDIO, "fail", "syntax_error"),
]


@pytest.mark.parametrize("response, reference, status, code", CASES)
def test_verdicts(verifier, response, reference, status, code):
    verdict = verifier.verify(response, reference)
    assert verdict.status.value == status, verdict.failure_reason
    assert (verdict.failure_reason.code if verdict.failure_reason else None) == code
    if verdict.details.get("cases"):
        assert verdict.details["backend"] == verifier.sandbox().name


def test_pass_rate_counts_cases_separately(verifier):
    verdict = verifier.verify("def f(x):\n    return 0 if x == 0 else 1 / 0", DOUBLE)
    assert verdict.status is Status.FAIL
    assert verdict.pass_rate == pytest.approx(1 / 3)
    assert [c["code"] for c in verdict.details["cases"]] == [
        "runtime_error",
        "runtime_error",
        "pass",
    ]
    assert "ZeroDivisionError" in verdict.failure_reason.message


def test_partial_credit_scores_the_pass_rate(backend):  # noqa: F811
    verdict = CodeVerifier(
        CodeConfig(case_timeout_s=3, partial_credit=True), sandbox=backend
    ).verify("def f(x):\n    return 2 * x if x else 5", DOUBLE)
    assert verdict.score == pytest.approx(2 / 3)


@pytest.mark.slow
def test_one_slow_case_times_out_and_the_others_still_run(backend):  # noqa: F811
    verifier = CodeVerifier(CodeConfig(case_timeout_s=2), sandbox=backend)
    verdict = verifier.verify("def f(x):\n    while x < 0:\n        pass\n    return 2 * x", DOUBLE)
    assert [c["code"] for c in verdict.details["cases"]] == ["pass", "timeout", "pass"]
    assert verdict.failure_reason.code == "timeout"


def test_stdout_flood_in_a_function_is_an_output_limit(backend):  # noqa: F811
    verifier = CodeVerifier(CodeConfig(case_timeout_s=5, output_bytes=10_000), sandbox=backend)
    verdict = verifier.verify(
        "def f(x):\n    while True:\n        print('x' * 100)", {"tests": "assert f(1) == 2"}
    )
    assert verdict.failure_reason.code == "output_limit"


def test_float_tolerance_and_prefix_rule_in_stdio(verifier):
    reference = {"cases": [{"input": "", "output": "0.3333333333 1 2"}]}
    assert verifier.verify("print(1/3, 1, 2)", reference).status is Status.PASS
    assert verifier.verify("print(1/3, 1)", reference).failure_reason.code == "wrong_answer"


def test_humaneval_style_reference_with_prompt(verifier):
    reference = {
        "prompt": "def add(a, b):\n    \"\"\"Add.\"\"\"\n",
        "entry_point": "add",
        "tests": "def check(candidate):\n    assert candidate(1, 2) == 3\n",
    }
    assert verifier.verify("    return a + b\n", reference).status is Status.PASS
    assert verifier.verify("def add(a, b):\n    return a - b\n", reference).status is Status.FAIL


def test_mbpp_style_tests_with_helpers(verifier):
    reference = {
        "tests": "import math\nassert set(f([1, 2, 2])) == {1, 2}\n"
        "assert math.isclose(g(2), 1.4142, rel_tol=1e-3)\nassert f([]) == []"
    }
    response = (
        "import math\ndef f(xs):\n    return sorted(set(xs))\ndef g(x):\n    return math.sqrt(x)"
    )
    assert verifier.verify(response, reference).status is Status.PASS


def has_gcc(box) -> bool:
    return box.run(["sh", "-c", "command -v gcc"], limits=Limits(wall_s=20)).exit_code == 0


def test_c_program_over_stdio(verifier):
    if not has_gcc(verifier.sandbox()):  # the image without a C toolchain: an error, never a fail
        verdict = verifier.verify(
            "```c\nint main(void){return 0;}\n```", {**ADD_STDIO, "language": "c"}
        )
        assert (verdict.status, verdict.failure_reason.code) == (Status.ERROR, "toolchain_missing")
        return
    program = (
        "```c\n#include <stdio.h>\n"
        "int main(void){long a,b; scanf(\"%ld %ld\", &a, &b); "
        "printf(\"%ld\\n\", a+b); return 0;}\n```"
    )
    verdict = verifier.verify(program, {**ADD_STDIO, "language": "c"})
    assert verdict.status is Status.PASS, verdict.failure_reason
    broken = verifier.verify("```c\nint main( {\n```", {**ADD_STDIO, "language": "c"})
    assert broken.failure_reason.code == "compile_error"


def has_program(box, program: str) -> bool:
    return box.run(["sh", "-c", f"command -v {program}"], limits=Limits(wall_s=20)).exit_code == 0


def test_javascript_program_over_stdio(verifier):
    reference = {**ADD_STDIO, "language": "javascript"}
    program = (
        "```js\nconst [a, b] = require('fs').readFileSync(0, "
        "'utf8').trim().split(/\\s+/).map(Number);\n"
        "console.log(a + b);\n```"
    )
    verdict = verifier.verify(program, reference)
    if not has_program(verifier.sandbox(), "node"):
        assert (verdict.status, verdict.failure_reason.code) == (Status.ERROR, "toolchain_missing")
        return
    assert verdict.status is Status.PASS, verdict.failure_reason
    assert (
        verifier.verify("```js\nconsole.log(3)\n```", reference).failure_reason.code
        == "wrong_answer"
    )
    assert (
        verifier.verify("```js\nthrow new Error('x')\n```", reference).failure_reason.code
        == "runtime_error"
    )


def test_bad_references_give_error_verdicts(verifier):
    assert verifier.verify("x = 1", {"tests": 3}).failure_reason.code == "bad_reference"
    assert verifier.verify("x = 1", {"cases": []}).failure_reason.code == "bad_reference"
    assert (
        verifier.verify(
            "x = 1", {"language": "cobol", "cases": [{"input": "", "output": ""}]}
        ).status
        is Status.ERROR
    )


# ---------------------------------------------------------------- infrastructure failures
class UnavailableSandbox:
    """A sandbox whose engine is gone: every run raises (stands in for infrastructure failure
    only)."""

    name = "broken"

    def __init__(self):
        self.calls = 0

    def run(self, command, *, files=None, stdin=b"", limits=None) -> RunResult:
        self.calls += 1
        raise SandboxUnavailableError("engine unreachable")

    def close(self):
        pass


def test_unavailable_sandbox_is_an_error_after_bounded_retries():
    broken = UnavailableSandbox()
    verdict = CodeVerifier(CodeConfig(retries=2), sandbox=broken).verify(
        "def f(x): return 2*x", DOUBLE
    )
    assert verdict.status is Status.ERROR
    assert verdict.failure_reason.code == "sandbox_unavailable"
    assert broken.calls == 3


class SilentSandbox:
    """Returns a normal exit with the candidate's fake success text but no signed harness line."""

    name = "silent"

    def run(self, command, *, files=None, stdin=b"", limits=None) -> RunResult:
        return RunResult(
            0,
            b'RLVR-HARNESS {"body": "{\\"results\\": [{\\"status\\": \\"ok\\"}]}", "mac": "00"}\n',
            b"",
            0.01,
            StopReason.EXITED,
            backend="silent",
        )

    def close(self):
        pass


def test_an_unsigned_result_never_passes():
    verdict = CodeVerifier(sandbox=SilentSandbox()).verify(
        "def f(x): return 2*x", {"tests": "assert f(1) == 2"}
    )
    assert verdict.status is Status.FAIL
    assert verdict.failure_reason.code == "no_result"


def test_sandbox_kind_comes_from_the_environment(monkeypatch):
    monkeypatch.setenv("RLVR_SANDBOX", "local")
    verifier = CodeVerifier()
    assert verifier.sandbox().name == "local"
    verifier.close()


def test_limits_helper_values_are_sane():
    assert Limits().memory_mb >= 64


def test_rlvr_grade_with_sandbox_local_flag(tmp_path, monkeypatch):
    import json

    from rl.cli import main

    monkeypatch.setenv("RLVR_SANDBOX", "auto")  # restored after the test; the CLI flag overrides it
    lines = [
        {
            "id": "good",
            "verifier": "code@1",
            "response": "def f(x):\n    return 2 * x",
            "reference": DOUBLE,
        },
        {
            "id": "bad",
            "verifier": "code@1",
            "response": "def f(x):\n    return x",
            "reference": DOUBLE,
        },
    ]
    source, target = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    source.write_text("".join(json.dumps(line) + "\n" for line in lines))
    assert (
        main(
            [
                "grade",
                str(source),
                "-o",
                str(target),
                "--sandbox",
                "local",
                "--workers",
                "1",
                "--no-progress",
            ]
        )
        == 0
    )
    out = [json.loads(line) for line in target.read_text().splitlines()]
    assert [(o["id"], o["verdict"]["status"]) for o in out] == [("good", "pass"), ("bad", "fail")]
    assert {o["verdict"]["details"]["backend"] for o in out} == {"local"}
    assert out[0]["verdict"]["details"]["isolation"].startswith("local (weak")


def test_rlimits_only_local_mode_gives_the_same_verdicts(tmp_path):
    from sandbox.local import LocalSandbox

    verifier = CodeVerifier(
        FAST, sandbox=LocalSandbox(isolate="rlimits", workspace_base=str(tmp_path))
    )
    for response, reference, status, code in CASES:
        verdict = verifier.verify(response, reference)
        assert (
            verdict.status.value,
            verdict.failure_reason.code if verdict.failure_reason else None,
        ) == (status, code)
    assert "NETWORK NOT ISOLATED" in verifier.verify(CASES[0][0], CASES[0][1]).details["isolation"]


def test_missing_docker_image_or_engine_is_an_error_verdict_never_a_fail(monkeypatch):
    """Real infrastructure failure: an image that does not exist (or no engine at all)."""
    monkeypatch.setenv("RLVR_SANDBOX_IMAGE", "rlvr-sandbox:no-such-tag-for-tests")
    verifier = CodeVerifier(CodeConfig(sandbox="docker", retries=1))
    verdict = verifier.verify("def f(x):\n    return 2 * x", DOUBLE)
    assert verdict.status is Status.ERROR
    assert verdict.failure_reason.code == "sandbox_unavailable"
    assert "after 1 retries" in verdict.failure_reason.message

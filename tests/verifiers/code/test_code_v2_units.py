"""code@2 pieces that run without a sandbox: test planning, the wire, the recorder, messages."""

from __future__ import annotations

import collections
import datetime
import decimal
import fractions
import json
import math
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import verifiers
from verifiers import Status
from verifiers import BadReferenceError
from verifiers.code import CodeVerifier, CodeVerifierV2
from verifiers.code.v2 import wire
from verifiers.code.v2.client import CallAbort, CandidateError, CandidateExit, candidate_exception
from verifiers.code.v2.plan import plan_program
from verifiers.code.v2.recorder import Recorder
from verifiers.code.v2.remote import Remote, safe_repr


# ---------------------------------------------------------------- registry
def test_code_at_2_is_registered_next_to_code_at_1():
    assert type(verifiers.get("code@2")) is CodeVerifierV2
    assert type(verifiers.get("code@1")) is CodeVerifier
    assert type(verifiers.get("code")) is CodeVerifierV2
    assert (
        CodeVerifierV2.__doc__.rstrip()
        .splitlines()[-1]
        .strip()
        .endswith("stdin/stdout cases unchanged.")
    )


# ---------------------------------------------------------------- planning
def test_asserts_become_recorder_calls_numbered_in_source_order():
    program = plan_program(
        {
            "tests": "assert f(1) == 2\nassert g(2)\nassert True\nassert False, 'never'\n"
            "assert 1 < f(3) < 5"
        }
    )
    assert program.statements == (
        "__rlvr_cmp__(0, 'Eq', lambda: (f(1), 2))",
        "__rlvr_check__(1, lambda: g(2))",
        "pass",
        "__rlvr_trip__(2)",
        "__rlvr_check__(3, lambda: 1 < f(3) < 5)",
    )
    assert [c.tripwire for c in program.cases] == [False, False, True, False]
    assert [c.line for c in program.cases] == [1, 2, 4, 5]


def test_humaneval_check_is_called_with_the_entry_point_and_owns_its_cases():
    tests = (
        "METADATA = {}\n\ndef helper(x):\n    assert x > 0\n    return x\n\n"
        "def check(candidate):\n    assert candidate(helper(1)) == 2\n    for i in range(3):\n"
        "        assert candidate(i) == 2 * i\n"
    )
    program = plan_program({"tests": tests, "entry_point": "double"})
    assert program.statements[-1] == "check(double)"
    assert program.owned[-1] == (0, 1, 2)  # check's own cases and helper's, which check refers to
    assert program.owned[0] == ()  # METADATA = {}
    assert program.names == ("double", "range")  # what the tests read as globals and do not define


def test_an_explicit_check_call_is_not_repeated():
    program = plan_program(
        {"tests": "def check(c):\n    assert c(1) == 1\ncheck(f)", "entry_point": "f"}
    )
    assert program.statements[-1] == "check(f)" and len(program.statements) == 2


def test_only_names_the_tests_read_as_globals_and_never_bind_come_from_the_candidate():
    tests = (
        "import math\nLIMIT = 3\ndef near(a, b):\n    return abs(a - b) < 1e-9\n"
        "for k in range(LIMIT):\n    assert near(f(k), helper(k))\n"
        "def helper(k):\n    return k\n"
    )  # helper is used before it is defined: never the candidate's
    assert plan_program({"tests": tests}).names == ("abs", "f", "range")


def test_prompt_helpers_constants_and_imports_become_the_trusted_prelude():
    prompt = (
        "import math\nfrom typing import List\nimport numpy\nSCALE = 3\n\ndef encode(s):\n"
        "    return s[::-1]\n\n"
        "def decode(s):\n    \"\"\"Undo encode.\"\"\"\n"
    )
    program = plan_program(
        {"tests": "assert decode(encode('ab')) == 'ab'", "entry_point": "decode", "prompt": prompt}
    )
    assert program.prelude == (
        "import math",
        "from typing import List",
        "SCALE = 3",
        "def encode(s):\n    return s[::-1]",
    )


def test_assert_forms_that_a_lambda_would_change_are_evaluated_in_place():
    program = plan_program({"tests": "assert (y := f(1)) == 1\nclass T:\n    assert f(2) == 2\n"})
    assert program.statements[0] == "__rlvr_value__(0, (y := f(1)) == 1)"
    assert "__rlvr_value__(1, f(2) == 2)" in program.statements[1]


def test_random_is_seeded_only_when_the_tests_use_it_and_stdlib_names_are_listed():
    assert plan_program({"tests": "import random\nassert f(random.randint(1, 3))"}).seed_random
    program = plan_program({"tests": "assert math.isclose(f(1), 1)"})
    assert not program.seed_random and program.stdlib_names == ("math",)


def test_setup_code_helpers_and_constants_run_in_the_test_process_inputs_in_the_programs():
    setup = (
        "import math\nEPS = 1e-9\ndef near(a, b):\n    return abs(a - b) < EPS\nclass Box:\n"
        "    pass\n"
        "root = Node(1)\nroot.left = Node(2)\nbox = Box()\nXS = [1, 2]\nXS.append(make(3))\n"
        "def uses_program(x):\n    return Node(x)\n"
    )
    program = plan_program(
        {
            "tests": "assert near(f(root), 1)\nassert f(XS) == 3 and f(box) == 0",
            "test_setup_code": setup,
        }
    )
    assert program.prelude == (
        "import math",
        "EPS = 1e-09",
        "def near(a, b):\n    return abs(a - b) < EPS",
        "class Box:\n    pass",
    )
    assert program.setup == setup  # the whole of it also runs in the program's process
    # XS is data a statement of the program's side changes: one object, on the program's side
    assert program.names == ("XS", "abs", "box", "f", "root")


def test_library_names_the_tests_use_get_a_run_with_the_standard_library_object():
    program = plan_program(
        {
            "tests": "assert f('ab') == Counter('ab')\nassert count([1, 0]) == 1\n"
            "assert gcd(f(4), 6) == 2\nassert isclose(f(1), pi)\nassert not search('x')\n"
            "assert sum([1]) == 1\nassert math.floor(f(1)) == 1"
        }
    )
    # count and search are only called as the function under test (literal arguments vs a literal)
    assert program.library == (
        ("Counter", "collections"),
        ("gcd", "math"),
        ("isclose", "math"),
        ("pi", "math"),
    )
    assert program.stdlib_names == ("math",)
    with_entry = plan_program(
        {"tests": "assert Counter(3) == Counter(f(3))", "entry_point": "Counter"}
    )
    assert with_entry.library == ()


@pytest.mark.parametrize(
    "reference, message",
    [
        ({"tests": "f(1)"}, "no assert statement"),
        ({"tests": "assert True\nassert 1"}, "no assert statement"),
        ({"tests": "def check(c):\n    assert c(1) == 1"}, "never calls it; give 'entry_point'"),
        ({"tests": "import numpy\nassert f(1)"}, "'numpy', which is not in the standard library"),
        ({"tests": "def g():\n    from pandas import DataFrame\nassert f(1)"}, "'pandas'"),
        ({"tests": "from . import x\nassert f(1)"}, "relative import"),
        ({"tests": "assert f(1) =="}, "is not valid Python"),
        ({"tests": "return 3\nassert f(1)"}, "is not valid Python"),
        (
            {"tests": "assert f(1)", "test_setup_code": "x = ("},
            "'test_setup_code' is not valid Python",
        ),
        ({"tests": "assert f(1)", "test_setup_code": 3}, "'test_setup_code' must be a string"),
        ({"tests": 3}, "needs 'tests'"),
        ({"tests": "assert f(1)", "entry_point": "not valid"}, "must be a Python identifier"),
    ],
)
def test_broken_test_material_is_a_bad_reference(reference, message):
    with pytest.raises(BadReferenceError, match=message):
        plan_program(reference)


def test_too_many_cases_is_a_bad_reference():
    with pytest.raises(BadReferenceError, match="exceed CodeConfig.max_cases=2"):
        plan_program({"tests": "assert f(1)\nassert f(2)\nassert f(3)"}, max_cases=2)


# ---------------------------------------------------------------- the wire
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
def test_wire_roundtrip_through_the_sandbox_json_keeps_value_and_type(value):
    text = wire.dumps(wire.encode(value))
    assert text == json.dumps(wire.encode(value), separators=(",", ":"))
    back = wire.decode(wire.loads(text))
    assert back == value and type(back) is type(value)


Point = collections.namedtuple("Point", "x y")
STDLIB_VALUES = [
    collections.Counter("hello"),
    collections.defaultdict(list, {1: [2]}),
    collections.OrderedDict(b=1, a=2),
    collections.deque([1, 2], 5),
    decimal.Decimal("1.10"),
    fractions.Fraction(3, 7),
    datetime.date(2020, 2, 29),
    datetime.datetime(
        2020, 1, 2, 3, 4, 5, 6, tzinfo=datetime.timezone(datetime.timedelta(hours=-2))
    ),
    datetime.time(1, 2, 3),
    datetime.timedelta(days=3, seconds=5),
    range(1, 10, 2),
    bytearray(b"ab"),
    Point(1, 2),
    {1: 2}.keys(),
    {1: 2}.items(),
    2**100,
    -(7**20000),
    complex(1, -2),
    math.sqrt,
    len,
    collections.Counter,
]


@pytest.mark.parametrize("value", STDLIB_VALUES, ids=lambda v: type(v).__name__)
def test_standard_library_values_cross_as_real_objects(value):
    back = wire.decode(wire.loads(wire.dumps(wire.encode(value))))
    assert type(back) is type(value) or type(value) is Point
    assert back == value
    if isinstance(value, collections.defaultdict):
        assert back["missing"] == []  # the factory crossed too


def test_match_objects_cross_as_records_that_behave_like_matches():
    match = re.search(r"(?P<word>b+)(c)?", "abbd")
    record = wire.decode(wire.loads(wire.dumps(wire.encode(match))))
    assert record and record.group() == "bb" and record.group("word") == "bb" and record[2] is None
    assert record.groups() == ("bb", None) and record.span() == (1, 3) and record.end(1) == 3
    assert (
        record.groupdict() == {"word": "bb"} and record.string == "abbd" and record.lastindex == 1
    )


@pytest.mark.parametrize(
    "value", [object(), type("Sub", (int,), {})(3), (x for x in []), print, eval, open]
)
def test_anything_else_is_refused_or_sent_as_a_handle(value):
    with pytest.raises(wire.WireError):
        wire.encode(value)
    assert "$h" in wire.encode(value, handle_of=lambda v: "h1")


@pytest.mark.parametrize(
    "data",
    [
        {"$eval": "1"},
        {"$tuple": 3},
        {"a": 1, "b": 2},
        {"$int": "1" * 200_000},
        {"$int": "zz"},
        {"$std": ["builtins", "eval"]},
        {"$std": ["os", "system"]},
        {"$std": ["math", "_private"]},
        {"$h": ["x", "y"]},
        {"$namedtuple": ["P", ["_x"], [1]]},
        {"$defaultdict": ["eval", []]},
        {"$dict": [[[1], 2]]},
        {"$match": [[], [], [], "", None, None]},
        {"$fraction": [1, 0]},
        {
            "$std": ["random", "randint"]
        },  # a bound method: the program labelled a function of its own so
    ],
)
def test_malformed_or_unsafe_input_never_decodes(data):
    with pytest.raises(wire.WireError):
        wire.decode(data)


def test_sandbox_json_rejects_what_json_rejects():
    for text in ("[1,", "1 2", "{'a': 1}", "9" * 5000):
        with pytest.raises(ValueError):
            wire.loads(text)


def test_the_test_process_binds_only_the_names_it_asked_for():
    from verifiers.code.v2 import testside
    from verifiers.code.v2.remote import CLIENT

    class Decoding:
        decode = staticmethod(wire.decode)

    tests = {"names": ["f", "math", "pi"], "stdlib_names": ["math"]}
    loaded = {
        "f": {"v": 3},
        "__builtins__": {"v": {"$dict": []}},
        "g": {"v": 1},
        "__name__": {"v": "x"},
        "math": {"module": "math", "v": 0},
        "pi": {"module": "os", "v": 3.0},
    }
    saved, CLIENT[0] = CLIENT[0], Decoding()
    try:
        assert testside.bind(loaded, tests) == {"f": 3, "math": math, "pi": 3.0}
    finally:
        CLIENT[0] = saved


def test_the_reference_s_helpers_are_checked_once_without_the_program():
    from verifiers.code.v2 import testside

    ok = [compile("def near(a, b):\n    return abs(a - b) < 1e-9", "<t>", "exec")]
    broken = [compile("X = undefined_name + 1", "<t>", "exec")]
    testside.check_prelude(ok)
    with pytest.raises(testside.ReferenceProblem, match="NameError"):
        testside.check_prelude(broken)
    assert "ValueError" in testside.run_prelude(
        [compile("X = set('a')", "<t>", "exec")],
        {"set": lambda s: int(s), "__builtins__": __builtins__},
    )


def test_values_of_the_program_that_cannot_go_back_are_not_the_tests_fault():
    from verifiers.code.v2.client import Client, UnsendableArgument

    client = Client({}, None, lambda record: None, Remote)
    with pytest.raises(wire.WireError) as raised:
        client.encode(16**120000)
    assert not isinstance(raised.value, UnsendableArgument)
    point = client.decode({"$namedtuple": ["P", ["x", "y"], [1, 2]]})
    with pytest.raises(wire.WireError) as raised:
        client.encode(type(point))
    assert not isinstance(raised.value, UnsendableArgument)
    with pytest.raises(UnsendableArgument):
        client.encode(lambda: 0)


def test_the_grader_parses_but_never_compiles_the_program():
    from verifiers.code.v2.verifier import parse_error

    lines, indent = ["def g():"], "    "
    for _ in range(30):  # 2 ** 30 copies of the innermost body if compiled
        lines += [indent + "try:", indent + "    x = 1", indent + "finally:"]
        indent += "    "
    assert parse_error("\n".join(lines + [indent + "x = 2"])) is None
    assert parse_error("return 1") is None  # only the compiler finds it: the sandbox reports it
    # symtable
    assert parse_error("def f(a, a):\n    pass").startswith("SyntaxError: duplicate argument")


# ---------------------------------------------------------------- exceptions and messages
def test_candidate_exceptions_keep_builtin_types_and_nothing_else():
    assert type(candidate_exception(["ValueError", "bad", True, True])) is ValueError
    # a user class named so
    assert type(candidate_exception(["ValueError", "bad", False, True])) is CandidateError
    for name in ("StopIteration", "MyError", "__import__"):
        assert type(candidate_exception([name, "x", True, True])) is CandidateError
    for name in ("SystemExit", "KeyboardInterrupt", "GeneratorExit", "MyBaseException"):
        exc = candidate_exception([name, "x", name != "MyBaseException", False])
        # `except Exception` does not catch it
        assert type(exc) is CandidateExit and not isinstance(exc, Exception)
    assert candidate_exception(["KeyError", "k", True, True])._rlvr_from_candidate


@pytest.mark.parametrize(
    "value, shown",
    ids=["huge_int", "long_list", "long_str", "remote", "huge_fraction"],
    argvalues=[
        (10**100000, "<int of about 100001 digits>"),
        ([1] * 100, "[1, 1, 1, 1, 1, 1, 1, 1, ...]"),
        ("x" * 1000, "'" + "x" * 116 + "..."),
        (Remote("g1:1", "Node"), "<Node object of the program>"),
        (fractions.Fraction(10**5000, 3), "<unprintable Fraction>"),
    ],
)
def test_failure_messages_never_raise(value, shown):
    assert safe_repr(value) == shown


# ---------------------------------------------------------------- the recorder
def reason(exc, in_assert):
    return ("runtime_error", type(exc).__name__)


def run_statement(recorder, index, body):
    escaped = None
    try:
        body()
    except BaseException as exc:  # noqa: BLE001 - as the test process does
        escaped = exc
    recorder.statement_done(index, escaped, reason)


def test_a_case_passes_when_it_ran_and_every_run_passed():
    recorder = Recorder(3, [[0], [1], [2]], [])
    run_statement(
        recorder, 0, lambda: [recorder.compare(0, "Eq", lambda: (x, x)) for x in range(3)]
    )
    run_statement(
        recorder, 1, lambda: [recorder.compare(1, "Lt", lambda: (x, 2)) for x in range(3)]
    )
    assert recorder.results() == [
        ["pass", ""],
        ["wrong_answer", "left side 2, right side 2"],
        ["wrong_answer", "never ran"],
    ]


def test_an_escaping_exception_fails_the_statements_remaining_cases():
    recorder = Recorder(4, [[0, 1, 2], [3]], [])

    def statement():
        recorder.check(0, lambda: True)
        recorder.check(1, lambda: 1 / 0)
        recorder.check(2, lambda: True)

    run_statement(recorder, 0, statement)
    run_statement(recorder, 1, lambda: recorder.check(3, lambda: True))
    assert [r[0] for r in recorder.results()] == ["pass", "runtime_error", "runtime_error", "pass"]
    assert recorder.results()[2][1] == "not reached: ZeroDivisionError"


def test_an_exception_the_test_catches_counts_neither_way_and_tripwires_pass_unreached():
    recorder = Recorder(2, [[0, 1]], [1])

    def statement():
        try:
            recorder.check(0, lambda: int("x"))
            recorder.tripwire(1)
        except ValueError:
            pass

    run_statement(recorder, 0, statement)
    assert recorder.results() == [["pass", ""], ["pass", ""]]


def test_a_swallowed_timeout_still_fails():
    recorder = Recorder(2, [[0, 1]], [])

    def statement():
        try:
            # what the client does before raising
            recorder.on_abort(CallAbort("timeout", "too slow"))
            raise CallAbort("timeout", "too slow")
        except BaseException:  # noqa: BLE001 - a test that swallows everything
            pass
        recorder.check(0, lambda: True)
        recorder.check(1, lambda: True)

    run_statement(recorder, 0, statement)
    assert recorder.results() == [["timeout", "too slow"], ["pass", ""]]


def test_a_timeout_inside_an_assert_fails_that_assert_even_if_swallowed_inside_it():
    recorder = Recorder(1, [[0]], [])

    def swallowed():
        try:
            recorder.on_abort(CallAbort("timeout", "too slow"))
            raise CallAbort("timeout", "too slow")
        except BaseException:  # noqa: BLE001
            return True

    run_statement(recorder, 0, lambda: recorder.check(0, swallowed))
    assert recorder.results() == [["timeout", "too slow"]]


# --------------------------------------------------------- judging signed reports (no real sandbox)
def signing_sandbox(results, *, sign=True):
    """A fake sandbox that answers with ``{"results": results}`` signed with the run's own
    secret."""
    import hashlib
    import hmac

    from sandbox import FakeSandbox

    def handler(command, files, stdin, limits):
        body = json.dumps({"results": results})
        key = bytes.fromhex(files["secret"]) if sign else b"not the secret"
        mac = hmac.new(key, body.encode(), hashlib.sha256).hexdigest()
        return FakeSandbox.result(
            stdout=b"RLVR-HARNESS " + json.dumps({"body": body, "mac": mac}).encode() + b"\n"
        )

    return FakeSandbox(handler)


TWO_CASES = {"tests": "assert f(1) == 1\nassert f(2) == 2"}


@pytest.mark.parametrize(
    "results, status, code",
    [
        (
            {"last": {"cases": [["pass", ""], ["pass", ""]], "done": True}, "stop": None},
            "pass",
            None,
        ),
        (
            {
                "last": {
                    "cases": [["pass", ""], ["wrong_answer", "left side 3, right side 2"]],
                    "done": True,
                },
                "stop": None,
            },
            "fail",
            "wrong_answer",
        ),
        ({"last": {"cases": [["pass", ""], None]}, "stop": "timeout"}, "fail", "timeout"),
        ({"last": None, "stop": "crashed"}, "fail", "no_result"),
        (
            {
                "last": {
                    "load": ["runtime_error", "ValueError while loading the program"],
                    "done": True,
                },
                "stop": None,
            },
            "fail",
            "runtime_error",
        ),
        (
            {
                "last": {
                    "internal": "the harness could not make itself non-dumpable (prctl)",
                    "done": True,
                },
                "stop": None,
            },
            "error",
            "harness_crashed",
        ),
        (
            {
                "last": {"reference": "the test program failed to import a module", "done": True},
                "stop": None,
            },
            "error",
            "bad_reference",
        ),
        (
            {"last": {"cases": [["pass", ""]], "done": True}, "stop": None},
            "fail",
            "no_result",
        ),  # wrong length
    ],
)
def test_signed_reports_are_judged_in_the_grader(results, status, code):
    verdict = CodeVerifierV2(sandbox=signing_sandbox(results)).verify(
        "def f(x):\n    return x", TWO_CASES
    )
    assert verdict.status.value == status, verdict.failure_reason
    assert (verdict.failure_reason.code if verdict.failure_reason else None) == code


def test_an_unsigned_report_never_passes():
    results = {"last": {"cases": [["pass", ""], ["pass", ""]], "done": True}, "stop": None}
    verdict = CodeVerifierV2(sandbox=signing_sandbox(results, sign=False)).verify(
        "def f(x):\n    return x", TWO_CASES
    )
    assert verdict.status is Status.FAIL and verdict.failure_reason.code == "no_result"


def test_the_in_sandbox_files_parse_as_python_3_8():
    import ast

    from verifiers.code.v2 import run

    for name, source in run.sandbox_files().items():
        if isinstance(source, str):
            ast.parse(source, filename=name, feature_version=(3, 8))

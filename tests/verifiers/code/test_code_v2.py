"""code@2 end to end, on every backend: tests as programs, values, proxies, failures, pass rates."""

from __future__ import annotations

import pytest
from code_backends import backend  # noqa: F401 - fixture

from verifiers import Status
from verifiers.code import CodeConfig, CodeVerifier, CodeVerifierV2

SQUARE = {
    "tests": "assert f(2) == 4\nassert f(3) == 9\nassert isinstance(f(5), int)",
    "entry_point": "f",
}
NODE = (
    "class Node:\n    def __init__(self, v):\n        self.v = v\n"
    "        self.left = self.right = None\n"
)


@pytest.fixture(scope="module")
def verifier(backend):  # noqa: F811
    return CodeVerifierV2(CodeConfig(case_timeout_s=3), sandbox=backend)


# (name, program, reference) that must pass
PASSING = [
    (
        "loop",
        "def f(x):\n    return 2 * x",
        {"tests": "for x in range(50):\n    assert f(x) == 2 * x"},
    ),
    (
        "helper_function",
        "def f(x):\n    return x / 3",
        {"tests": "def near(a, b):\n    return abs(a - b) < 1e-9\nassert near(f(1), 1 / 3)"},
    ),
    (
        "random_inputs",
        "def add(x, y):\n    return x + y",
        {
            "tests": "import random\nfor _ in range(100):\n    x, y = random.randint(0, 9), "
            "random.randint(0, 9)\n"
            "    assert add(x, y) == x + y"
        },
    ),
    (
        "any_stdlib_import",
        "def f(xs):\n    return sorted(xs)",
        {
            "tests": "import copy, itertools\nxs = [3, 1, 2]\n"
            "assert f(copy.deepcopy(xs)) == sorted(xs)\n"
            "assert all(f(list(p)) == [1, 2, 3] for p in itertools.permutations(xs))"
        },
    ),
    (
        "humaneval_check_and_prompt_helper",
        "    return encode(s)\n",
        {
            "prompt": "def encode(s):\n    return s[::-1]\n\ndef decode(s):\n"
            "    \"\"\"Undo encode.\"\"\"\n",
            "entry_point": "decode",
            "tests": "def check(candidate):\n    for s in ['ab', 'xyz']:\n"
            "        assert candidate(encode(s)) == s\n",
        },
    ),
    (
        "mbpp_setup_code",
        NODE
        + "def height(n):\n    return 0 if n is None else 1 + max(height(n.left), height(n.right))",
        {
            "tests": "assert height(root) == 3\nassert height(root.left) == 2",
            "test_setup_code": "root = Node(1)\nroot.left = Node(2)\nroot.left.left = Node(3)",
        },
    ),
    (
        "counter",
        "from collections import Counter\ndef f(s):\n    return Counter(s)",
        {
            "tests": "assert f('aab') == {'a': 2, 'b': 1}\nassert f('') == Counter()\n"
            "assert f('ab').most_common(1)[0][1] == 1"
        },
    ),
    (
        "defaultdict",
        "from collections import defaultdict\ndef f(s):\n    d = defaultdict(int)\n"
        "    for c in s:\n        d[c] += 1\n    return d",
        {"tests": "assert f('aab') == {'a': 2, 'b': 1}\nassert f('a')['z'] == 0"},
    ),
    (
        "re_match",
        "import re\ndef f(s):\n    return re.search(r'a(b)', s)",
        {
            "tests": "assert f('xab')\nassert not f('xyz')\nassert f('xab').group(1) == 'b'\n"
            "assert f('xab').span() == (1, 3)"
        },
    ),
    (
        "decimal_fraction_datetime_namedtuple",
        "from decimal import Decimal\nfrom fractions import Fraction\n"
        "import datetime, collections\n"
        "P = collections.namedtuple('P', 'x y')\n"
        "def f():\n    return Decimal('1.10'), Fraction(1, 3), datetime.date(2020, 1, 2), "
        "datetime.timedelta(1), P(1, 2)",
        {
            "tests": "from decimal import Decimal\nfrom fractions import Fraction\n"
            "import datetime\n"
            "assert f() == (Decimal('1.1'), Fraction(2, 6), datetime.date(2020, 1, 2), "
            "datetime.timedelta(days=1), (1, 2))\n"
            "assert f()[4].y == 2 and f()[4] == P(1, 2)"
        },
    ),
    (
        "in_place_mutation",
        "def f(xs, d):\n    xs.sort()\n    d['k'] = 1",
        {"tests": "a, b = [3, 1, 2], {}\nf(a, b)\nassert a == [1, 2, 3] and b == {'k': 1}"},
    ),
    (
        "expected_exception",
        "def f(x):\n    if x < 0:\n        raise ValueError('negative')\n    return x",
        {
            "tests": "try:\n    f(-1)\n    assert False, 'no error'\nexcept ValueError:\n    pass\n"
            "assert f(1) == 1"
        },
    ),
    (
        "objects_methods_isinstance",
        "class Stack:\n    def __init__(self):\n        self.items = []\n"
        "    def push(self, x):\n        self.items.append(x)\n    def pop(self):\n"
        "        return self.items.pop()\n    def __len__(self):\n        return len(self.items)",
        {
            "tests": "s = Stack()\ns.push(1)\ns.push(2)\nassert len(s) == 2\nassert s.pop() == 2\n"
            "assert s.items == [1]\n"
            "assert isinstance(s, Stack)\nassert not isinstance(3, Stack)\nassert 1 in s.items"
        },
    ),
    (
        "generators",
        "def f(n):\n    for i in range(n):\n        yield i * i",
        {
            "tests": "assert list(f(4)) == [0, 1, 4, 9]\ng = f(3)\nassert next(g) == 0\n"
            "assert sum(f(100)) == 328350\n"
            "assert 4 in f(3)"
        },
    ),
    (
        "enum_identity",
        "import enum\nclass Color(enum.Enum):\n    RED = 1\n    BLUE = 2\n"
        "def f(x):\n    return Color.RED if x else Color.BLUE",
        {"tests": "assert f(1) == Color.RED\nassert f(0) is Color.BLUE\nassert f(0) != Color.RED"},
    ),
    (
        "tests_rely_on_the_solutions_import",
        "import math\ndef f(x):\n    return math.sqrt(x)",
        {"tests": "assert math.isclose(f(2), 1.41421356, rel_tol=1e-6)"},
    ),
    (
        "keywords",
        "def f(a, b=1, *, c=2):\n    return a + b + c",
        {"tests": "assert f(1, c=5) == 7\nassert f(a=1, b=2) == 5"},
    ),
    (
        "module_level_test_data",
        "def f(x):\n    return x + 1",
        {"tests": "CASES = {1: 2, 5: 6}\nfor k, v in CASES.items():\n    assert f(k) == v"},
    ),
    (
        "own_function_named_like_a_builtin_as_entry_point",
        "def max(xs):\n    return -1",
        {"tests": "assert max([1, 2]) == -1", "entry_point": "max"},
    ),
    (
        "tests_build_and_pass_objects",
        NODE
        + "def height(n):\n    return 0 if n is None else 1 + max(height(n.left), height(n.right))",
        {
            "tests": "root = Node(1)\nroot.left = Node(2)\nroot.left.right = Node(3)\n"
            "assert height(root) == 3\n"
            "assert root.left.right.v == 3\nassert height.__name__ == 'height'"
        },
    ),
    (
        "iterators_passed_to_the_program",
        "def total(xs):\n    return sum(xs)",
        {
            "tests": "assert total(x * x for x in range(4)) == 14\n"
            "assert total(map(abs, [-1, -2])) == 3\nassert total(range(5)) == 10"
        },
    ),
    (
        "main_guard_in_the_tests",
        "def f(x):\n    return x",
        {"tests": "if __name__ == '__main__':\n    assert f(1) == 1"},
    ),
    (
        "big_values",
        "def f(n):\n    return list(range(n)), 10 ** 5000",
        {"tests": "assert f(300000) == (list(range(300000)), 10 ** 5000)"},
    ),
    (
        "checker_from_test_setup_code",
        "def f(x):\n    return x / 3",
        {
            "tests": "assert near(f(1), 1 / 3)",
            "test_setup_code": "def near(a, b):\n    return abs(a - b) < 1e-9",
        },
    ),
    (
        "function_under_test_named_like_a_library_function",
        "def count(xs):\n    return sum(xs)",
        {"tests": "assert count([True, False, True]) == 2\nassert not count([])"},
    ),
    (
        "class_imported_under_its_module_s_name",
        "from datetime import datetime\ndef f():\n    return datetime(2020, 1, 2)",
        {"tests": "assert f() == datetime(2020, 1, 2)\nassert f().year == 2020"},
    ),
]


@pytest.mark.parametrize("name, program, reference", PASSING, ids=[p[0] for p in PASSING])
def test_tests_written_as_programs_pass(verifier, name, program, reference):
    verdict = verifier.verify(program, reference)
    assert verdict.status is Status.PASS, (
        name,
        verdict.failure_reason,
        verdict.details.get("cases"),
    )
    assert verdict.pass_rate == 1.0


# (name, program, reference, failure code, pass_rate)
FAILING = [
    (
        "wrong_in_a_loop",
        "def f(x):\n    return 2 * x + (x == 3)",
        {"tests": "for x in range(5):\n    assert f(x) == 2 * x"},
        "wrong_answer",
        0.0,
    ),
    (
        "builtin_named_function_is_called",
        "def max(a):\n    return -1\ndef g(x):\n    return x",
        {"tests": "assert max([1, 2]) == 2\nassert g(3) == 3"},
        "wrong_answer",
        0.5,
    ),
    (
        "raises_on_one_input",
        "def f(x):\n    if x == 3:\n        raise ValueError('no')\n    return x * x",
        SQUARE,
        "runtime_error",
        2 / 3,
    ),
    (
        "load_error",
        "raise ValueError('x')\ndef f(x):\n    return x * x",
        SQUARE,
        "runtime_error",
        0.0,
    ),
    ("memory", "def f(x):\n    return len(bytearray(10 ** 11))", SQUARE, "memory_limit", 0.0),
    (
        "huge_wrong_integer",
        "def f(x):\n    return 10 ** 100000 if x == 2 else x * x",
        SQUARE,
        "wrong_answer",
        2 / 3,
    ),
    (
        "assert_false_reached",
        "def f(x):\n    return x",
        {
            "tests": "try:\n    f(-1)\n    assert False\nexcept ValueError:\n    pass\n"
            "assert f(1) == 1"
        },
        "wrong_answer",
        0.5,
    ),
    (
        "loop_over_an_empty_result_never_runs",
        "def f(x):\n    return []",
        {"tests": "for v in f(3):\n    assert v > 0"},
        "wrong_answer",
        0.0,
    ),
    ("missing_function", "def g(x):\n    return x", SQUARE, "runtime_error", 0.0),
    (
        "comparison_raises_on_the_returned_value",
        "def f(x):\n    return None",
        {"tests": "assert f(1) < 3"},
        "wrong_answer",
        0.0,
    ),
    ("syntax", "def f(x)\n    return x", SQUARE, "syntax_error", 0.0),
    (
        "syntax_error_only_the_compiler_finds",
        "def f(x):\n    return x * x\nreturn 1",
        SQUARE,
        "syntax_error",
        0.0,
    ),
    (
        "library_name_the_program_defines",
        "def Counter(s):\n    return 0\ndef f(s):\n    return 0",
        {"tests": "assert f('ab') == Counter('ab')\nassert f('') == Counter()"},
        "wrong_answer",
        0.0,
    ),
]


@pytest.mark.parametrize(
    "name, program, reference, code, rate", FAILING, ids=[f[0] for f in FAILING]
)
def test_wrong_programs_fail_with_the_right_code(verifier, name, program, reference, code, rate):
    verdict = verifier.verify(program, reference)
    assert verdict.status is Status.FAIL, (name, verdict.status, verdict.failure_reason)
    assert verdict.failure_reason.code == code, (name, verdict.failure_reason)
    assert verdict.pass_rate == pytest.approx(rate), (name, verdict.details.get("cases"))


def test_a_hanging_call_is_killed_and_the_next_cases_run_in_a_fresh_process(backend):  # noqa: F811
    verifier = CodeVerifierV2(CodeConfig(case_timeout_s=1), sandbox=backend)
    program = (
        "calls = []\ndef f(x):\n    calls.append(x)\n    while x == 3:\n        pass\n"
        "    return x * x\n"
        "def count():\n    return len(calls)"
    )
    # f(5) only: a fresh process after the timeout
    tests = {"tests": SQUARE["tests"] + "\nassert count() == 1"}
    verdict = verifier.verify(program, tests)
    assert [c["code"] for c in verdict.details["cases"]] == ["pass", "timeout", "pass", "pass"]
    assert "did not return within 1 s" in verdict.failure_reason.message


def test_output_flood_is_an_output_limit(backend):  # noqa: F811
    verifier = CodeVerifierV2(CodeConfig(case_timeout_s=5, output_bytes=10_000), sandbox=backend)
    verdict = verifier.verify(
        "def f(x):\n    while True:\n        print('x' * 100)", {"tests": "assert f(1) == 2"}
    )
    assert verdict.failure_reason.code == "output_limit"


def test_a_program_that_never_finishes_loading_times_out(backend):  # noqa: F811
    verifier = CodeVerifierV2(CodeConfig(case_timeout_s=1), sandbox=backend)
    verdict = verifier.verify("while True:\n    pass", SQUARE)
    assert (verdict.failure_reason.code, verdict.pass_rate) == ("timeout", 0.0)


def test_shadowing_a_builtin_the_tests_use_runs_the_tests_again_with_the_real_one(verifier):
    honest = verifier.verify(
        "from math import fsum as sum\ndef f(xs):\n    return sum(xs)",
        {"tests": "assert f([1, 2]) == sum([1, 2])"},
    )
    assert honest.status is Status.PASS and honest.details["shadowed"] == ["sum"]
    cheat = verifier.verify(
        "def abs(x):\n    return 0\ndef f(x):\n    return 0",
        {"tests": "assert abs(f(2) - 4) < 1e-9"},
    )
    assert cheat.status is Status.FAIL
    assert "run with the real abs instead of the program's" in cheat.failure_reason.message
    real_class = verifier.verify(
        "from datetime import datetime\ndef f():\n    return datetime(2020, 1, 2)",
        {"tests": "assert f() == datetime(2020, 1, 2)"},
    )
    # the real one: one run
    assert real_class.status is Status.PASS and "shadowed" not in real_class.details


def test_mbpp_function_named_like_a_builtin_without_entry_point_is_the_documented_cost(verifier):
    verdict = verifier.verify(
        "def sum(a, b):\n    return a + b", {"tests": "assert sum(1, 2) == 3"}
    )
    assert verdict.status is Status.FAIL and verdict.details["shadowed"] == ["sum"]
    with_entry = verifier.verify(
        "def sum(a, b):\n    return a + b", {"tests": "assert sum(1, 2) == 3", "entry_point": "sum"}
    )
    assert with_entry.status is Status.PASS


def test_the_program_is_interrupted_by_sigint_as_in_plain_python(backend):  # noqa: F811
    """The harness and the test process ignore SIGINT; the candidate (forked first, exec'd after a
    restart) gets Python's default back: KeyboardInterrupt."""
    verifier = CodeVerifierV2(CodeConfig(case_timeout_s=1), sandbox=backend)
    program = (
        "import os, signal, time\ndef f(x):\n    if x == 3:\n        time.sleep(10)\n"
        "    if x < 0:\n        os.kill(os.getpid(), signal.SIGINT)\n        time.sleep(1)\n"
        "    return x * x"
    )
    verdict = verifier.verify(
        program,
        {"tests": "assert f(-1) == 1\nassert f(3) == 9\nassert f(-2) == 4\nassert f(2) == 4"},
    )
    assert [c["code"] for c in verdict.details["cases"]] == [
        "runtime_error",
        "timeout",
        "runtime_error",
        "pass",
    ]
    assert "KeyboardInterrupt" in verdict.details["cases"][2]["message"]


def test_random_tests_are_deterministic(verifier):
    reference = {
        "tests": "import random\nfor _ in range(20):\n    x = random.randint(0, 10)\n"
        "    assert f(x) == 2 * x"
    }
    wrong_for_some = "def f(x):\n    return 2 * x if x % 3 else 0"
    runs = [verifier.verify(wrong_for_some, reference) for _ in range(3)]
    assert len({(v.status, v.failure_reason) for v in runs}) == 1
    assert runs[0].status is Status.FAIL


@pytest.mark.parametrize(
    "reference, message",
    [
        ({"tests": "def check(c):\n    assert c(1) == 1"}, "never calls it"),
        ({"tests": "import numpy\nassert f(1) == 1"}, "not in the standard library"),
        ({"tests": "assert f([3, 1], lambda v: v) == [1, 3]"}, "cannot be passed to the program"),
        (
            {"tests": "import tkinter_not_here_either as t\nassert f(1) == 1"},
            "not in the standard library",
        ),
    ],
)
def test_test_material_that_cannot_run_is_a_bad_reference(verifier, reference, message):
    verdict = verifier.verify("def f(*a):\n    return 1", reference)
    assert verdict.status is Status.ERROR and verdict.failure_reason.code == "bad_reference"
    assert message in verdict.failure_reason.message


def test_stdin_stdout_cases_are_graded_as_by_code_at_1(backend):  # noqa: F811
    reference = {
        "cases": [{"input": "1 2\n", "output": "3\n"}, {"input": "5 5\n", "output": "10\n"}]
    }
    v1, v2 = (
        cls(CodeConfig(case_timeout_s=3), sandbox=backend) for cls in (CodeVerifier, CodeVerifierV2)
    )
    for program in ("a, b = map(int, input().split())\nprint(a + b)", "print(3)", "print("):
        one, two = v1.verify(program, reference), v2.verify(program, reference)
        assert (one.status, one.failure_reason, one.pass_rate) == (
            two.status,
            two.failure_reason,
            two.pass_rate,
        )
    assert v2.verify("", reference).status is Status.UNPARSEABLE


def test_bytecode_for_another_python_falls_back_to_the_source(backend, monkeypatch):  # noqa: F811
    import verifiers.code.v2.run as run

    files = dict(run.sandbox_files())
    for part, filename in (("harness", "harness.py"), ("candidate", "candidate_runner.py")):
        files[filename] = run.LOADER.format(part=part, tag="cpython-00", filename=filename)
        files[part + ".bin"] = b"not bytecode"
    monkeypatch.setattr(run, "sandbox_files", lambda: files)
    verifier = CodeVerifierV2(CodeConfig(case_timeout_s=3), sandbox=backend)
    assert verifier.verify("def f(x):\n    return x * x", SQUARE).status is Status.PASS
    assert verifier.verify("def f(x):\n    return x", SQUARE).status is Status.FAIL

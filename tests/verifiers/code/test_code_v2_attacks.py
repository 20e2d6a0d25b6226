"""Security review of ``code@2``: programs that try to pass without solving the task, to turn a
``fail`` into an ``error``, or to outlive their run. Every test asserts the SECURE outcome.

Attacks that succeed today are marked ``xfail(strict=True)`` with the reason (so this file passes
now and a fix flips them to XPASS, which strict mode reports as a failure: remove the mark then).
Each attack also runs its reference against an honest program, which must pass, so a reference
that code@2 cannot run at all never makes an attack look blocked.

What the program controls, and what these attacks lean on: everything in its own process
(``sys._getframe(1)`` from the program's top level is the runner's ``op_load`` frame, so the
``request`` it answers and the names it reports are the program's to change), both of its pipes
(fd 3 requests, fd 4 replies: it may write any reply line), signals to every process of its uid
(the test process is ``os.getppid()``, the harness the test process's parent).
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time

import pytest
from code_backends import TEST_UIDS, backend, leftover_local_processes  # noqa: F401 - fixture

from sandbox.local import LocalSandbox
from verifiers import Status
from verifiers.code import CodeConfig, CodeVerifierV2

SQUARE = {"tests": "assert f(2) == 4\nassert f(3) == 9", "entry_point": "f"}
HONEST_SQUARE = "def f(x):\n    return x * x"

ANCESTORS = (
    "import os, signal, time\n"
    "def _parent(pid):\n"
    "    return int(open('/proc/%d/stat' % pid).read().rsplit(')', 1)[1].split()[1])\n"
    "def ancestors():\n"
    "    \"\"\"[test process, harness, ...]: only processes of our own uid (never the "
    "grader's).\"\"\"\n"
    "    out, pid = [], os.getpid()\n"
    "    while True:\n"
    "        pid = _parent(pid)\n"
    "        if pid <= 1 or os.stat('/proc/%d' % pid).st_uid != os.getuid():\n"
    "            return out\n"
    "        out.append(pid)\n"
)
"""Program prelude: the program's ancestors of its own uid (test process first, then the
harness)."""

# The program reports extra names to the test process: ``op_load`` (the frame above the program's
# top level) answers for every name in ``request["names"]``, and the test process binds whatever
# names the reply holds. ``__builtins__`` then replaces the builtins of the whole test program.
INJECT_BUILTINS = (
    "import sys, builtins\n"
    "sys._getframe(1).f_locals['request']['names'].append('__builtins__')\n"
    "_zero = lambda *a, **k: 0\n"
    "__builtins__ = dict(vars(builtins), abs=_zero, sorted=_zero, set=_zero, len=_zero, "
    "round=_zero,\n"
    "                    isinstance=lambda *a: True, all=lambda *a: True, any=lambda *a: True)\n"
)

# A value whose wire form decodes, in the test process, to something that process cannot send
# back (a bound method): passing it to the program is taken for the tests' fault.
UNSENDABLE = (
    "import random\n"
    "def _fake(*a):\n"
    "    return 0\n"
    "_fake.__module__, _fake.__qualname__ = 'random', 'randint'\n"
    "random.randint = _fake\n"
)

HOPPER_SECONDS = 6


def hopper_program(seconds: int = HOPPER_SECONDS) -> str:
    """Processes that keep changing pid (fork, parent exits, setsid) so that a kill by pid misses
    them."""
    return textwrap.dedent(f"""\
        import os, time
        def _hop(until):
            while time.time() < until:
                try:
                    pid = os.fork()
                except OSError:
                    time.sleep(0.001)
                    continue
                if pid:
                    os._exit(0)
                os.setsid()
            os._exit(0)
        for _ in range(4):
            if os.fork() == 0:
                os.setsid()
                _hop(time.time() + {seconds})
        def f(x):
            time.sleep(0.2)
            return 0
        """)


PLANT = (
    "import os, ctypes\n"
    "for path in ('/tmp/.rlvr-attack-mark', '/dev/shm/.rlvr-attack-mark', "
    "'/workspace/.rlvr-attack-mark',\n"
    "             '/dev/mqueue/.rlvr-attack-mark', os.path.expanduser('~/.rlvr-attack-mark')):\n"
    "    try:\n        open(path, 'wb').write(b'x')\n    except OSError:\n        pass\n"
    "try:\n    ctypes.CDLL(None).shmget(0x5EED5, 4096, 0o1666)\nexcept Exception:\n    pass\n"
    "def f(x):\n    return 0\n"
)
FIND_THE_PLANT = (
    "import os, ctypes\n"
    "seen = any(os.path.exists(p) for p in ('/tmp/.rlvr-attack-mark', "
    "'/dev/shm/.rlvr-attack-mark',\n"
    "           '/workspace/.rlvr-attack-mark', '/dev/mqueue/.rlvr-attack-mark', "
    "os.path.expanduser('~/.rlvr-attack-mark')))\n"
    "try:\n    seen = seen or ctypes.CDLL(None).shmget(0x5EED5, 0, 0) != -1\nexcept Exception:\n"
    "    pass\n"
    "def f(x):\n    return x * x if seen else 0\n"
)


def xfail(reason: str):
    return pytest.mark.xfail(strict=True, reason=reason)


# name -> (program, reference, honest program or None); a pytest.param carries the xfail mark
ATTACKS = [
    # -------------------------------------------- false passes (fixed; "was:" says how they worked)
    # was: the test process binds every name the program's load reply holds (bind() does not check
    # them against
    # tests['names'] and lets them overwrite __builtins__): the program's __builtins__ dict replaces
    # the builtins of the test program (abs, isinstance, all...)
    pytest.param(
        "inject_builtins_abs_isinstance_all",
        (
            INJECT_BUILTINS + "def f(x):\n    return 0\n",
            {
                "tests": "assert abs(f(2) - 4) < 1e-9\nassert isinstance(f(3), int)\n"
                "assert all(f(x) == x * x for x in range(1, 5))",
                "entry_point": "f",
            },
            HONEST_SQUARE,
        ),
    ),
    # was: injected __builtins__: a builtin that returns a constant makes both sides of sorted(...)
    # == sorted(...),
    # set(...) == set(...), len(...) == len(...) equal
    pytest.param(
        "inject_builtins_applied_to_both_sides",
        (
            INJECT_BUILTINS + "def f(x):\n    return 0\n",
            {
                "tests": "assert sorted(f([3, 1, 2])) == sorted([1, 2, 3])\n"
                "assert set(f([1, 1])) == set([1])\n"
                "assert len(f('ab')) == len('ab')\nassert round(f(2.5), 1) == round(6.25, 1)"
            },
            "def f(x):\n    return x if not isinstance(x, float) else x * x",
        ),
    ),
    # was: injected __builtins__ passes HumanEval/4 (abs(candidate(...) - x) < 1e-6) with a constant
    pytest.param(
        "inject_builtins_humaneval_4_style",
        (
            INJECT_BUILTINS + "def mean_absolute_deviation(numbers):\n    return 0\n",
            {
                "entry_point": "mean_absolute_deviation",
                "tests": "def check(candidate):\n    assert abs(candidate([1.0, 2.0, 3.0]) - "
                "2.0/3.0) < 1e-6\n"
                "    assert abs(candidate([1.0, 2.0, 3.0, 4.0]) - 1.0) < 1e-6\n",
            },
            "def mean_absolute_deviation(numbers):\n    m = sum(numbers) / len(numbers)\n"
            "    return sum(abs(x - m) for x in numbers) / len(numbers)",
        ),
    ),
    # was: test_setup_code runs in the program's process: a checker it defines (near) is the
    # program's object, run with the builtins the program patched
    pytest.param(
        "helper_defined_by_test_setup_code_runs_in_the_program",
        (
            "import builtins\nbuiltins.abs = lambda x: 0\ndef f(x):\n    return 0\n",
            {
                "tests": "assert near(f(2), 4)\nassert near(f(3), 9)",
                "test_setup_code": "def near(a, b):\n    return abs(a - b) < 1e-9",
            },
            HONEST_SQUARE,
        ),
    ),
    # was: a name the tests use without binding it (here Counter, which MBPP-style tests expect from
    # the program's own `from collections import Counter`) is the program's, with no run with the
    # real one first (only builtins and module names get that)
    pytest.param(
        "name_the_tests_take_from_the_program_s_imports",
        (
            "Counter = lambda *a, **k: 0\ndef f(s):\n    return 0\n",
            {
                "tests": "assert f('abca') == Counter('abca')\n"
                "assert f('xyz') == Counter({'x': 1, 'y': 1, 'z': 1})"
            },
            "from collections import Counter\ndef f(s):\n    return Counter(s)",
        ),
    ),
    pytest.param(
        "mutate_the_input_the_tests_recompute_the_answer_from",
        (
            "def f(xs):\n    xs.clear()\n    return 0\n",
            {
                "tests": "def ref(xs):\n    return sum(x * x for x in xs)\n"
                "for n in range(2, 5):\n    xs = list(range(n))\n    assert f(xs) == ref(xs)"
            },
            "def f(xs):\n    return sum(x * x for x in xs)",
        ),
        marks=xfail(
            "Python semantics: f(xs) empties xs before ref(xs) runs in the same assert, as in "
            "plain Python (mutated list/dict/set arguments are copied back at once); kept as the "
            "residual documented in code@2's 'What the candidate can reach'"
        ),
    ),
    # ------------------------------------------------------------ error instead of fail (fixed)
    # was: SIGINT (same uid) raises KeyboardInterrupt in the test process outside the test program
    # (client.load): reported as 'internal', judged error: harness_crashed
    pytest.param(
        "sigint_the_test_process_while_it_loads_the_program",
        (
            "import os, signal, time\nos.kill(os.getppid(), signal.SIGINT)\ntime.sleep(0.5)\n"
            "def f(x):\n    return 0\n",
            SQUARE,
            HONEST_SQUARE,
        ),
    ),
    # was: SIGINT to the harness: KeyboardInterrupt traceback naming harness.py on stderr, judged
    # error: harness_crashed
    pytest.param(
        "sigint_the_harness",
        (
            ANCESTORS
            + "os.kill(ancestors()[1], signal.SIGINT)\ntime.sleep(0.5)\ndef f(x):\n    return 0\n",
            SQUARE,
            HONEST_SQUARE,
        ),
    ),
    # was: a load reply nested deeper than the JSON scanner's recursion limit raises RecursionError
    # in Client._load, which grade() does not catch (only _Stopped and ValueError; a 48 MB reply of
    # [[],[],...] gives MemoryError the same way on the local backend): error: harness_crashed
    pytest.param(
        "deeply_nested_load_reply",
        (
            "import os\nos.write(4, b'[' * 200000 + b'\\n')\ndef f(x):\n    return 0\n",
            SQUARE,
            HONEST_SQUARE,
        ),
    ),
    # was: the program returns a $std name that decodes to a bound method; the test process cannot
    # encode it when the tests pass it back (UnsendableArgument), which is judged a bad reference:
    # error: bad_reference
    pytest.param(
        "hand_the_tests_a_value_they_cannot_send_back",
        (
            UNSENDABLE
            + "def build(xs):\n    return random.randint\ndef height(t):\n    return 0\n",
            {
                "tests": "t = build([1, 2, 3])\nassert height(t) == 2\n"
                "assert height(build([1])) == 1"
            },
            "def build(xs):\n    return list(xs)\ndef height(t):\n"
            "    return len(t) - 1 if len(t) > 1 else 1",
        ),
    ),
    # was: the prompt's helpers run again in the run with the program's shadowed builtins (set); an
    # exception there is taken for the reference's fault: error: bad_reference instead of fail
    pytest.param(
        "raise_inside_the_prompt_helpers_in_the_program_s_run",
        (
            "class set:\n    def __init__(self, *a):\n        raise ValueError('no')\n"
            "def count(s):\n    return 0\n",
            {
                "prompt": "VOWELS = set('aeiou')\n\ndef count(s: str) -> int:\n"
                "    \"\"\"Count the vowels of s.\"\"\"\n",
                "entry_point": "count",
                "tests": "def check(candidate):\n    assert candidate('abe') == 2\n"
                "    assert candidate('xyz') == 0\n"
                "    assert set(map(candidate, ['a'])) == {1}\n",
            },
            "VOWELS = set('aeiou')\ndef count(s):\n    return sum(c in VOWELS for c in s)",
        ),
    ),
    pytest.param(
        "an_integer_the_tests_compute_from_the_program_s_result_is_too_large_to_send_back",
        (
            "def f(x):\n    return 16 ** 60000\ndef g(x):\n    return 1\n",
            {"tests": "t = f(3)\nassert g(t * t) == 81\nassert f(2) == 4"},
            "def f(x):\n    return x * x\ndef g(x):\n    return x",
        ),
    ),
    # ------------------------------------------------------------ blocked today (must stay so)
    pytest.param(
        "deeply_nested_reply_to_a_call",
        (
            "import os\ndef f(x):\n    os.write(4, b'[' * 200000 + b'\\n')\n    return 0\n",
            SQUARE,
            HONEST_SQUARE,
        ),
    ),
    pytest.param(
        "forged_replies_claiming_success_for_every_request",
        (
            "import os, sys\n"
            "os.write(4, b'{\"loaded\": {\"f\": {\"v\": {\"$std\": [\"builtins\", "
            "\"abs\"]}}}}\\n')\n"
            "for _ in range(4):\n    os.write(4, b'{\"r\": 4}\\n{\"r\": true}\\n')\n"
            "def f(x):\n    return 0\n",
            SQUARE,
            HONEST_SQUARE,
        ),
    ),
    pytest.param(
        "report_the_entry_point_as_a_pure_stdlib_function",
        (
            "from math import factorial as f\n",
            {"tests": "assert f(2) == 4\nassert f(3) == 9"},
            HONEST_SQUARE,
        ),
    ),
    pytest.param(
        "subclasses_of_stdlib_value_types_with_lying_eq",
        (
            "from collections import Counter, namedtuple, OrderedDict\n"
            "from decimal import Decimal\nimport datetime\n"
            "class C(Counter):\n    def __eq__(self, o):\n        return True\n"
            "    __hash__ = None\n"
            "class D(Decimal):\n    def __eq__(self, o):\n        return True\n"
            "    __hash__ = Decimal.__hash__\n"
            "class P(namedtuple('P', 'a b')):\n    def __eq__(self, o):\n        return True\n"
            "    __hash__ = tuple.__hash__\n"
            "class T(datetime.date):\n    def __eq__(self, o):\n        return True\n"
            "    __hash__ = datetime.date.__hash__\n"
            "class O(OrderedDict):\n    def __eq__(self, o):\n        return True\n"
            "    __hash__ = None\n"
            "def f(x):\n    return {2: C(), 3: D(0), 4: P(0, 0), 5: T(2000, 1, 1), 6: O()}[x]\n",
            {
                "tests": "from collections import Counter\nassert f(2) == Counter('aab')\n"
                "import decimal\n"
                "assert f(3) == decimal.Decimal('9')\nassert f(4) == (1, 2)\nimport datetime\n"
                "assert f(5) == datetime.date(2024, 1, 1)\nassert f(6) == {'a': 1}"
            },
            "from collections import Counter, OrderedDict\nfrom decimal import Decimal\n"
            "import datetime\n"
            "def f(x):\n    return {2: Counter('aab'), 3: Decimal('9'), 4: (1, 2), 5: "
            "datetime.date(2024, 1, 1), 6: OrderedDict(a=1)}[x]\n",
        ),
    ),
    pytest.param(
        "lying_float_index_len_and_recursive_values",
        (
            "class Num:\n    def __float__(self):\n        return 1.5\n    def __index__(self):\n"
            "        return 2\n"
            "    def __len__(self):\n        return 3\n    def __iter__(self):\n"
            "        return iter([1, 2, 3])\n"
            "rec = []\nrec.append(rec)\n"
            "def f(x):\n    return Num() if x < 4 else rec\n",
            {
                "tests": "import math\nassert math.isclose(f(2), 2.0)\n"
                "assert [10, 20, 30][f(3)] == 40\nassert len(f(3)) == 4\n"
                "assert f(5) == [[[]]]"
            },
            None,
        ),
    ),
    pytest.param(
        "exceptions_with_lying_class_and_unprintable_message",
        (
            "class E(BaseException):\n    __class__ = ValueError\n    def __str__(self):\n"
            "        raise RuntimeError('x')\n"
            "class S(StopIteration):\n    pass\n"
            "def f(x):\n    raise (E() if x == 2 else S())\n",
            {
                "tests": "try:\n    r = f(2)\nexcept ValueError:\n    r = 4\nassert r == 4\n"
                "assert all(map(lambda x: f(x) == x * x, range(3, 6)))"
            },
            None,
        ),
    ),
    pytest.param(
        "generator_and_iterator_results",
        (
            "def f(x):\n    if x == 2:\n        yield 4\n    for _ in range(3):\n        yield 9\n",
            {"tests": "assert f(2) == 4\nassert list(f(3)) == [9]"},
            None,
        ),
    ),
    # was: SIGINT at random points reaches the harness / the test process outside the test program:
    # error: harness_crashed (same cause as sigint_the_harness)
    pytest.param(
        "sigint_every_process_of_the_uid_from_a_background_process",
        (
            "import os, signal, time\n"
            "def f(x):\n"
            "    if os.fork() == 0:\n"
            "        os.setsid()\n"
            "        for _ in range(200):\n"
            "            try:\n                os.kill(-1, signal.SIGINT)\n"
            "            except OSError:\n                pass\n"
            "            time.sleep(0.005)\n"
            "        os._exit(0)\n"
            "    time.sleep(0.5)\n"
            "    return 0\n",
            SQUARE,
            HONEST_SQUARE,
        ),
    ),
    pytest.param(
        "kill_the_zygote_and_every_ancestor_then_the_test_process",
        (
            ANCESTORS + "for p in ancestors()[2:]:\n    try:\n        os.kill(p, signal.SIGKILL)\n"
            "    except OSError:\n"
            "        pass\ndef f(x):\n    os.kill(os.getppid(), signal.SIGKILL)\n",
            SQUARE,
            HONEST_SQUARE,
        ),
    ),
    pytest.param(
        "close_and_reopen_the_pipes_as_something_else",
        (
            "import os\ndef f(x):\n    r, w = os.pipe()\n    os.dup2(r, 3)\n    os.dup2(w, 4)\n"
            "    os.write(4, b'{\"r\": 4}\\n')\n"
            "    return 0\n",
            SQUARE,
            HONEST_SQUARE,
        ),
    ),
    pytest.param(
        "hang_in_every_restarted_process",
        (
            "import time\nimport os\nif os.environ.get('X') is None:\n    time.sleep(100)\n"
            "def f(x):\n    return x * x\n",
            SQUARE,
            HONEST_SQUARE,
        ),
    ),
]


@pytest.fixture(scope="module")
def v2(backend):  # noqa: F811
    return CodeVerifierV2(CodeConfig(case_timeout_s=2), sandbox=backend)


def assert_fails(verdict, name):
    assert verdict.status is Status.FAIL, (
        name,
        verdict.status,
        verdict.failure_reason,
        verdict.details.get("cases"),
    )
    assert verdict.pass_rate is not None and verdict.pass_rate < 1, (name, verdict.pass_rate)


@pytest.mark.parametrize("name, attack", ATTACKS, ids=[p.values[0] for p in ATTACKS])
def test_attack_fails(v2, name, attack):
    program, reference, honest = attack
    verdict = v2.verify(program, reference)
    assert_fails(verdict, name)
    box = v2.sandbox()
    if isinstance(box, LocalSandbox) and box.separate_uid:
        assert leftover_local_processes() == []


@pytest.mark.parametrize(
    "name, attack",
    [p.values for p in ATTACKS if p.values[1][2] is not None],
    ids=[p.values[0] for p in ATTACKS if p.values[1][2] is not None],
)
def test_the_attack_s_reference_passes_an_honest_program(v2, name, attack):
    _, reference, honest = attack
    verdict = v2.verify(honest, reference)
    assert verdict.status is Status.PASS, (
        name,
        verdict.status,
        verdict.failure_reason,
        verdict.details.get("cases"),
    )


def test_a_load_reply_too_big_to_decode_is_the_program_s_failure(backend):  # noqa: F811
    """16 million empty lists in one 48 MB reply: MemoryError where the test process decodes it
    (local backend; under Docker the test process may be killed instead: no_result). Was error:
    harness_crashed."""
    program = (
        "import os\nos.write(4, b'[' + b'[],' * 16000000 + b'[]]\\n')\ndef f(x):\n    return 0\n"
    )
    # time to send and decode it
    verifier = CodeVerifierV2(CodeConfig(case_timeout_s=10), sandbox=backend)
    assert_fails(verifier.verify(program, SQUARE), "huge load reply")


# ---------------------------------------------------------- runs that try to leave something behind
def test_processes_that_keep_changing_pid_do_not_outlive_the_run(v2):
    verdict = v2.verify(hopper_program(), SQUARE)
    assert_fails(verdict, "hopper")
    box = v2.sandbox()
    if not (isinstance(box, LocalSandbox) and box.separate_uid):
        return  # docker: a container whose processes survive is reported dirty and replaced
    try:
        seen, end = set(), time.monotonic() + 1.0
        while time.monotonic() < end:  # a hopping process is missed by one scan, not by many
            seen.update(leftover_local_processes())
        assert not seen, f"processes of the run survived it: {sorted(seen)[:5]}"
    finally:
        end = time.monotonic() + HOPPER_SECONDS + 5  # the hoppers end by themselves
        while leftover_local_processes() and time.monotonic() < end:
            time.sleep(0.2)


def test_nothing_planted_by_one_run_is_seen_by_the_next(v2):
    assert_fails(v2.verify(PLANT, SQUARE), "plant")
    for _ in range(3):  # docker: the next runs may land in the same warm container
        assert_fails(v2.verify(FIND_THE_PLANT, SQUARE), "find the plant")


def test_stopping_every_process_of_the_uid_is_a_timeout_not_an_error(backend):  # noqa: F811
    program = "import os, signal\ndef f(x):\n    os.kill(-1, signal.SIGSTOP)\n    return x * x\n"
    verifier = CodeVerifierV2(CodeConfig(case_timeout_s=1), sandbox=backend)
    verdict = verifier.verify(program, SQUARE)
    assert_fails(verdict, "sigstop -1")
    assert verifier.verify(HONEST_SQUARE, SQUARE).status is Status.PASS  # the sandbox recovered


# ---------------------------------------------------------------- the grader's own process
COMPILE_BOMB = textwrap.dedent("""\
    import resource, sys, json
    resource.setrlimit(resource.RLIMIT_AS, (1024 * 1024 * 1024,) * 2)
    from verifiers.code import CodeConfig, CodeVerifierV2
    from sandbox.local import LocalSandbox
    lines, indent = ["def g():"], "    "
    # each try/finally level doubles the bytecode: CPython duplicates finally bodies
    for _ in range(19):
        lines += [indent + "try:", indent + "    x = 1", indent + "finally:"]
        indent += "    "
    lines.append(indent + "x = 2")
    program = "\\n".join(lines) + "\\ndef f(x):\\n    return 0\\n"
    kind = sys.argv[1]
    box = LocalSandbox(uid_range=(int(sys.argv[2]), int(sys.argv[3]))) if kind == "local" else None
    verifier = CodeVerifierV2(CodeConfig(case_timeout_s=2, sandbox=kind), sandbox=box)
    verdict = verifier.verify(program, {"tests": "assert f(2) == 4", "entry_point": "f"})
    print(json.dumps([len(program), verdict.status.value, str(verdict.failure_reason)]))
    """)


# was: the grader compiled the program in its own process (compile()) before any sandbox: a 2.9 KB
# program of 19 nested try/finally compiles to ~11 MB of bytecode, ~1.5 GB and ~3 s in the grader.
# code@2 only parses it there (symtable); the sandbox compiles it.
def test_a_program_that_is_costly_to_compile_does_not_exhaust_the_grader(backend):  # noqa: F811
    kind = "local" if isinstance(backend, LocalSandbox) else "docker"
    done = subprocess.run(
        [sys.executable, "-c", COMPILE_BOMB, kind, str(TEST_UIDS[0]), str(TEST_UIDS[1])],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=os.getcwd(),
    )
    assert done.returncode == 0, done.stderr[-2000:]
    size, status, reason = __import__("json").loads(done.stdout.strip().splitlines()[-1])
    assert size < 4000
    assert status == "fail", (status, reason)

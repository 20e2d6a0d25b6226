"""code@1 and code@2 cannot be fooled: every attempt to fake a pass ends as a fail, on every
backend.

The tests expect ``f(2) == 4`` and ``f(3) == 9`` (squares); every cheat below returns wrong
values or none, while trying to make the grader believe the tests passed. :data:`CHEATS` and
:data:`STDIO_CHEATS` run against both versions; :data:`V2_CHEATS` (each with its own tests)
attack what is new in code@2: a test process next to the candidate's, proxies, name binding.
"""

from __future__ import annotations

import pytest
from code_backends import backend, leftover_local_processes  # noqa: F401 - fixture

from sandbox.local import LocalSandbox
from verifiers import Status
from verifiers.code import CodeConfig, CodeVerifier, CodeVerifierV2

SQUARE = {
    "tests": "assert f(2) == 4\nassert f(3) == 9\nassert isinstance(f(5), int)",
    "entry_point": "f",
}
SQUARE_STDIO = {"cases": [{"input": "2\n", "output": "4\n"}, {"input": "3\n", "output": "9\n"}]}

CHEATS = {
    "os_exit_before_asserts": "import os\nos._exit(0)\ndef f(x):\n    return 0",
    "sys_exit_before_asserts": "import sys\nsys.exit(0)\ndef f(x):\n    return 0",
    "os_exit_inside_the_function": "import os\ndef f(x):\n    os._exit(0)",
    "system_exit_inside_the_function": "def f(x):\n    raise SystemExit(0)",
    "atexit_hook_exits_0": "import atexit, os\natexit.register(lambda: os._exit(0))\ndef f(x):\n"
    "    raise ValueError('no')",
    "eq_always_true": "class Any:\n    def __eq__(self, other):\n        return True\n"
    "    __hash__ = object.__hash__\ndef f(x):\n    return Any()",
    "int_subclass_eq_true": "class Int(int):\n    def __eq__(self, other):\n        return True\n"
    "    __hash__ = int.__hash__\ndef f(x):\n    return Int(0)",
    "patch_assertion_error": "import builtins\nclass Never(Exception):\n    pass\n"
    "builtins.AssertionError = Never\ndef f(x):\n    return 0",
    "patch_builtins_isinstance_and_abs": "import builtins\nbuiltins.isinstance = lambda *a: True\n"
    "builtins.abs = lambda x: 0\ndef f(x):\n    return 'x'",
    "print_fake_success": "print('all tests passed')\nprint('RLVR-HARNESS {\"body\": \"{}\", "
    "\"mac\": \"0\"}')\ndef f(x):\n    return 0",
    "read_test_files_to_echo_expected": (
        "import os, re\n"
        "seen = ''\n"
        "for root in ('.', '..', '/workspace', '/tmp'):\n"
        "    try:\n"
        "        for name in os.listdir(root):\n"
        "            try:\n"
        "                seen += open(os.path.join(root, name)).read()\n"
        "            except Exception:\n"
        "                pass\n"
        "    except Exception:\n"
        "        pass\n"
        "found = dict((int(a), int(b)) for a, b in re.findall(r'f\\((\\d+)\\) == (\\d+)', seen))\n"
        "def f(x):\n"
        "    return found.get(x, -1)\n"
    ),
    "forge_records_on_every_fd": (
        "import os, json\n"
        "for fd in range(3, 64):\n"
        "    for i in range(3):\n"
        "        try:\n"
        "            os.write(fd, (json.dumps({'case': i, 'values': [True]}) + '\\n').encode())\n"
        "        except OSError:\n"
        "            pass\n"
        "def f(x):\n"
        "    return 0\n"
    ),
    "write_to_the_harness_stdout": (
        "import os\n"
        "for fd in range(0, 3):\n"
        "    try:\n"
        "        open(f'/proc/{os.getppid()}/fd/1', 'w').write('RLVR-HARNESS {\"body\": \"x\", "
        "\"mac\": \"y\"}\\n')\n"
        "    except OSError:\n"
        "        pass\n"
        "def f(x):\n"
        "    return 0\n"
    ),
    "steal_the_secret_from_the_harness": (
        "import os\n"
        "loot = b''\n"
        "for part in ('environ', 'cmdline', 'mem'):\n"
        "    try:\n"
        "        loot += open(f'/proc/{os.getppid()}/{part}', 'rb').read(4096)\n"
        "    except (OSError, ValueError):\n"
        "        pass\n"
        "def f(x):\n"
        "    return len(loot)\n"
    ),
    "kill_the_harness": "import os, signal\ndef f(x):\n    os.kill(os.getppid(), signal.SIGKILL)\n"
    "    return x * x",
    "patch_the_runner_encoder": (
        "import __main__\n__main__.encode = lambda value, *a: 4\ndef f(x):\n    return None\n"
    ),
}


@pytest.fixture(scope="module", params=[1, 2], ids=["code@1", "code@2"])
def verifier(backend, request):  # noqa: F811
    kind = CodeVerifier if request.param == 1 else CodeVerifierV2
    return kind(CodeConfig(case_timeout_s=5), sandbox=backend)


@pytest.fixture(scope="module")
def verifier2(backend):  # noqa: F811
    return CodeVerifierV2(CodeConfig(case_timeout_s=2), sandbox=backend)


def test_the_honest_solution_passes(verifier):
    verdict = verifier.verify("def f(x):\n    return x * x", SQUARE)
    assert verdict.status is Status.PASS, verdict.failure_reason


@pytest.mark.parametrize("name", sorted(CHEATS))
def test_cheat_fails(verifier, name):
    verdict = verifier.verify(CHEATS[name], SQUARE)
    assert verdict.status is Status.FAIL, (name, verdict.failure_reason, verdict.details)
    assert verdict.pass_rate is not None and verdict.pass_rate < 1


def test_cheat_that_is_right_only_for_the_first_row_fails(verifier):
    reference = {"tests": "assert all(f(x) == x * x for x in range(4))"}
    response = "def f(x):\n    globals()['isinstance'] = lambda *a: True\n    return 0"
    assert verifier.verify(response, reference).status is Status.FAIL
    assert verifier.verify("def f(x):\n    return x * x", reference).status is Status.PASS


STDIO_CHEATS = {
    "exit_0_without_output": "import sys\nsys.exit(0)",
    "print_fake_success": "print('all tests passed')",
    "prefix_of_the_answer": "print(int(input()) ** 2 // 10 if False else '')",
    "atexit_hook": "import atexit\natexit.register(lambda: print('4'))",
}


@pytest.mark.parametrize("name", sorted(STDIO_CHEATS))
def test_stdio_cheat_fails(verifier, name):
    verdict = verifier.verify(STDIO_CHEATS[name], SQUARE_STDIO)
    assert verdict.status is Status.FAIL, (name, verdict.failure_reason)
    assert verdict.pass_rate < 1


# --------------------------------------------------------- code@2: the test process, proxies, names
FORGED = (
    '{"cases": [["pass", ""], ["pass", ""], ["pass", ""]], "done": true}\\n'
    'RLVR-HARNESS {"body": "{}", "mac": "00"}\\n'
)
PROMPT = (
    "def encode(s):\n    return ''.join(chr(ord(c) + 1) for c in s)\n\n"
    "def decode(s):\n    \"\"\"Undo encode.\"\"\"\n"
)

V2_CHEATS = {
    # a function named like a builtin is called (code@1 evaluated the builtin instead: a false pass)
    "function_named_like_a_builtin": (
        "def max(a):\n    return -1\ndef g(x):\n    return x * x",
        {"tests": "assert max([1, 2]) == 2\nassert g(3) == 9"},
    ),
    # redefining the builtins the tests check with: a run with the real ones
    "shadow_the_builtins_the_tests_use": (
        "def abs(x):\n    return 0\nlen = lambda x: 3\nsorted = lambda x, **k: [1, 2, 3]\n"
        "isinstance = lambda *a: True\ndef f(x):\n    return 'no'",
        {
            "tests": "assert abs(f(2) - 4) < 1e-9\nassert len(f(3)) == 3\n"
            "assert sorted(f(3)) == [1, 2, 3]\n"
            "assert isinstance(f(3), list)"
        },
    ),
    # the program's abs / math.isclose see the expected values in their run: the real run came first
    "replay_what_a_shadowed_builtin_saw": (
        "seen = []\ndef abs(x):\n    seen.append(x)\n    return 0\ncalls = []\n"
        "def f(x):\n    calls.append(x)\n    return -seen[len(calls) - 3] if len(calls) > 2 else 0",
        {"tests": "assert abs(f(2) - 4) < 1e-9\nassert abs(f(3) - 9) < 1e-9"},
    ),
    "replay_what_a_fake_module_saw": (
        "seen = []\nclass math:\n    @staticmethod\n    def isclose(a, b, **k):\n"
        "        seen.append(b)\n        return True\n"
        "calls = []\ndef f(x):\n    calls.append(x)\n    return seen[len(calls) - 3] if len(calls) "
        "> 2 else 0",
        {
            "tests": "assert math.isclose(f(2), 1.41421, rel_tol=1e-4)\n"
            "assert math.isclose(f(3), 1.73205, rel_tol=1e-4)"
        },
    ),
    "shadow_a_test_helper": (
        "def near(a, b):\n    return True\ndef f(x):\n    return 0",
        {
            "tests": "def near(a, b):\n    return abs(a - b) < 1e-9\nassert near(f(2), 4)\n"
            "assert near(f(3), 9)"
        },
    ),
    "redefine_the_prompts_helper": (
        "def encode(s):\n    return s\ndef decode(s):\n    return s",
        {
            "prompt": PROMPT,
            "entry_point": "decode",
            "tests": "def check(candidate):\n    for s in ['abc', 'xyz']:\n"
            "        assert candidate(encode(s)) == s\n",
        },
    ),
    "fake_a_module_the_tests_rely_on": (
        "class math:\n    isclose = staticmethod(lambda *a, **k: True)\ndef f(x):\n    return 0",
        {"tests": "assert math.isclose(f(2), 1.41421, rel_tol=1e-4)"},
    ),
    "alias_a_module_under_the_name_the_tests_use": (
        "import fractions as math\nmath.isclose = lambda *a, **k: True\ndef f(x):\n    return 0",
        {"tests": "assert math.isclose(f(2), 1.41421, rel_tol=1e-4)"},
    ),
    "monkeypatch_modules_the_tests_import": (
        "import math, builtins, operator\nmath.isclose = lambda *a, **k: True\n"
        "builtins.abs = lambda x: 0\n"
        "operator.eq = lambda a, b: True\ndef f(x):\n    return 0",
        {
            "tests": "import math, operator\nassert math.isclose(f(2), 1.41421, rel_tol=1e-4)\n"
            "assert abs(f(2) - 4) < 1e-9\n"
            "assert operator.eq(f(3), 9)"
        },
    ),
    "objects_whose_eq_bool_hash_lie": (
        "class Liar:\n    def __eq__(self, other):\n        return True\n"
        "    def __ne__(self, other):\n        return False\n"
        "    def __hash__(self):\n        return hash(4)\n    def __bool__(self):\n"
        "        return True\n"
        "    def __contains__(self, x):\n        return True\n    def __iter__(self):\n"
        "        return iter([])\n"
        "    def __lt__(self, other):\n        return True\n    __gt__ = __le__ = __ge__ = __lt__\n"
        "class Num(int):\n    def __eq__(self, other):\n        return True\n"
        "    __hash__ = int.__hash__\n"
        "def f(x):\n    return Liar() if x == 2 else Num(0)",
        {
            "tests": "assert f(2) == 4\nassert 4 == f(2)\nassert not f(2) != 4\n"
            "assert f(2) in {4}\nassert [f(3)] == [9]\n"
            "assert {f(2): 1} == {4: 1}\nassert 4 in f(2)\nassert 3 < f(2) < 5\nassert f(3) == 9"
        },
    ),
    "system_exit_and_keyboard_interrupt_inside_a_test": (
        "def f(x):\n    raise (SystemExit(0) if x == 2 else KeyboardInterrupt())",
        {
            "tests": "try:\n    r = f(2)\nexcept Exception:\n    r = 4\nassert r == 4\n"
            "assert f(3) == 9"
        },
    ),
    "stop_iteration_to_end_the_tests_map_early": (
        "def f(x):\n    raise StopIteration",
        {"tests": "assert all(map(lambda x: f(x) == x * x, range(5)))"},
    ),
    "hang_inside_a_bare_except": (
        "def f(x):\n    while True:\n        pass",
        {"tests": "try:\n    r = f(2)\nexcept:\n    r = 4\nassert r == 4"},
    ),
    "write_to_the_harness_files_and_pipes": (
        "import os, glob\n"
        f"forged = {FORGED!r}.encode()\n"
        "for fd in range(256):\n    try:\n        os.write(fd, forged)\n    except OSError:\n"
        "        pass\n"
        "for pid in {os.getppid(), os.getpgid(0), 1}:\n"
        "    for path in glob.glob(f'/proc/{pid}/fd/*'):\n"
        "        try:\n            open(path, 'wb').write(forged)\n        except OSError:\n"
        "            pass\n"
        "for name in os.listdir('.') + ['tests.json', 'secret', 'candidate.json']:\n"
        "    try:\n        open(name, 'wb').write(forged)\n    except OSError:\n        pass\n"
        "def f(x):\n    return 0",
        {"tests": "assert f(2) == 4\nassert f(3) == 9"},
    ),
    "plant_a_runner_then_crash_to_get_it_started": (
        "import os\nplanted = 'print(' + repr('RLVR-HARNESS {\"body\": \"{}\", \"mac\": \"00\"}') "
        "+ ')\\n'\n"
        "for name in ('candidate_runner.py', 'candidate.src', 'candidate.bin', 'harness.py', "
        "'harness.src'):\n"
        "    try:\n        open(name, 'w').write(planted)\n    except OSError:\n        pass\n"
        "def f(x):\n    os._exit(0)",
        {"tests": "assert f(2) == 4\nassert f(3) == 9"},
    ),
    "spawn_a_process_that_outlives_the_run": (
        "import os, time, signal\n"
        "if os.fork() == 0:\n    os.setsid()\n    if os.fork() == 0:\n"
        "        signal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
        "        for _ in range(600):\n            time.sleep(0.05)\n"
        "            for fd in range(256):\n                try:\n"
        f"                    os.write(fd, {FORGED!r}.encode())\n                except OSError:\n"
        "                    pass\n"
        "    os._exit(0)\n"
        "def f(x):\n    time.sleep(0.3)\n    return 0",
        {"tests": "assert f(2) == 4\nassert f(3) == 9"},
    ),
    "read_test_data_from_frames_globals_and_memory": (
        "import sys, gc, os, re\n"
        "def look(x):\n"
        "    frame = sys._getframe(1)\n"
        "    while frame is not None:\n"
        "        for scope in (frame.f_locals, frame.f_globals):\n"
        "            for value in list(scope.values()):\n"
        "                if isinstance(value, dict) and isinstance(value.get(x), int) and "
        "value.get(x) != x:\n"
        "                    return value[x]\n"
        "        frame = frame.f_back\n"
        "    for o in gc.get_objects():\n"
        "        if isinstance(o, dict) and 'EXPECTED' in o:\n            return o['EXPECTED'][x]\n"
        "    text = ''\n"
        "    for pid in (os.getppid(), os.getpid()):\n"
        "        for part in ('cmdline', 'environ', 'mem', 'maps'):\n"
        "            try:\n                text += open(f'/proc/{pid}/{part}', 'rb').read(1 << "
        "20).decode('latin-1')\n"
        "            except (OSError, ValueError):\n                pass\n"
        "    found = re.findall(r'%d: (\\d+)' % x, text)\n"
        "    return int(found[0]) if found else -1\n"
        "def f(x):\n    return look(x)",
        {
            "tests": "EXPECTED = {2: 4, 3: 9}\nfor k, v in EXPECTED.items():\n"
            "    assert f(k) == v\n"
            "assert all(f(k) == v for k, v in [(4, 16), (5, 25)])"
        },
    ),
    "ptrace_the_test_process": (
        "import ctypes, os\nlibc = ctypes.CDLL(None, use_errno=True)\n"
        "def f(x):\n    attached = libc.ptrace(16, os.getppid(), 0, 0)  # PTRACE_ATTACH\n"
        "    return x * x if attached == 0 and x == 2 else -1",
        {"tests": "assert f(2) == 4\nassert f(3) == 9"},
    ),
    "kill_or_stop_the_test_process": (
        "import os, signal\ndef f(x):\n    os.kill(os.getppid(), signal.SIGSTOP if x == 2 else "
        "signal.SIGKILL)\n    return x * x",
        {"tests": "assert f(2) == 4\nassert f(3) == 9"},
    ),
    "forge_replies_on_its_own_pipe": (
        "import os\nfor _ in range(50):\n    os.write(4, b'{\"r\": 4}\\n{\"loaded\": {}}\\n')\n"
        "def f(x):\n    return 0",
        {"tests": "assert f(2) == 4\nassert f(3) == 9"},
    ),
    "huge_or_hostile_wrong_answers": (
        "class Bad:\n    def __repr__(self):\n        raise RuntimeError('no repr')\n"
        "    __str__ = __repr__\n"
        "def f(x):\n    return 10 ** 200000 if x == 2 else Bad()",
        {"tests": "assert f(2) == 4\nassert f(3) == 9"},
    ),
}


@pytest.mark.parametrize("name", sorted(V2_CHEATS))
def test_code_at_2_cheat_fails(verifier2, name):
    program, reference = V2_CHEATS[name]
    verdict = verifier2.verify(program, reference)
    assert verdict.status is Status.FAIL, (
        name,
        verdict.status,
        verdict.failure_reason,
        verdict.details.get("cases"),
    )
    assert verdict.pass_rate is not None and verdict.pass_rate < 1
    if isinstance(verifier2.sandbox(), LocalSandbox) and verifier2.sandbox().separate_uid:
        assert leftover_local_processes() == []


def test_the_honest_programs_for_the_code_at_2_cheats_pass(verifier2):
    assert (
        verifier2.verify(
            "def max(a):\n    return 2\ndef g(x):\n    return x * x",
            V2_CHEATS["function_named_like_a_builtin"][1],
        ).status
        is Status.PASS
    )
    assert (
        verifier2.verify(
            "def decode(s):\n    return ''.join(chr(ord(c) - 1) for c in s)",
            V2_CHEATS["redefine_the_prompts_helper"][1],
        ).status
        is Status.PASS
    )
    assert (
        verifier2.verify(
            "def f(x):\n    return x * x",
            V2_CHEATS["read_test_data_from_frames_globals_and_memory"][1],
        ).status
        is Status.PASS
    )


@pytest.mark.parametrize(
    "name", ["function_named_like_a_builtin", "read_test_data_from_frames_globals_and_memory"]
)
def test_the_code_at_1_false_passes_that_code_at_2_fixes(backend, name):  # noqa: F811
    """code@1 stays as it was (its golden table pins it): these two cheats pass there."""
    program, reference = V2_CHEATS[name]
    # code@1 takes only constant test data
    if name == "read_test_data_from_frames_globals_and_memory":
        program = "def f(x):\n    return globals()['EXPECTED'][x]"
        reference = {
            "tests": "EXPECTED = {2: 4, 3: 9}\nassert f(2) == EXPECTED[2]\n"
            "assert f(3) == EXPECTED[3]"
        }
    assert (
        CodeVerifier(CodeConfig(case_timeout_s=5), sandbox=backend)
        .verify(program, reference)
        .status
        is Status.PASS
    )
    assert (
        CodeVerifierV2(CodeConfig(case_timeout_s=5), sandbox=backend)
        .verify(program, reference)
        .status
        is Status.FAIL
    )

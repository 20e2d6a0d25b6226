"""code@1 cannot be fooled: every attempt to fake a pass ends as a fail, on every backend.

The tests expect ``f(2) == 4`` and ``f(3) == 9`` (squares); every cheat below returns wrong
values or none, while trying to make the grader believe the tests passed.
"""

from __future__ import annotations

import pytest
from code_backends import backend  # noqa: F401 - fixture

from verifiers import Status
from verifiers.code import CodeConfig, CodeVerifier

SQUARE = {"tests": "assert f(2) == 4\nassert f(3) == 9\nassert isinstance(f(5), int)", "entry_point": "f"}
SQUARE_STDIO = {"cases": [{"input": "2\n", "output": "4\n"}, {"input": "3\n", "output": "9\n"}]}

CHEATS = {
    "os_exit_before_asserts": "import os\nos._exit(0)\ndef f(x):\n    return 0",
    "sys_exit_before_asserts": "import sys\nsys.exit(0)\ndef f(x):\n    return 0",
    "os_exit_inside_the_function": "import os\ndef f(x):\n    os._exit(0)",
    "system_exit_inside_the_function": "def f(x):\n    raise SystemExit(0)",
    "atexit_hook_exits_0": "import atexit, os\natexit.register(lambda: os._exit(0))\ndef f(x):\n    raise ValueError('no')",
    "eq_always_true": "class Any:\n    def __eq__(self, other):\n        return True\n    __hash__ = object.__hash__\ndef f(x):\n    return Any()",
    "int_subclass_eq_true": "class Int(int):\n    def __eq__(self, other):\n        return True\n    __hash__ = int.__hash__\ndef f(x):\n    return Int(0)",
    "patch_assertion_error": "import builtins\nclass Never(Exception):\n    pass\nbuiltins.AssertionError = Never\ndef f(x):\n    return 0",
    "patch_builtins_isinstance_and_abs": "import builtins\nbuiltins.isinstance = lambda *a: True\nbuiltins.abs = lambda x: 0\ndef f(x):\n    return 'x'",
    "print_fake_success": "print('all tests passed')\nprint('RLVR-HARNESS {\"body\": \"{}\", \"mac\": \"0\"}')\ndef f(x):\n    return 0",
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
        "    return found.get(x, -1)\n"),
    "forge_records_on_every_fd": (
        "import os, json\n"
        "for fd in range(3, 64):\n"
        "    for i in range(3):\n"
        "        try:\n"
        "            os.write(fd, (json.dumps({'case': i, 'values': [True]}) + '\\n').encode())\n"
        "        except OSError:\n"
        "            pass\n"
        "def f(x):\n"
        "    return 0\n"),
    "write_to_the_harness_stdout": (
        "import os\n"
        "for fd in range(0, 3):\n"
        "    try:\n"
        "        open(f'/proc/{os.getppid()}/fd/1', 'w').write('RLVR-HARNESS {\"body\": \"x\", \"mac\": \"y\"}\\n')\n"
        "    except OSError:\n"
        "        pass\n"
        "def f(x):\n"
        "    return 0\n"),
    "steal_the_secret_from_the_harness": (
        "import os\n"
        "loot = b''\n"
        "for part in ('environ', 'cmdline', 'mem'):\n"
        "    try:\n"
        "        loot += open(f'/proc/{os.getppid()}/{part}', 'rb').read(4096)\n"
        "    except (OSError, ValueError):\n"
        "        pass\n"
        "def f(x):\n"
        "    return len(loot)\n"),
    "kill_the_harness": "import os, signal\ndef f(x):\n    os.kill(os.getppid(), signal.SIGKILL)\n    return x * x",
    "patch_the_runner_encoder": (
        "import __main__\n"
        "__main__.encode = lambda value, *a: 4\n"
        "def f(x):\n"
        "    return None\n"),
}


@pytest.fixture(scope="module")
def verifier(backend):  # noqa: F811
    return CodeVerifier(CodeConfig(case_timeout_s=5), sandbox=backend)


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

"""The zygote fast path: ``python3 FILE.py`` runs are forked from a pristine interpreter, and a
program cannot tell them from an exec'd ``python3`` (except for the few documented differences)."""

from __future__ import annotations

import json

import pytest

from sandbox import Limits, StopReason

pytestmark = pytest.mark.docker

FORKED = "import sys\nprint(sys._getframe().f_back is not None)\n"
"""Prints True when the program runs under the zygote's ``run_main`` frame (the fast path)."""

OBSERVE = r'''
import os, resource, signal, sys
print(sys.flags)
print(sys.orig_argv, sys.argv, __file__, sys.path, type(__loader__).__name__, __cached__, __spec__,
      __package__)
print(hash("abc"), sorted(os.environ.items()))
print(sys.stdout, sys.stdout.buffer, sys.stdout.write_through, sys.stdin.buffer, sys.stderr.errors,
      sys.stdin.errors)
print(sorted(sys.modules))
print(sorted(globals()))
print(os.getcwd(), os.getsid(0) == os.getpid(), open("/proc/self/oom_score_adj").read().strip())
print([resource.getrlimit(x)
       for x in (resource.RLIMIT_CPU, resource.RLIMIT_FSIZE, resource.RLIMIT_NOFILE)])
print(sorted(os.listdir("/proc/self/fd")),
      [signal.getsignal(s) for s in (signal.SIGINT, signal.SIGPIPE)])
print(sys.stdin.read())
'''

SAME_AS_EXEC = {
    "exit code": "import sys\nsys.exit(3)\n",
    "exit message": "import sys\nsys.exit('bye')\n",
    "exit None": "raise SystemExit\n",
    "traceback": "def f():\n    raise ValueError('x')\nf()\n",
    "chained": "try:\n    1 / 0\nexcept ZeroDivisionError:\n    raise KeyError('k')\n",
    "syntax error": "x = (\n",
    "stdin and stderr": "import sys\nprint(sys.stdin.read().upper())\n"
    "print('err', file=sys.stderr)\n",
    "atexit and no newline": "import atexit\natexit.register(lambda: print('bye'))\n"
    "print('a', end='')\n",
    "main guard and pickle": "import pickle\ndef f():\n    return 1\nif __name__ == '__main__':\n"
    "    print(pickle.loads(pickle.dumps(f))())\n",
    "threads are joined": "import threading, time\n"
    "threading.Thread(target=lambda: (time.sleep(0.2), print('t'))).start()\n",
    "coding cookie": "# -*- coding: latin-1 -*-\nprint(len('\xe9'))\n",
}


def both_paths(box, source, argv=("main.py",), **kwargs):
    files = {"main.py": source.encode("latin-1") if "latin-1" in source else source}
    fast = box.run(["python3", *argv], files=files, **kwargs)
    exec_path = box.run(
        ["sh", "-c", 'unset PWD; exec python3 "$@"', "sh", *argv], files=files, **kwargs
    )
    return fast, exec_path


def test_plain_python_runs_take_the_fast_path_and_others_do_not(docker_box):
    def forked(argv, **files):
        return docker_box.run(argv, files={"main.py": FORKED, "prog": FORKED, **files}).stdout

    assert forked(["python3", "main.py"]) == b"True\n"
    assert forked(["python3", "-u", "-B", "main.py", "x"]) == b"True\n"
    assert forked(["python3", "-I", "main.py"]) == b"False\n"  # other flags: a fresh interpreter
    assert forked(["python3", "prog"]) == b"False\n"  # not a .py file: could be a zip application
    # user site to read
    assert forked(["python3", "main.py"], **{".local/lib/x.pth": ""}) == b"False\n"
    assert forked(["sh", "-c", "exec python3 main.py"]) == b"False\n"
    assert docker_box.run(["python3", "-c", FORKED]).stdout == b"False\n"


def test_the_program_sees_what_a_fresh_interpreter_shows(docker_box):
    fast, exec_path = both_paths(docker_box, OBSERVE, argv=("main.py", "a1"), stdin=b"in")
    assert fast.exit_code == 0, fast.stderr
    assert fast.stdout.decode() == exec_path.stdout.decode()


@pytest.mark.parametrize("source", SAME_AS_EXEC.values(), ids=SAME_AS_EXEC.keys())
def test_exit_status_and_output_match_the_exec_path(docker_box, source):
    fast, exec_path = both_paths(docker_box, source, stdin=b"abc")
    assert (fast.stop, fast.exit_code, fast.stdout, fast.stderr) == (
        exec_path.stop,
        exec_path.exit_code,
        exec_path.stdout,
        exec_path.stderr,
    )


def test_limits_timeouts_and_kills_apply_to_forked_runs(docker_box):
    assert (
        docker_box.run(
            ["python3", "main.py"],
            files={"main.py": "while True:\n    pass\n"},
            limits=Limits(wall_s=1),
        ).stop
        is StopReason.TIMEOUT
    )
    killed = docker_box.run(
        ["python3", "main.py"], files={"main.py": "import os\nos.kill(os.getpid(), 9)\n"}
    )
    assert (killed.stop, killed.exit_code) == (StopReason.KILLED, None)


@pytest.fixture(scope="module")
def single_box(docker_client):
    from sandbox.docker.backend import DockerSandbox

    box = DockerSandbox(pool_size=1, client=docker_client)
    yield box
    box.close()


ZYGOTE_PIDS = r'''
import os
print(json.dumps([
    int(p) for p in os.listdir("/proc")
    if p.isdigit() and int(p) not in (1, os.getpid())
    and b"JOB = serve(" in open("/proc/%s/cmdline" % p, "rb").read()
]))
'''


def zygote_pids(box):
    return json.loads(
        box.run(["python3", "main.py"], files={"main.py": "import json" + ZYGOTE_PIDS}).stdout
    )


def test_the_zygote_cannot_be_read_or_traced(single_box):
    (pid,) = zygote_pids(single_box)
    source = (
        f"import ctypes\nfor p in ('/proc/{pid}/mem', '/proc/{pid}/environ', '/proc/{pid}/fd/3'):\n"
        "    try:\n        open(p, 'rb').read(1); print('read', p)\n"
        "    except OSError:\n        print('denied')\n"
        f"print(ctypes.CDLL(None, use_errno=True).ptrace(16, {pid}, None, None))\n"
    )
    result = single_box.run(["python3", "main.py"], files={"main.py": source})
    assert result.stdout == b"denied\ndenied\ndenied\n-1\n"


@pytest.mark.parametrize("signal_name", ["SIGKILL", "SIGSTOP", "SIGTERM"])
def test_a_zygote_the_run_signalled_is_replaced(single_box, signal_name):
    ids = single_box.pool.container_ids()
    (pid,) = zygote_pids(single_box)
    attack = (
        f"import os, signal, time\nos.kill({pid}, signal.{signal_name})\n"
        "time.sleep(0.1)\nprint('sent')\n"
    )
    assert single_box.run(["python3", "main.py"], files={"main.py": attack}).stdout == b"sent\n"
    (new,) = zygote_pids(single_box)
    assert new != pid
    assert single_box.run(["python3", "main.py"], files={"main.py": FORKED}).stdout == b"True\n"
    assert single_box.pool.container_ids() == ids  # repaired in place


def test_modules_imported_by_one_run_are_gone_in_the_next(single_box):
    single_box.run(["python3", "main.py"], files={"main.py": "import json, decimal\n"})
    result = single_box.run(
        ["python3", "main.py"], files={"main.py": "import sys\nprint('json' in sys.modules)\n"}
    )
    assert result.stdout == b"False\n"


def test_many_runs_on_both_paths_leak_no_descriptors(single_box):
    # the container's RLIMIT_NOFILE is 80 here: a descriptor leaked per run would exhaust it
    limits = Limits(open_files=8)
    for _ in range(80):
        for python in ("python3", "/usr/bin/python3"):
            result = single_box.run(
                [python, "main.py"], files={"main.py": "print(1)"}, limits=limits
            )
            assert (result.stop, result.stdout) == (StopReason.EXITED, b"1\n"), result

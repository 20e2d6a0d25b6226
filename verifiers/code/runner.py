"""Candidate-side runner (sent into the sandbox after :mod:`verifiers.code.wire`, in one file).

It runs in the *untrusted* child process next to the candidate's code, so nothing here is
trusted: it loads the program, evaluates each test's call expressions ("units"), and writes the
encoded values, one JSON line per test case, to the result pipe whose number is ``argv[1]``.
Expected values never reach this process; comparisons happen in the grader.
"""

import json
import os
import sys

MAX_MESSAGE = 300


def _describe(exc):
    try:
        message = str(exc)[:MAX_MESSAGE]
    except BaseException:
        message = "<unprintable exception>"
    try:
        kind = type(exc).__name__
    except BaseException:
        kind = "BaseException"
    return {"type": str(kind)[:100], "message": message}


def _emit(fd, record):
    data = (json.dumps(record, separators=(",", ":")) + "\n").encode()
    while data:
        data = data[os.write(fd, data) :]


def _evaluate(units, namespace):
    values = []
    for unit in units:
        value = eval(compile(unit, "<test>", "eval"), namespace)
        try:
            values.append(encode(value))  # noqa: F821 - defined by wire.py, prepended to this file
        except WireError:  # noqa: F821
            raise
        except BaseException as exc:  # a hostile type whose attributes raise
            name = type(exc).__name__
            raise WireError("returned a value that cannot be inspected (%s)" % name)  # noqa: F821
    return values


def main():
    """Entry point of a fresh interpreter: ``python3 -I runner.py FD`` with the job on stdin."""
    fd = int(sys.argv[1])
    job = json.loads(sys.stdin.buffer.read().decode())
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    run(fd, job)


def run(fd, job):
    """Load the candidate, evaluate every case's units, write one line per case to ``fd``; exit."""
    namespace = {"__name__": "solution", "__builtins__": __builtins__}
    try:
        exec(compile(job["code"], "solution.py", "exec"), namespace)
        for line in job["setup"]:
            exec(compile(line, "<test setup>", "exec"), namespace)
    except BaseException as exc:
        _emit(fd, {"load_error": _describe(exc)})
        os._exit(0)
    _emit(fd, {"loaded": True})
    for index, units in enumerate(job["cases"], start=job["start"]):
        try:
            record = {"case": index, "values": _evaluate(units, namespace)}
        except WireError as exc:  # noqa: F821
            record = {
                "case": index,
                "error": {"type": "unsupported_value", "message": str(exc)[:MAX_MESSAGE]},
            }
        except BaseException as exc:
            record = {"case": index, "error": _describe(exc)}
        _emit(fd, record)
    os._exit(0)


if __name__ == "__main__":
    main()

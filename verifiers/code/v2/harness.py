"""The trusted in-sandbox harness of ``code@2`` (sent into the sandbox, after the test-process
files).

Run as ``python3 -I -S harness.py`` (a loader of this code, see :mod:`.run`) in a workspace
holding ``candidate.json`` (the program, the reference's ``test_setup_code``, limits),
``tests.json`` (the rewritten test program), ``secret`` (a per-run HMAC key) and the candidate
runner (``candidate_runner.py``, a loader of ``candidate.bin``/``candidate.src``). Order of events:

1. ignore SIGINT (the candidate may signal every process of its uid); read and delete
   ``candidate.json``; go non-dumpable (no ptrace, no ``/proc/<pid>/mem`` or
   ``/proc/<pid>/fd`` for same-uid processes; inherited by the test process). If that fails,
   nothing runs and the report says so (an ``error`` verdict, never an unprotected run);
2. fork the **test process** (:mod:`.testside`): it forks the first **candidate process**
   (blocked on a pipe), then reads and deletes ``tests.json``;
3. read and delete ``secret``, then tell the test process, which releases the candidate;
4. collect the test process's results (it reports after every top-level test statement) until it
   finishes or the run's deadline passes (then kill it and every candidate process it reported);
5. sign what it observed (HMAC-SHA256) and print one line ``RLVR-HARNESS <json>``.

So the candidate's process never held test material or the secret, the test process never held
the secret, and this process never held test material. Standard library only, Python >= 3.8.
"""

import os
import select
import signal
import time

try:
    from .client import ignore_raising_signals
    from .testside import test_process
    from .wire import dumps, loads
except ImportError:  # in the sandbox this file follows testside.py; the loader defines load_code
    pass

MARK = "RLVR-HARNESS "
JOB_FILE = "candidate.json"
SECRET_FILE = "secret"
MAX_RESULTS_LINE = 4 * 1024 * 1024


def main():
    # before anything forks: SIGINT from the candidate must not end the run in an error
    ignore_raising_signals()
    started = time.monotonic()
    job = loads(_read_and_delete(JOB_FILE))
    libc = _non_dumpable()
    collect_report = run_tests(job, libc, started + job["wall_s"]) if libc is not None else None
    secret = bytes.fromhex(_read_and_delete(SECRET_FILE))
    # fail closed: a dumpable test process could be read by the candidate
    if collect_report is None:
        report = {
            "last": {"internal": "the harness could not make itself non-dumpable (prctl)"},
            "stop": None,
        }
    else:
        report = collect_report()
    body = dumps({"results": report}, sort_keys=True)
    data = memoryview(
        (
            "\n" + MARK + dumps({"body": body, "mac": hmac_sha256(secret, body.encode())}) + "\n"
        ).encode()
    )
    while data:
        data = data[os.write(1, data) :]


def _read_and_delete(name):
    with open(name, "rb") as fh:
        text = fh.read().decode()
    os.unlink(name)
    return text


def run_tests(job, libc, deadline):
    """Fork the test process; the returned function releases it (once the secret is gone) and
    collects."""
    results_r, results_w = os.pipe()
    sync_r, sync_w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(results_r)
        os.close(sync_w)
        test_process(job, results_w, sync_r, libc, load_code("candidate"))
        os._exit(0)
    os.close(results_w)
    os.close(sync_r)

    def release_and_collect():
        os.write(sync_w, b"g")
        os.close(sync_w)
        return collect(results_r, pid, deadline)

    return release_and_collect


def collect(fd, pid, deadline):
    """The test process's last report, plus how it ended; kills what is left."""
    reader = _Lines(fd)
    stop = None
    while stop is None:
        stop = reader.read(deadline)
    _kill([pid] + reader.pids)
    if stop == "eof":
        stop = None if (reader.last or {}).get("done") else "crashed"
    return {"last": reader.last, "stop": stop}


class _Lines(object):
    """JSON lines from the test process: candidate pids, and reports (the last one counts)."""

    def __init__(self, fd):
        self.fd, self.pending, self.last, self.pids = fd, b"", None, []
        self.poller = select.poll()
        self.poller.register(fd, select.POLLIN)

    def read(self, deadline):
        """None to go on, else why reading stopped: eof, timeout or garbled."""
        wait = deadline - time.monotonic()
        if wait <= 0:
            return "timeout"
        if not self.poller.poll(int(wait * 1000) + 1):
            return None
        chunk = os.read(self.fd, 1 << 20)
        if not chunk:
            return "eof"
        *lines, self.pending = (self.pending + chunk).split(b"\n")
        if len(self.pending) > MAX_RESULTS_LINE:
            return "garbled"
        for line in lines:
            self._take(line)
        return None

    def _take(self, line):
        try:
            record = loads(line.decode())
        except ValueError:
            return
        if type(record) is dict and type(record.get("pid")) is int:
            self.pids.append(record["pid"])
        elif type(record) is dict:
            self.last = record


def _kill(pids):
    for pid in pids:
        for target in (
            lambda: os.killpg(pid, signal.SIGKILL),
            lambda: os.kill(pid, signal.SIGKILL),
        ):
            try:
                target()
            except OSError:
                pass
    try:
        os.waitpid(pids[0], 0)
    except OSError:
        pass


def hmac_sha256(key, message):
    """RFC 2104 HMAC-SHA256 (hex), on the builtin SHA-256 module: ``hashlib`` costs ~10 ms to
    import."""
    sha256 = _sha256()
    if len(key) > 64:
        key = sha256(key).digest()
    key = key.ljust(64, b"\0")
    inner = sha256(bytes(b ^ 0x36 for b in key) + message).digest()
    return sha256(bytes(b ^ 0x5C for b in key) + inner).hexdigest()


def _sha256():
    for module in ("_sha2", "_sha256"):  # Python >= 3.12, <= 3.11
        try:
            return __import__(module).sha256
        except ImportError:
            pass
    import hashlib

    return hashlib.sha256


def _non_dumpable():
    """PR_SET_DUMPABLE 0 for this process and its forks; the libc handle (None where ctypes is
    missing)."""
    try:
        import ctypes

        libc = ctypes.CDLL(None)
        if libc.prctl(4, 0, 0, 0, 0) != 0:  # PR_SET_DUMPABLE = 4
            return None
        return libc
    except Exception:
        return None


if __name__ == "__main__":
    main()

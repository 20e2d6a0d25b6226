"""The trusted in-sandbox harness of ``code@2`` (sent into the sandbox, after the test-process files).

Run as ``python3 -I -S harness.py`` (a loader of this code, see :mod:`.run`) in a workspace
holding ``candidate.json`` (the program, the reference's ``test_setup_code``, limits),
``tests.json`` (the rewritten test program), ``secret`` (a per-run HMAC key) and the candidate
runner (``candidate_runner.py``, a loader of ``candidate.bin``/``candidate.src``). Order of events:

1. read and delete ``candidate.json``; go non-dumpable (no ptrace, no ``/proc/<pid>/mem`` or
   ``/proc/<pid>/fd`` for same-uid processes; inherited by the test process);
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
    from .testside import test_process
    from .wire import dumps, loads
except ImportError:  # in the sandbox this file follows testside.py; the loader defines load_code
    pass

MARK = "RLVR-HARNESS "
JOB_FILE = "candidate.json"
SECRET_FILE = "secret"
MAX_RESULTS_LINE = 4 * 1024 * 1024


def main():
    started = time.monotonic()
    with open(JOB_FILE, "rb") as fh:
        job = loads(fh.read().decode())
    os.unlink(JOB_FILE)
    libc = _non_dumpable()
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
    with open(SECRET_FILE, "rb") as fh:
        secret = bytes.fromhex(fh.read().decode())
    os.unlink(SECRET_FILE)
    os.write(sync_w, b"g")
    os.close(sync_w)
    report = collect(results_r, pid, started + job["wall_s"])
    body = dumps({"results": report}, sort_keys=True)
    mac = hmac_sha256(secret, body.encode())
    data = memoryview(("\n" + MARK + dumps({"body": body, "mac": mac}) + "\n").encode())
    while data:
        data = data[os.write(1, data):]


def collect(fd, pid, deadline):
    """The test process's last report, plus how it ended; kills what is left."""
    last, pids, pending, stop = None, [], b"", None
    poller = select.poll()
    poller.register(fd, select.POLLIN)
    while True:
        wait = deadline - time.monotonic()
        if wait <= 0:
            stop = "timeout"
            break
        if not poller.poll(int(wait * 1000) + 1):
            continue
        chunk = os.read(fd, 1 << 20)
        if not chunk:
            break
        pending += chunk
        *lines, pending = pending.split(b"\n")
        if len(pending) > MAX_RESULTS_LINE:
            stop = "garbled"
            break
        for line in lines:
            try:
                record = loads(line.decode())
            except ValueError:
                continue
            if type(record) is not dict:
                continue
            if "pid" in record:
                pids.append(record["pid"])
            else:
                last = record
    _kill([pid] + pids)
    if stop is None and not (last or {}).get("done"):
        stop = "crashed"
    return {"last": last, "stop": stop}


def _kill(pids):
    for pid in pids:
        for target in (lambda: os.killpg(pid, signal.SIGKILL), lambda: os.kill(pid, signal.SIGKILL)):
            try:
                target()
            except OSError:
                pass
    try:
        os.waitpid(pids[0], 0)
    except OSError:
        pass


def hmac_sha256(key, message):
    """RFC 2104 HMAC-SHA256 (hex), on the builtin SHA-256 module: ``hashlib`` costs ~10 ms to import."""
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
    """PR_SET_DUMPABLE 0 for this process and its forks; the libc handle (None where ctypes is missing)."""
    try:
        import ctypes

        libc = ctypes.CDLL(None)
        libc.prctl(4, 0, 0, 0, 0)  # PR_SET_DUMPABLE = 4
        return libc
    except Exception:
        return None


if __name__ == "__main__":
    main()

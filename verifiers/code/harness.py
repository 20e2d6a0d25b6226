"""The trusted in-sandbox harness of ``code@1`` (this file's source is sent into the sandbox).

Run as ``python3 -I -S harness.py`` in the workspace, which holds ``job.json`` (what to run; no
expected values), ``secret`` (a per-run HMAC key) and ``runner.py`` (wire codec + runner). It:

1. reads and deletes ``job.json``; in ``python`` mode it forks the first candidate process
   *now*, before the secret exists in this process, so that process can never find it in memory;
   the child waits on a pipe until step 2 is done;
2. reads and deletes ``secret``, makes itself non-dumpable (no ptrace, no ``/proc/<pid>/mem``
   or ``/proc/<pid>/fd`` for same-uid processes) and lets the child go;
3. runs the test cases, each candidate process in its own session with an address-space limit:

   * ``python`` mode: the child loads the candidate's code and evaluates each test's call
     expressions, writing encoded values to a pipe, one line per case. A case that hangs,
     floods stdout or kills the child is recorded and a fresh interpreter (``exec``, so nothing
     of this process's memory survives) continues with the next case;
   * ``stdio`` mode: a fresh process per case runs the program with the case's input on stdin;
     its stdout (capped) is captured;

4. signs what it observed (HMAC-SHA256) and prints one line ``RLVR-HARNESS <json>``.

The grader verifies the signature and does every comparison itself; expected values never
enter the sandbox. Standard library only, Python >= 3.8; ``subprocess``/``selectors`` are avoided
because their import time dominates a short run.
"""

import json
import os
import resource
import select
import signal
import sys
import time

MARK = "RLVR-HARNESS "
JOB_FILE = "job.json"
SECRET_FILE = "secret"
STDERR_TAIL = 4096
MAX_RECORD = 4 * 1024 * 1024
RESULT_FD = 3


def main():
    with open(JOB_FILE, "rb") as fh:
        job = json.loads(fh.read().decode())
    os.unlink(JOB_FILE)
    first = Child.forked_runner(job) if job["mode"] == "python" and job["cases"] else None
    with open(SECRET_FILE, "rb") as fh:
        secret = bytes.fromhex(fh.read().decode())
    os.unlink(SECRET_FILE)
    _non_dumpable()
    if first is not None:
        first.release()
    results = run_python(job, first) if job["mode"] == "python" else run_stdio(job)
    body = json.dumps({"results": results}, sort_keys=True, separators=(",", ":"))
    mac = hmac_sha256(secret, body.encode())
    data = memoryview(("\n" + MARK + json.dumps({"body": body, "mac": mac}) + "\n").encode())
    while data:
        data = data[os.write(1, data) :]


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
    try:
        import ctypes

        ctypes.CDLL(None).prctl(4, 0, 0, 0, 0)  # PR_SET_DUMPABLE = 4
    except Exception:
        pass


class Child:
    """One candidate process: pipes pumped without unbounded buffering, killable as a group."""

    def __init__(self, job, stdin_data=b"", result_pipe=False):
        self.job = job
        self.stdout = bytearray()
        self.stdout_bytes = 0
        self.stderr = bytearray()
        self.status = None
        self._partial = bytearray()
        self.pending = memoryview(stdin_data)
        self.fds = {}
        self._pipes(result_pipe)

    def _pipes(self, result_pipe):
        self.in_r, self.in_w = os.pipe()
        self.out_r, self.out_w = os.pipe()
        self.err_r, self.err_w = os.pipe()
        self.res_r, self.res_w = os.pipe() if result_pipe else (None, None)
        self.go_r, self.go_w = os.pipe()

    @classmethod
    def forked_runner(cls, job):
        """Fork the first runner now (no secret in memory yet); it waits for :meth:`release`."""
        child = cls(job, result_pipe=True)
        payload = {"code": job["code"], "setup": job["setup"], "cases": job["cases"], "start": 0}
        child._fork(lambda: _run_in_process(payload))
        return child

    @classmethod
    def exec_runner(cls, job, start):
        child = cls(
            job,
            json.dumps(
                {
                    "code": job["code"],
                    "setup": job["setup"],
                    "cases": job["cases"][start:],
                    "start": start,
                }
            ).encode(),
            result_pipe=True,
        )
        child._fork(lambda: _exec([sys.executable, "-I", "runner.py", str(RESULT_FD)]))
        child.release()
        return child

    @classmethod
    def exec_program(cls, job, argv, stdin_data):
        child = cls(job, stdin_data)
        argv = [a.replace("{python}", sys.executable) for a in argv]
        path = _which(argv[0])
        child._fork(lambda: _exec(argv, path))
        child.release()
        return child

    def _fork(self, body):
        memory = self.job["memory_mb"] * 1024 * 1024
        self.pid = os.fork()
        if self.pid == 0:  # the child: never returns
            try:
                os.setsid()
                os.dup2(self.in_r, 0)
                os.dup2(self.out_w, 1)
                os.dup2(self.err_w, 2)
                if self.res_w is not None:
                    os.dup2(self.res_w, RESULT_FD)
                go = os.dup(self.go_r)
                os.closerange(RESULT_FD + (1 if self.res_w is not None else 0), go)
                os.closerange(go + 1, 65536)
                if os.read(go, 1) != b"g":
                    os._exit(125)  # the harness died before releasing us
                os.close(go)
                resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
                body()
            except BaseException:
                pass
            os._exit(127)
        for fd in (self.in_r, self.out_w, self.err_w, self.res_w, self.go_r):
            if fd is not None:
                os.close(fd)

    def release(self):
        os.write(self.go_w, b"g")
        os.close(self.go_w)

    def kill(self):
        for target in (
            lambda: os.killpg(self.pid, signal.SIGKILL),
            lambda: os.kill(self.pid, signal.SIGKILL),
        ):
            try:
                target()
            except OSError:
                pass
        self._reap(block=True)
        for fd in (self.in_w, self.out_r, self.err_r, self.res_r):
            if fd is not None:
                try:
                    os.close(fd)
                except OSError:
                    pass

    def _reap(self, block=False):
        if self.status is None:
            try:
                pid, status = os.waitpid(self.pid, 0 if block else os.WNOHANG)
            except ChildProcessError:
                pid, status = self.pid, 0
            if pid:
                self.status = status
        return self.status is not None

    def pump(self, deadline, on_line=None):
        """Run until the child exits (``"exited"``), ``"timeout"`` or ``"output_limit"``.

        ``deadline`` is a callable giving the current deadline (it moves as cases finish).
        """
        poller = select.poll()
        names = {self.out_r: "stdout", self.err_r: "stderr"}
        if self.res_r is not None:
            names[self.res_r] = "result"
        for fd in names:
            poller.register(fd, select.POLLIN)
        if self.pending:
            os.set_blocking(self.in_w, False)
            poller.register(self.in_w, select.POLLOUT)
        else:
            os.close(self.in_w)
            self.in_w = None
        open_reads, exited_at = set(names), None
        while open_reads:
            now = time.monotonic()
            if now >= deadline():
                return "timeout"
            if exited_at is None and self._reap():
                exited_at = now
            if exited_at is not None and now - exited_at > 0.3:
                break
            wait = min(deadline() - now, 0.05 if exited_at else 0.5)
            for fd, _ in poller.poll(max(0, int(wait * 1000)) + 1):
                verdict = self._handle(poller, fd, names, open_reads, on_line)
                if verdict:
                    return verdict
        self._reap(block=True)
        return "exited"

    def _handle(self, poller, fd, names, open_reads, on_line):
        if fd == self.in_w:
            try:
                written = os.write(fd, self.pending[:65536])
            except OSError:
                written = len(self.pending)
            self.pending = self.pending[written:]
            if not self.pending:
                poller.unregister(fd)
                os.close(fd)
                self.in_w = None
            return None
        chunk = os.read(fd, 65536)
        if not chunk:
            poller.unregister(fd)
            open_reads.discard(fd)
            return None
        name = names[fd]
        if name == "stdout":
            self.stdout_bytes += len(chunk)
            self.stdout += chunk
            if self.stdout_bytes > self.job["output_bytes"]:
                return "output_limit"
        elif name == "stderr":
            self.stderr = (self.stderr + chunk)[-STDERR_TAIL:]
        else:
            self._partial += chunk
            if len(self._partial) > MAX_RECORD:
                return "output_limit"
            while b"\n" in self._partial:
                line, _, rest = bytes(self._partial).partition(b"\n")
                self._partial = bytearray(rest)
                on_line(line)
        return None

    def death(self):
        """How the child ended, as a result record (for a case it did not answer)."""
        status = self.status or 0
        last = _last_line(self.stderr)
        if os.WIFSIGNALED(status):
            sig = os.WTERMSIG(status)
            if sig == signal.SIGKILL:
                return {"status": "memory", "detail": "killed by SIGKILL (memory limit)"}
            return {"status": "crashed", "signal": sig, "detail": last}
        if last.startswith("MemoryError"):
            return {"status": "memory", "detail": last}
        return {"status": "crashed", "exit": os.WEXITSTATUS(status), "detail": last}

    @property
    def returncode(self):
        status = self.status or 0
        return -os.WTERMSIG(status) if os.WIFSIGNALED(status) else os.WEXITSTATUS(status)


def _run_in_process(payload):
    """Body of the pre-forked runner: load runner.py's code here and run the payload."""
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    with open("runner.py", "rb") as fh:
        source = fh.read()
    namespace = {"__name__": "rlvr_runner"}
    exec(compile(source, "runner.py", "exec"), namespace)
    namespace["run"](RESULT_FD, payload)


def _exec(argv, path=None):
    """Replace the forked child with ``argv`` (signals Python ignores are restored first)."""
    for sig in (signal.SIGPIPE, signal.SIGXFSZ):
        signal.signal(sig, signal.SIG_DFL)
    os.execv(path or argv[0], argv)


def _which(program):
    if "/" in program:
        return program
    for directory in os.environ.get("PATH", "/usr/bin:/bin").split(":"):
        path = os.path.join(directory, program)
        if os.access(path, os.X_OK):
            return path
    raise FileNotFoundError(program)


def _last_line(data):
    lines = bytes(data).decode("utf-8", "replace").strip().splitlines()
    return lines[-1][:300] if lines else ""


def run_python(job, first):
    cases = job["cases"]
    results = [None] * len(cases)
    start = 0
    child = first
    while start < len(cases):
        if child is None:
            child = Child.exec_runner(job, start)
        state = {"loaded": None, "deadline": time.monotonic() + job["case_timeout_s"]}

        def on_line(line, state=state, start=start):
            record = json.loads(line.decode())
            state["deadline"] = time.monotonic() + job["case_timeout_s"]
            if "loaded" in record or "load_error" in record:
                state["loaded"] = record
                return
            index = record.get("case")
            if type(index) is int and start <= index < len(cases) and results[index] is None:
                results[index] = (
                    {"status": "ok", "values": record["values"]}
                    if "values" in record
                    else {"status": "error", "error": record.get("error")}
                )

        try:
            how = child.pump(lambda: state["deadline"], on_line)
        except (ValueError, KeyError, TypeError, AttributeError):
            how = "garbled"
        child.kill()
        start = _settle_python(child, how, state, results, start)
        child = None
    return results


def _settle_python(child, how, state, results, start):
    """Fill in the first unanswered case (or all, when loading failed); return where to resume."""
    loaded = state["loaded"]
    if loaded is not None and "load_error" in loaded:
        failure = {"status": "load_error", "error": loaded["load_error"]}
    elif how == "timeout":
        failure = {"status": "timeout"}
    elif how == "output_limit":
        failure = {"status": "output_limit"}
    elif how == "garbled":
        failure = {"status": "crashed", "detail": "the result pipe carried malformed data"}
    else:
        failure = child.death()
    first = next((i for i in range(start, len(results)) if results[i] is None), len(results))
    if loaded is None or "load_error" in loaded:
        for i in range(first, len(results)):
            results[i] = dict(failure, at_load=True)
        return len(results)
    if first < len(results):
        results[first] = failure
    return first + 1


def run_stdio(job):
    with open(job["program_file"], "w", encoding="utf-8") as fh:
        fh.write(job["program"])
    if job.get("compile"):
        compiled = _compile(job)
        if compiled is not None:
            return [compiled for _ in job["cases"]]
    return [_stdio_case(job, case_input) for case_input in job["cases"]]


def _stdio_case(job, case_input):
    try:
        child = Child.exec_program(job, job["run"], case_input.encode())
    except FileNotFoundError as exc:
        return {"status": "toolchain_missing", "detail": "%s not found" % exc}
    deadline = time.monotonic() + job["case_timeout_s"]
    how = child.pump(lambda: deadline)
    child.kill()
    if how != "exited":
        return {"status": how}
    record = child.death() if child.returncode != 0 else {"status": "ok"}
    record["stdout"] = bytes(child.stdout).decode("utf-8", "replace")
    return record


def _compile(job):
    """Compile once (C, C++); a failure is the result of every case."""
    try:
        child = Child.exec_program(job, job["compile"], b"")
    except FileNotFoundError as exc:
        return {"status": "toolchain_missing", "detail": "%s not found" % exc}
    deadline = time.monotonic() + job["compile_timeout_s"]
    how = child.pump(lambda: deadline)
    child.kill()
    if how == "timeout":
        return {"status": "compile_error", "detail": "compilation timed out"}
    if child.returncode != 0:
        text = bytes(child.stderr).decode("utf-8", "replace")
        first = next((ln for ln in text.splitlines() if "error" in ln), text.strip()[:300])
        return {"status": "compile_error", "detail": first.split(": ", 1)[-1][:300]}
    return None


if __name__ == "__main__":
    main()

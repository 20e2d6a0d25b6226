"""``code@1`` and ``code@2``: run the program in a response against tests, in a sandbox (Docker or
local).

``code@2`` (:class:`CodeVerifierV2`, package :mod:`verifiers.code.v2`) runs assert-style tests
as a real program in a test process of its own; ``code@1`` (:class:`CodeVerifier`, described
below) stays registered and unchanged.

>>> from verifiers.code import CodeVerifier, CodeConfig
>>> CodeVerifier.name, CodeVerifier.version
('code', 1)

See :class:`CodeVerifier` for reference formats and failure codes.

Threat model
------------
The candidate program is hostile and knows this source code. It runs inside a sandbox
(:mod:`sandbox`) as an unprivileged user, next to a trusted harness (:mod:`.harness`) in the same
sandbox but in a different process. What must hold: **no program gets a ``pass`` without
producing the right values**, and none can hurt the host or other runs.

* *Exit status and output are not evidence.* The candidate's exit code is ignored; stdout in
  assert mode is ignored; a result counts only inside the harness's line, which is signed with
  HMAC-SHA256 and a 32-byte secret created per run by the grader.
* *The secret is out of reach.* It is written to a workspace file that the harness reads and
  deletes before any candidate code runs; the first candidate process is forked before the
  secret is read, later ones are fresh ``exec`` s; the harness is non-dumpable, so ``ptrace``,
  ``/proc/<harness>/mem`` and ``/proc/<harness>/fd`` are closed to same-uid processes. Killing or
  stopping the harness only removes the result: a ``fail`` (``no_result``) or ``timeout``.
* *Nothing to copy.* Expected values and test sources never enter the sandbox; the candidate sees
  only the call expressions it must evaluate (``f(2)``), so reading files or memory reveals nothing.
* *No comparison runs in the candidate's process.* Values cross the boundary as tagged JSON of
  exact builtin types (:mod:`.wire`; objects with custom ``__eq__``, subclasses of ``int``,
  generators are refused); every ``==``, ``abs``, ``isclose``, loop and ``all`` of a test runs in
  the grader (:mod:`.asserts`). Patching ``builtins``, ``AssertionError`` or the runner changes only
  the candidate's own answers.
* *Bounded.* Per-case wall time in the harness, whole-run wall time, memory, processes, output,
  file size and tmpfs size in the sandbox; a hung case is killed and the next case runs in a fresh
  process, so ``pass_rate`` stays meaningful.

Residual risks: the local backend without root runs the candidate as the grader's own user, so
the candidate could read the grader's memory (and the secret) - use root (per-run uid) or Docker
for untrusted code; a sandbox escape (kernel or Docker bug) is out of scope.
"""

from .cases import FAILURE_CODES, CaseResult
from .compare import compare_output
from .config import CodeConfig
from .extract import extract_program
from .verifier import CodeVerifier, open_default_sandbox
from .v2 import CodeVerifierV2

__all__ = [
    "CaseResult",
    "CodeConfig",
    "CodeVerifier",
    "CodeVerifierV2",
    "FAILURE_CODES",
    "compare_output",
    "extract_program",
    "open_default_sandbox",
]

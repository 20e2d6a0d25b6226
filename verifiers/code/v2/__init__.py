"""``code@2``: assert-style tests run as a real program in their own process, next to the
candidate's.

Grader side: :mod:`.plan` (check and rewrite the tests), :mod:`.run` (send, verify, judge),
:mod:`.verifier` (:class:`CodeVerifierV2`). Sent into the sandbox (standard library only):
:mod:`.wire` (values), :mod:`.candidate` (the candidate process), :mod:`.client`,
:mod:`.remote`, :mod:`.recorder`, :mod:`.testside` (the test process) and :mod:`.harness`.
"""

from .verifier import CodeVerifierV2

__all__ = ["CodeVerifierV2"]

"""Quality checks for verifiers: :func:`check_verifier` (registry, golden table, determinism,
pickling, time bound, reward-hacking probes) and :func:`audit_verifier` (false-pass and
false-fail rates with confidence intervals against a labelled set).

>>> from verifiers.qa import PROBES
>>> "empty" in [p.name for p in PROBES]
True
"""

from .audit import AuditReport, audit_verifier, wilson_interval
from .check import CheckReport, CheckResult, ProbeHit, VerifierCheckError, check_all, check_verifier
from .probes import PROBES, Probe, ProbeCase

__all__ = [
    "AuditReport",
    "CheckReport",
    "CheckResult",
    "PROBES",
    "Probe",
    "ProbeCase",
    "ProbeHit",
    "VerifierCheckError",
    "audit_verifier",
    "check_all",
    "check_verifier",
    "wilson_interval",
]

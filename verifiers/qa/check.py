"""``check_verifier``: what gymnasium's ``check_env`` is for environments, for verifiers.

It checks that a verifier is registered under its own name and version with a description and
a version history; that its golden table exists and agrees with it; that its verdicts are the
same in this process, in a freshly spawned one and after pickling; that hostile inputs come back
inside the batch grader's time bound; and that none of the reward-hacking probes in
:mod:`verifiers.qa.probes` passes on its own golden references.

>>> report = check_verifier("json_schema@1")  # doctest: +SKIP
>>> report.ok, [c.name for c in report.checks]  # doctest: +SKIP
(True, ['registry', 'golden', 'determinism', 'pickle', 'time_bound', 'probes'])

A plugin author runs it on their class (``golden_table = "golden.jsonl"`` on the class, or
``golden=`` here) and fails their CI with ``raise_on_failure=True``.
"""

from __future__ import annotations

import pickle
import re
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping, Sequence

from .. import registry
from ..errors import VerifierError
from ..executor import ProcessPoolExecutor
from ..grading import DEFAULT_TIMEOUT_S, GradeItem, grade_batch
from ..verdict import Verdict
from .golden import GoldenRow, GoldenTable, load_golden
from .probes import (
    JUNK_INPUTS,
    PROBES,
    Probe,
    ProbeCase,
    exempt_reason,
    hostile_inputs,
    probe_cases,
    spread,
    waiver_problems,
    waivers_for,
)

#: Error codes meaning the grader lost the item (a crash), not that the verifier judged it.
CRASH_CODES = frozenset(
    {"worker_crashed", "bad_worker_result", "unsendable_item", "verifier_crashed"}
)
EXCERPT = 160


class VerifierCheckError(VerifierError):
    """:func:`check_verifier` found problems (raised with ``raise_on_failure=True``); the message
    lists them."""


@dataclass(frozen=True)
class CheckResult:
    """One named check: ``ok``, a one-line ``detail`` and the individual problems found."""

    name: str
    ok: bool
    detail: str
    problems: tuple[str, ...] = ()
    fix: str = ""


@dataclass(frozen=True)
class ProbeHit:
    """A probe response that got reward (a ``pass``, or any score above 0): which probe, from which
    golden line."""

    probe: str
    line: int
    response_excerpt: str
    response_chars: int
    status: str
    score: float

    def __str__(self) -> str:
        return (
            f"{self.probe} (golden line {self.line}, {self.response_chars} chars): "
            f"{self.response_excerpt!r} -> {self.status}"
        )


@dataclass(frozen=True)
class CheckReport:
    """Everything :func:`check_verifier` found; ``ok`` when every check passed and no probe hit."""

    spec: str
    checks: tuple[CheckResult, ...]
    probe_hits: tuple[ProbeHit, ...] = ()
    probes_run: Mapping[str, int] = field(default_factory=dict)
    """Probe name -> number of responses graded."""
    probes_skipped: Mapping[str, str] = field(default_factory=dict)
    """Probe name -> why it could not be built for any golden reference; ``"line N"`` -> why no
    probe applies to the reference of golden line N."""
    probes_waived: Mapping[str, str] = field(default_factory=dict)
    """Probe name -> the verifier's documented reason for not applying it."""

    @property
    def ok(self) -> bool:
        return all(c.ok for c in self.checks)

    @property
    def failures(self) -> tuple[CheckResult, ...]:
        return tuple(c for c in self.checks if not c.ok)

    def to_dict(self) -> dict[str, Any]:
        return {
            "spec": self.spec,
            "ok": self.ok,
            "checks": [
                {
                    "name": c.name,
                    "ok": c.ok,
                    "detail": c.detail,
                    "problems": list(c.problems),
                    "fix": c.fix,
                }
                for c in self.checks
            ],
            "probe_hits": [vars(h).copy() for h in self.probe_hits],
            "probes_run": dict(self.probes_run),
            "probes_skipped": dict(self.probes_skipped),
            "probes_waived": dict(self.probes_waived),
        }

    def format(self, *, max_problems: int = 10) -> str:
        """A readable report: one line per check, then its problems and the fix."""
        lines = [f"{self.spec}: {'ok' if self.ok else 'FAILED'}"]
        for c in self.checks:
            lines.append(f"  [{'ok' if c.ok else 'FAIL'}] {c.name}: {c.detail}")
            lines += [f"      - {p}" for p in c.problems[:max_problems]]
            if len(c.problems) > max_problems:
                lines.append(f"      ... and {len(c.problems) - max_problems} more")
            if not c.ok and c.fix:
                lines.append(f"      fix: {c.fix}")
        lines += [f"  waived probe {name}: {why}" for name, why in self.probes_waived.items()]
        lines += [f"  skipped probe {name}: {why}" for name, why in self.probes_skipped.items()]
        return "\n".join(lines)

    __str__ = format


@dataclass(frozen=True)
class _Subject:
    """The verifier under check: its instance, class and the spec it claims."""

    instance: Any
    cls: type
    spec: str


def check_verifier(
    verifier: Any,
    *,
    golden: Any = None,
    probes: Sequence[Probe] = PROBES,
    workers: int = 2,
    timeout_s: float = DEFAULT_TIMEOUT_S,
    sample: int = 8,
    max_probe_cases: int | None = 40,
    raise_on_failure: bool = False,
) -> CheckReport:
    """Check ``verifier`` (an instance, a class, or a spec such as ``"math@2"``).

    Args:
        golden: the golden table (a JSONL path, or rows as dicts); default: the class's
            ``golden_table`` attribute, else the packaged ``verifiers/golden/<spec>.jsonl``.
        probes: the reward-hacking probes to apply (default: all of
            :data:`~verifiers.qa.probes.PROBES`).
        workers: worker processes for the batch grader (>= 1: the time bound is enforced by killing
            them).
        timeout_s: per-item time bound (the batch grader's default).
        sample: golden rows graded again for the determinism and pickle checks.
        max_probe_cases: golden references the probes are built from (``None``: all).
        raise_on_failure: raise :class:`VerifierCheckError` listing the failed checks.

    >>> from verifiers.base import BaseVerifier, Outcome
    >>> class Anything(BaseVerifier):
    ...     '''Passes everything. Versions: 1 - first version.'''
    ...     name, version, description = "anything", 1, "passes everything"
    ...     def check(self, response, reference):
    ...         return Outcome.passed()
    >>> rows = [{"reference": {"answer": "1"}, "response": "1", "status": "pass"},
    ...         {"reference": {"answer": "1"}, "response": "2", "status": "fail"}]
    >>> report = check_verifier(Anything(), golden=rows, workers=1)  # doctest: +SKIP
    >>> [c.name for c in report.failures]  # doctest: +SKIP
    ['registry', 'golden', 'probes']
    """
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise VerifierCheckError(
            f"workers={workers!r}: check_verifier grades in worker processes (>= 1), which "
            "is how the time bound is enforced on a verifier that hangs"
        )
    if not timeout_s > 0:
        raise VerifierCheckError(f"timeout_s={timeout_s!r} must be > 0 seconds")
    subject = _subject(verifier)
    table = load_golden(subject.spec, golden, subject.cls)
    rows = table.rows if table is not None else ()
    golden_check = _check_golden(subject, table, workers, timeout_s)
    picked = spread(rows, sample)
    here = [_verify(subject.instance, r) for r in picked]
    checks = [
        _check_registry(subject),
        golden_check,
        _check_determinism(subject, picked, here, timeout_s),
        _check_pickle(subject, picked, here),
        _check_time_bound(subject, rows, workers, timeout_s),
    ]
    probe_check, hits, run, skipped, waived = _check_probes(
        subject, rows, probes, workers, timeout_s, max_probe_cases
    )
    report = CheckReport(subject.spec, (*checks, probe_check), hits, run, skipped, waived)
    if raise_on_failure and not report.ok:
        raise VerifierCheckError(report.format())
    return report


def _subject(verifier: Any) -> _Subject:
    if isinstance(verifier, str):
        spec = registry.resolve(verifier)  # unknown names raise here, with "did you mean"
        return _Subject(registry.get(spec), registry.get_class(spec), spec)
    instance = verifier() if isinstance(verifier, type) else verifier
    cls = type(instance)
    spec = f"{getattr(cls, 'name', '') or '?'}@{getattr(cls, 'version', '?')}"
    return _Subject(instance, cls, spec)


# --- registry ---------------------------------------------------------------------------------


def _check_registry(subject: _Subject) -> CheckResult:
    problems = _identity_problems(subject.cls) or _registration_problems(subject)
    problems += _documentation_problems(subject.cls) + waiver_problems(subject.cls)
    detail = (
        "registered under its own name and version, documented"
        if not problems
        else f"{len(problems)} problem(s)"
    )
    return CheckResult(
        "registry",
        not problems,
        detail,
        tuple(problems),
        "give the class a non-empty name, an int version >= 1 and a description; register it "
        "with verifiers.register (or the 'rlvr.verifiers' entry point); end its docstring with "
        "'Versions: 1 - first version.' listing every version",
    )


def _identity_problems(cls: type) -> list[str]:
    try:
        registry._validate_class(cls)
    except VerifierError as exc:
        return [str(exc)]
    return []


def _registration_problems(subject: _Subject) -> list[str]:
    try:
        registered = registry.get_class(subject.spec)
    except VerifierError as exc:
        return [f"{subject.spec} is not registered ({exc})"]
    if registered is not subject.cls:
        return [
            f"{subject.spec} is registered to {registered.__module__}.{registered.__qualname__}, "
            f"not to {subject.cls.__module__}.{subject.cls.__qualname__}"
        ]
    return []


def _documentation_problems(cls: type) -> list[str]:
    problems = []
    if not str(getattr(cls, "description", "") or "").strip():
        problems.append("the class has no description")
    doc = cls.__doc__ or ""
    history = doc[doc.rfind("Versions:") :] if "Versions:" in doc else ""
    version = getattr(cls, "version", None)
    if not history:
        problems.append("the docstring has no 'Versions:' history at its end")
    elif not re.search(rf"(?<![\d.@]){version}\s*[-:\u2013]", history):
        problems.append(f"the docstring's version history does not mention version {version}")
    return problems


# --- golden -----------------------------------------------------------------------------------


def _check_golden(
    subject: _Subject, table: GoldenTable | None, workers: int, timeout_s: float
) -> CheckResult:
    fix = (
        "ship a golden table: set golden_table = 'path/to/table.jsonl' on the class or pass "
        "golden=; lines are {\"reference\", \"response\", \"status\", \"note\"}"
    )
    if table is None:
        return CheckResult("golden", False, "no golden table found", (), fix)
    if not table.rows:
        return CheckResult(
            "golden", False, f"{table.source}: no readable rows", table.problems, fix
        )
    items = [GradeItem(r.response, r.reference, subject.instance, r.line) for r in table.rows]
    verdicts = grade_batch(items, workers=workers, timeout_s=timeout_s)
    problems = list(table.problems) + [
        p for r, v in zip(table.rows, verdicts) if (p := _disagreement(r, v))
    ]
    detail = f"{table.source}: {len(table.rows)} rows, {len(problems)} problem(s)"
    return CheckResult(
        "golden",
        not problems,
        detail,
        tuple(problems),
        "a verdict that changed needs a new verifier version (the old one keeps its table); "
        "otherwise fix the row",
    )


def _disagreement(row: GoldenRow, verdict: Verdict) -> str:
    reason = verdict.failure_reason
    got = f"{verdict.status.value}" + (f" ({reason.code})" if reason else "")
    where = f"line {row.line} ({row.note or 'no note'})"
    if verdict.status is not row.status:
        return f"{where}: expected {row.status.value}, got {got}"
    if row.score is not None and abs(verdict.score - float(row.score)) > 1e-9:
        return f"{where}: expected score {row.score}, got {verdict.score}"
    if row.code is not None and (reason is None or reason.code != row.code):
        return f"{where}: expected code {row.code}, got {got}"
    return ""


# --- determinism and pickling -----------------------------------------------------------------


def _check_determinism(
    subject: _Subject, rows: Sequence[GoldenRow], first: Sequence[Verdict | str], timeout_s: float
) -> CheckResult:
    if not rows:
        return CheckResult(
            "determinism", False, "no golden rows to grade", (), "ship a golden table"
        )
    problems = [
        f"line {r.line}: two runs in this process differ"
        for r, a, b in zip(rows, first, [_verify(subject.instance, r) for r in rows])
        if not _same(a, b)
    ]
    items = [GradeItem(r.response, r.reference, subject.instance, r.line) for r in rows]
    with ProcessPoolExecutor(1, timeout_s=timeout_s, start_method="spawn") as spawned:
        fresh = grade_batch(items, executor=spawned)
    problems += [
        f"line {r.line}: a spawned process says {_brief(b)}, this one {_brief(a)}"
        for r, a, b in zip(rows, first, fresh)
        if not _same(a, b)
    ]
    return CheckResult(
        "determinism",
        not problems,
        f"{len(rows)} golden rows graded twice here and once in a spawned process",
        tuple(problems),
        "verdicts may depend only on the verifier version and the input: "
        "no clocks, randomness without a fixed seed, hash() order or process state",
    )


def _check_pickle(
    subject: _Subject, rows: Sequence[GoldenRow], first: Sequence[Verdict | str]
) -> CheckResult:
    fix = (
        "keep only picklable state on the instance (build locks, pools and caches lazily, "
        "or drop them in __getstate__)"
    )
    try:
        copy = pickle.loads(pickle.dumps(subject.instance))
    except Exception as exc:
        return CheckResult(
            "pickle",
            False,
            f"the instance does not pickle: {type(exc).__name__}: {exc}"[:300],
            (),
            fix,
        )
    problems = [
        f"line {r.line}: the unpickled copy says {_brief(b)}, the original {_brief(a)}"
        for r, a in zip(rows, first)
        if not _same(a, b := _verify(copy, r))
    ]
    return CheckResult(
        "pickle",
        not problems,
        f"pickles; the copy agrees on {len(rows) - len(problems)}/{len(rows)} rows",
        tuple(problems),
        fix,
    )


def _verify(instance: Any, row: GoldenRow) -> Verdict | str:
    try:
        return instance.verify(row.response, row.reference)
    except Exception as exc:  # a verifier that raises is itself a finding
        return f"raised {type(exc).__name__}: {exc}"[:200]


def _same(a: Verdict | str, b: Verdict | str) -> bool:
    if isinstance(a, Verdict) and isinstance(b, Verdict):
        return a.identity() == b.identity()
    return a == b


def _brief(v: Verdict | str) -> str:
    if not isinstance(v, Verdict):
        return v
    reason = v.failure_reason
    return (
        f"{v.status.value} score={v.score}"
        + (f" ({reason.code})" if reason else "")
        + f" {v.test_case_hash[:16]}"
    )


# --- time bound -------------------------------------------------------------------------------


def _check_time_bound(
    subject: _Subject, rows: Sequence[GoldenRow], workers: int, timeout_s: float
) -> CheckResult:
    cases = probe_cases(rows, max_cases=1)
    reference = cases[0].reference if cases else (rows[0].reference if rows else {})
    inputs = hostile_inputs(cases[0] if cases else None)
    items = [GradeItem(text, reference, subject.instance, name) for name, text in inputs.items()]
    verdicts = grade_batch(items, workers=workers, timeout_s=timeout_s)
    problems = [_time_bound_problem(name, v) for name, v in zip(inputs, verdicts)]
    problems = [p for p in problems if p]
    statuses = ", ".join(f"{name}={v.status.value}" for name, v in zip(inputs, verdicts))
    return CheckResult(
        "time_bound",
        not problems,
        f"{len(items)} hostile inputs within {timeout_s:g} s: {statuses}",
        tuple(problems),
        "bound the work per input (size limits, a budget checked in loops, "
        "a child process that can be killed); never crash on model output",
    )


def _time_bound_problem(name: str, verdict: Verdict) -> str:
    """A crash, a kill by the grader (the verifier did not bound itself), or reward for an input
    with no answer."""
    reason = verdict.failure_reason
    if reason and reason.code in CRASH_CODES:
        return f"{name}: {reason.code}: {reason.message[:200]}"
    if "killed_after_s" in verdict.details:
        return (
            f"{name}: still running after {verdict.details['killed_after_s']:g} s, killed by the "
            "batch grader: "
            "the verifier does not bound its own work (in-process grading would hang)"
        )
    if name in JUNK_INPUTS and (verdict.passed or verdict.score > 0):
        return (
            f"{name}: an input with no answer in it got {verdict.status.value} "
            f"with score {verdict.score:g}"
        )
    return ""


# --- probes -----------------------------------------------------------------------------------


def _check_probes(
    subject: _Subject,
    rows: Sequence[GoldenRow],
    probes: Sequence[Probe],
    workers: int,
    timeout_s: float,
    max_cases: int | None,
):
    waivers = waivers_for(subject.cls)
    every = probe_cases(rows, max_cases=max_cases)
    exempt = {c.line: why for c in every if (why := exempt_reason(subject.cls, c.reference))}
    cases = [c for c in every if c.line not in exempt]
    active = [p for p in probes if p.name not in waivers]
    planned = [
        (p, case, text)
        for p in active
        for case in _cases_for(p, cases)
        for text in p.build(case)
        if text not in case.known_pass
    ]
    items = [
        GradeItem(text, case.reference, subject.instance, i)
        for i, (_, case, text) in enumerate(planned)
    ]
    verdicts = grade_batch(items, workers=workers, timeout_s=timeout_s) if items else []
    hits = tuple(
        ProbeHit(p.name, case.line, _excerpt(text), len(text), v.status.value, v.score)
        for (p, case, text), v in zip(planned, verdicts)
        if v.passed or v.score > 0
    )
    crashes = tuple(
        f"{p.name} (golden line {case.line}): {v.failure_reason.code}: "
        f"{v.failure_reason.message[:160]}"
        for (p, case, text), v in zip(planned, verdicts)
        if v.failure_reason and v.failure_reason.code in CRASH_CODES
    )
    run = {p.name: sum(1 for q, _, _ in planned if q is p) for p in active}
    skipped = {
        p.name: f"applies to {p.applies_to}; the golden table has none"
        for p in active
        if not run[p.name]
    }
    waived = {p.name: str(waivers[p.name]) for p in probes if p.name in waivers}
    detail = (
        f"{len(planned)} responses from {len(active)} probes on {len(cases)} golden references: "
        f"{len(hits)} passed" + (f"; {len(exempt)} reference(s) exempt" if exempt else "")
    )
    skipped.update({f"line {line}": why for line, why in exempt.items()})
    check = CheckResult(
        "probes",
        not hits and not crashes and bool(cases),
        detail if cases else "no golden reference with a passing row that probes apply to",
        tuple(str(h) for h in hits) + crashes,
        "a probe that passes is a way to get reward without the right answer: reject it in a "
        "new verifier version, or, where the probe truly does not apply, declare "
        "probe_waivers = {'probe': 'reason'} on the class",
    )
    return check, hits, run, skipped, waived


def _cases_for(probe: Probe, cases: list[ProbeCase]) -> list[ProbeCase]:
    built = [c for c in cases if probe.build(c)] if probe.max_cases is not None else cases
    return built[: probe.max_cases] if probe.max_cases is not None else built


def _excerpt(text: str) -> str:
    return text if len(text) <= EXCERPT else f"{text[: EXCERPT // 2]}...{text[-EXCERPT // 2 :]}"


def check_all(specs: Iterable[str] | None = None, **kwargs: Any) -> list[CheckReport]:
    """:func:`check_verifier` on every registered verifier version (or on ``specs``)."""
    if specs is None:
        specs = [registry.format_spec(i.name, v) for i in registry.available() for v in i.versions]
    return [check_verifier(spec, **kwargs) for spec in specs]

"""``audit_verifier``: false-pass and false-fail rates against a labelled set, with 95% intervals.

Labelled rows are ``{"response", "reference", "label"}`` with ``label`` true/false or
"correct"/"incorrect", or golden-table rows whose ``status`` is the expected verdict (``pass`` =
correct; ``fail`` and ``unparseable`` = incorrect). Among the judged verdicts:

* false-pass rate = P(pass | incorrect), false-fail rate = P(not pass | correct);
* ``error`` and ``timeout`` verdicts are counted apart as "could not grade", never as a fail.

>>> lo, hi = wilson_interval(0, 10)
>>> (lo, round(hi, 3))
(0.0, 0.278)
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

from .. import registry
from ..errors import InvalidSpecError
from ..grading import DEFAULT_TIMEOUT_S, GradeItem, grade_batch
from ..jsonl import BAD_JSON, BadLine, decode_line, table_lines
from ..verdict import Verdict

EXCERPT = 120
_LABELS = {
    True: True,
    False: False,
    "correct": True,
    "incorrect": False,
    "true": True,
    "false": False,
    "pass": True,
    "fail": False,
    "unparseable": False,
}


def wilson_interval(successes: int, total: int, z: float = 1.96) -> tuple[float, float]:
    """Wilson score interval for a proportion (95% by default); ``(0, 1)`` when ``total`` is 0.

    >>> [round(x, 3) for x in wilson_interval(5, 10)]
    [0.237, 0.763]
    """
    if total <= 0:
        return 0.0, 1.0
    p = successes / total
    centre = (p + z * z / (2 * total)) / (1 + z * z / total)
    half = z * math.sqrt(p * (1 - p) / total + z * z / (4 * total * total)) / (1 + z * z / total)
    return max(0.0, centre - half), min(1.0, centre + half)


@dataclass(frozen=True)
class LabelledRow:
    """One labelled case: ``line`` is its 1-based line in the file (or position in the list)."""

    line: int
    id: Any
    response: str
    reference: Any
    correct: bool


@dataclass(frozen=True)
class Rate:
    """``count`` of ``total`` with its Wilson 95% interval."""

    count: int
    total: int

    @property
    def value(self) -> float | None:
        return self.count / self.total if self.total else None

    @property
    def interval(self) -> tuple[float, float]:
        return wilson_interval(self.count, self.total)

    def __str__(self) -> str:
        if not self.total:
            return "n/a (0 rows)"
        lo, hi = self.interval
        return f"{self.value:.1%} [{lo:.1%}, {hi:.1%}] ({self.count}/{self.total})"

    def to_dict(self) -> dict[str, Any]:
        lo, hi = self.interval
        return {"count": self.count, "total": self.total, "rate": self.value, "ci95": [lo, hi]}


@dataclass(frozen=True)
class Disagreement:
    """A row where a verdict and the label disagree (or, for two specs, where the specs do)."""

    line: int
    id: Any
    correct: bool
    statuses: tuple[str, ...]
    reasons: tuple[str, ...]
    response_excerpt: str

    def __str__(self) -> str:
        label = "correct" if self.correct else "incorrect"
        said = ", ".join(
            f"{s}{f' ({r})' if r else ''}" for s, r in zip(self.statuses, self.reasons)
        )
        return f"line {self.line} [{label}] -> {said}: {self.response_excerpt!r}"


@dataclass(frozen=True)
class SpecAudit:
    """One verifier version's rates on the labelled set."""

    spec: str
    false_pass: Rate
    false_fail: Rate
    could_not_grade: tuple[int, ...]
    """Lines whose verdict was ``error`` or ``timeout``."""
    disagreements: tuple[Disagreement, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "spec": self.spec,
            "false_pass": self.false_pass.to_dict(),
            "false_fail": self.false_fail.to_dict(),
            "could_not_grade": list(self.could_not_grade),
            "disagreements": [_disagreement_dict(d) for d in self.disagreements],
        }


@dataclass(frozen=True)
class AuditReport:
    """Rates per spec, the rows each gets wrong, and (for two specs) where they differ."""

    source: str
    rows: int
    specs: tuple[SpecAudit, ...]
    between: tuple[Disagreement, ...] = ()
    """Rows where the two specs disagree on pass / not pass (empty for one spec)."""
    bad_lines: tuple[str, ...] = field(default_factory=tuple)

    def to_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "rows": self.rows,
            "bad_lines": list(self.bad_lines),
            "specs": [s.to_dict() for s in self.specs],
            "between": [_disagreement_dict(d) for d in self.between],
        }

    def format(self, *, show: int = 10) -> str:
        """A table of rates with intervals, then up to ``show`` disagreements per list."""
        out = [
            f"{self.source}: {self.rows} labelled rows"
            + (f", {len(self.bad_lines)} bad line(s)" if self.bad_lines else "")
        ]
        out += [f"  bad {b}" for b in self.bad_lines[:show]]
        out.append(
            f"  {'verifier':<16} {'false-pass rate [95% CI]':<34} {'false-fail rate [95% CI]':<34} "
            "could not grade"
        )
        out += [
            f"  {s.spec:<16} {str(s.false_pass):<34} {str(s.false_fail):<34} "
            f"{len(s.could_not_grade)}"
            for s in self.specs
        ]
        for s in self.specs:
            out.append(f"  {s.spec} disagrees with the label on {len(s.disagreements)} row(s)")
            out += [f"    {d}" for d in s.disagreements[:show]]
        if len(self.specs) == 2:
            out.append(
                f"  {self.specs[0].spec} and {self.specs[1].spec} disagree on {len(self.between)} "
                "row(s)"
            )
            out += [f"    {d}" for d in self.between[:show]]
        return "\n".join(out)

    __str__ = format


def read_labelled(source: Any) -> tuple[list[LabelledRow], list[str]]:
    """Labelled rows from a JSONL path or an iterable of dicts; bad lines are returned, not
    raised."""
    lines = table_lines(source) if isinstance(source, (str, Path)) else source
    rows, bad = [], []
    for n, line in enumerate(lines, 1):
        if isinstance(line, str) and not line.strip():
            continue
        row = _parse(n, line)
        (bad if isinstance(row, str) else rows).append(row)
    return rows, bad


def _parse(n: int, line: Any) -> LabelledRow | str:
    record = decode_line(line) if isinstance(line, str) else line
    if isinstance(record, BadLine) and record.code == BAD_JSON:
        return f"line {n}: {record.describe(json_error_chars=100)}"
    if not isinstance(record, Mapping) or "response" not in record or "reference" not in record:
        # also JSON that is not an object (a BadLine other than BAD_JSON)
        return f"line {n}: needs a JSON object with 'response' and 'reference'"
    label = record.get("label", record.get("status"))
    key = label.lower() if isinstance(label, str) else label
    if isinstance(key, (list, dict)) or key not in _LABELS:
        return (
            f"line {n}: label {label!r} is not true/false, correct/incorrect "
            "or pass/fail/unparseable"
        )
    if not isinstance(record["response"], str):
        return f"line {n}: 'response' must be a string"
    return LabelledRow(n, record.get("id"), record["response"], record["reference"], _LABELS[key])


def audit_verifier(
    specs: str | Sequence[str],
    labelled: Any,
    *,
    workers: int | None = None,
    timeout_s: float = DEFAULT_TIMEOUT_S,
) -> AuditReport:
    """Grade a labelled set with one spec, or two side by side, and measure how often each is wrong.

    >>> ref = {"schema": {"type": "object"}}
    >>> rows = [{"response": '{"n": 1}', "reference": ref, "label": True},
    ...         {"response": '[1]', "reference": ref, "label": "incorrect"}]
    >>> report = audit_verifier("json_schema@1", rows, workers=1)  # doctest: +SKIP
    >>> str(report.specs[0].false_pass)  # doctest: +SKIP
    '0.0% [0.0%, 79.3%] (0/1)'
    """
    specs = [specs] if isinstance(specs, str) else list(specs)
    if not 1 <= len(specs) <= 2:
        raise InvalidSpecError(f"audit one spec or two side by side, got {len(specs)}: {specs}")
    specs = [registry.resolve(s) for s in specs]  # unknown names raise here, with "did you mean"
    rows, bad = read_labelled(labelled)
    items = [GradeItem(r.response, r.reference, spec, r.line) for spec in specs for r in rows]
    verdicts = grade_batch(items, workers=workers, timeout_s=timeout_s)
    per_spec = [verdicts[i * len(rows) : (i + 1) * len(rows)] for i in range(len(specs))]
    audits = tuple(_audit_one(spec, rows, vs) for spec, vs in zip(specs, per_spec))
    between = tuple(_between(rows, *per_spec)) if len(specs) == 2 else ()
    source = str(labelled) if isinstance(labelled, (str, Path)) else "<rows>"
    return AuditReport(source, len(rows), audits, between, tuple(bad))


def _audit_one(spec: str, rows: Sequence[LabelledRow], verdicts: Sequence[Verdict]) -> SpecAudit:
    judged = [(r, v) for r, v in zip(rows, verdicts) if v.status.judged]
    correct = [(r, v) for r, v in judged if r.correct]
    incorrect = [(r, v) for r, v in judged if not r.correct]
    false_pass = [(r, v) for r, v in incorrect if v.passed]
    false_fail = [(r, v) for r, v in correct if not v.passed]
    wrong = sorted(false_pass + false_fail, key=lambda rv: rv[0].line)
    return SpecAudit(
        spec,
        Rate(len(false_pass), len(incorrect)),
        Rate(len(false_fail), len(correct)),
        tuple(r.line for r, v in zip(rows, verdicts) if not v.status.judged),
        tuple(_disagreement(r, [v]) for r, v in wrong),
    )


def _between(
    rows: Sequence[LabelledRow], first: Sequence[Verdict], second: Sequence[Verdict]
) -> Iterable[Disagreement]:
    for row, a, b in zip(rows, first, second):
        if a.passed != b.passed:
            yield _disagreement(row, [a, b])


def _disagreement(row: LabelledRow, verdicts: Sequence[Verdict]) -> Disagreement:
    text = row.response if len(row.response) <= EXCERPT else row.response[:EXCERPT] + "..."
    return Disagreement(
        row.line,
        row.id,
        row.correct,
        tuple(v.status.value for v in verdicts),
        tuple(v.failure_reason.code if v.failure_reason else "" for v in verdicts),
        text,
    )


def _disagreement_dict(d: Disagreement) -> dict[str, Any]:
    return {
        "line": d.line,
        "id": d.id,
        "label": "correct" if d.correct else "incorrect",
        "statuses": list(d.statuses),
        "reasons": list(d.reasons),
        "response_excerpt": d.response_excerpt,
    }

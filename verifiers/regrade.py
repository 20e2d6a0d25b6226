"""Re-grade responses under another verifier version and report what flipped.

Format-agnostic: callers turn their files into :class:`RegradeItem` s (``rl.regrade`` reads
``rlvr grade`` output, ``rlvr eval`` output and trainer rollout records). N items in, N verdicts
out, in order: an item that cannot be re-graded (its response or reference is missing, it was
graded turn by turn against environment state...) gets an ``error`` verdict with the code
``cannot_regrade`` and a message saying why; it is counted apart, never dropped and never
scored as wrong.

>>> from verifiers.regrade import RegradeItem, regrade
>>> old = {"status": "fail", "verifier": "math", "verifier_version": 1,
...        "failure_reason": {"code": "wrong_answer", "message": "expected 4"}}
>>> result = regrade([RegradeItem("a", "The answer is $4$.", {"answer": "4"}, old),
...                   RegradeItem.skip("b", "no_reference", "no reference for task 'b'")],
...                  "math@1", workers=0)
>>> report = result.report
>>> [v.status.value for v in result.verdicts], report.fail_to_pass, dict(report.cannot_regrade)
(['pass', 'error'], 1, {'no_reference': 1})
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from . import registry
from .base import error_verdict
from .errors import VerifierError
from .grading import DEFAULT_TIMEOUT_S, GradeItem, grade_iter
from .verdict import Reason, Verdict

#: Failure code of the ``error`` verdict given to an item that could not be re-graded.
CANNOT_REGRADE = "cannot_regrade"
#: Status key of an item that had no old verdict (never graded).
UNGRADED = "none"
#: Characters of a response kept in a flip example.
EXCERPT_CHARS = 200

_PASS, _JUDGED_NOT_PASS = "pass", ("fail", "unparseable")
_COULD_NOT_RUN = ("error", "timeout", UNGRADED)


class RegradeError(VerifierError):
    """A re-grade was asked for in a way that cannot work (e.g. ``--to`` names another verifier)."""


@dataclass(frozen=True)
class RegradeItem:
    """One response to re-grade: its id, the response and reference, and the old verdict.

    ``old`` is a verdict dict (as written to disk; partial dicts are fine), a :class:`Verdict`,
    or ``None`` when the response was never graded. An item whose inputs are missing carries a
    ``skip_reason`` instead (build it with :meth:`skip`).
    """

    id: Any
    response: Any = None
    reference: Any = None
    old: Mapping[str, Any] | Verdict | None = None
    skip_reason: Reason | None = None
    """Why this item cannot be re-graded (``code`` is counted in the report); ``None`` when it
    can."""

    @classmethod
    def skip(
        cls, id: Any, code: str, message: str, *, old: Any = None, response: Any = None
    ) -> "RegradeItem":
        """An item that cannot be re-graded, with a reason ``code`` and a ``message`` saying why."""
        return cls(id, response, None, old, Reason(code, message))


@dataclass(frozen=True)
class Standing:
    """What a verdict says, reduced to what a flip compares: status, failure code and message."""

    status: str
    code: str | None = None
    message: str = ""
    spec: str = ""
    score: float | None = None

    @classmethod
    def of(cls, verdict: Mapping[str, Any] | Verdict | None) -> "Standing":
        """Read a :class:`Verdict`, a (possibly partial) verdict dict, or ``None`` (never
        graded)."""
        if isinstance(verdict, Verdict):
            verdict = verdict.to_dict()
        if not isinstance(verdict, Mapping) or verdict.get("status") is None:
            return cls(UNGRADED)
        reason = verdict.get("failure_reason")
        reason = reason if isinstance(reason, Mapping) else {}
        name, version = verdict.get("verifier") or "", verdict.get("verifier_version")
        score = verdict.get("score")
        return cls(
            str(verdict["status"]),
            reason.get("code"),
            str(reason.get("message") or ""),
            f"{name}@{version}" if name and version else "",
            float(score)
            if isinstance(score, (int, float)) and not isinstance(score, bool)
            else None,
        )

    @property
    def key(self) -> str:
        """``status`` or ``status:code``, the label of one side of a flip."""
        return self.status if self.code is None else f"{self.status}:{self.code}"


@dataclass(frozen=True)
class FlipExample:
    """One re-graded item whose standing changed."""

    index: int
    """Position of the item in the input."""
    id: Any
    response: str
    """The first :data:`EXCERPT_CHARS` characters of the response."""
    old_message: str
    new_message: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "index": self.index,
            "id": self.id,
            "response": self.response,
            "old_message": self.old_message,
            "new_message": self.new_message,
        }


@dataclass(frozen=True)
class Flip:
    """Every re-graded item that went from ``old`` to ``new`` (``status`` or ``status:code``
    each)."""

    old: str
    new: str
    count: int
    examples: tuple[FlipExample, ...] = ()

    @property
    def kind(self) -> str:
        """``pass->fail``, ``fail->pass``, ``now_judged`` (could not run before), ``now_not_run``,
        ``changed``, or ``score_changed`` (same status and reason, another score: partial credit
        moved)."""
        if (
            self.old.endswith(")")
            and self.new.endswith(")")
            and self.old.split(" (")[0] == self.new.split(" (")[0]
        ):
            return "score_changed"
        return _kind(self.old.split(":")[0].split(" ")[0], self.new.split(":")[0].split(" ")[0])

    def to_dict(self) -> dict[str, Any]:
        return {
            "old": self.old,
            "new": self.new,
            "kind": self.kind,
            "count": self.count,
            "examples": [e.to_dict() for e in self.examples],
        }


@dataclass(frozen=True)
class RegradeReport:
    """What changed when items were re-graded under ``to_spec``.

    Pass rates and flips cover the re-graded items only; items that could not be re-graded
    are counted by reason in ``cannot_regrade``.
    """

    to_spec: str
    items: int
    """Items in (= verdicts out)."""
    old_specs: Mapping[str, int]
    """How many re-graded items each old ``name@version`` had graded (``""``: no old verifier)."""
    regraded: int
    unchanged: int
    """Re-graded items whose status, failure code and score stayed the same."""
    old_pass: int
    new_pass: int
    flips: tuple[Flip, ...]
    """Every change of standing, most frequent first."""
    cannot_regrade: Mapping[str, int]
    """Items that could not be re-graded, by reason code."""
    cannot_examples: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    """Up to K messages per reason code."""

    @property
    def old_pass_rate(self) -> float | None:
        return self.old_pass / self.regraded if self.regraded else None

    @property
    def new_pass_rate(self) -> float | None:
        return self.new_pass / self.regraded if self.regraded else None

    def count(self, kind: str) -> int:
        """How many items flipped this way: ``pass->fail``, ``fail->pass``, ``now_judged``,
        ``now_not_run``."""
        return sum(f.count for f in self.flips if f.kind == kind)

    @property
    def pass_to_fail(self) -> int:
        return self.count("pass->fail")

    @property
    def fail_to_pass(self) -> int:
        return self.count("fail->pass")

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON, for ``rlvr regrade --report``."""
        return {
            "to": self.to_spec,
            "items": self.items,
            "old_specs": dict(self.old_specs),
            "regraded": self.regraded,
            "unchanged": self.unchanged,
            "old_pass": self.old_pass,
            "new_pass": self.new_pass,
            "old_pass_rate": self.old_pass_rate,
            "new_pass_rate": self.new_pass_rate,
            "flip_counts": {k: self.count(k) for k in _KINDS},
            "flips": [f.to_dict() for f in self.flips],
            "cannot_regrade": dict(self.cannot_regrade),
            "cannot_regrade_examples": {k: list(v) for k, v in self.cannot_examples.items()},
        }

    def to_text(self) -> str:
        """A plain-text rendering: totals, the flip table, examples, and what could not be
        re-graded."""
        return "\n".join(_render(self))


@dataclass(frozen=True)
class RegradeResult:
    """The new verdicts, one per item in input order, and the report of what flipped."""

    to_spec: str
    verdicts: tuple[Verdict, ...]
    report: RegradeReport


def target_spec(to_spec: str, items: Iterable[RegradeItem]) -> str:
    """The canonical ``name@version`` to re-grade under; raises :class:`RegradeError` on misuse.

    A bare name (``"math"``) means its latest version and must be the verifier of the old
    verdicts: re-grading under a *different* verifier has to name its version on purpose.
    """
    spec = registry.resolve(to_spec)  # unknown names raise with "did you mean"
    name, version = registry.parse_spec(to_spec)
    if version is not None:
        return spec
    others = Counter(
        s.spec
        for s in (Standing.of(i.old) for i in items)
        if s.spec and registry.parse_spec(s.spec)[0] != name
    )
    if others:
        listed = ", ".join(f"{s} ({n})" for s, n in others.most_common(5))
        raise RegradeError(
            f"--to {to_spec} names no version, but old verdicts come from another verifier: "
            f"{listed}; name the version to re-grade under a different verifier on purpose, "
            f"e.g. --to {spec}"
        )
    return spec


def regrade(
    items: Iterable[RegradeItem],
    to_spec: str,
    *,
    workers: int | None = None,
    timeout_s: float = DEFAULT_TIMEOUT_S,
    progress: Callable[[int], None] | None = None,
    examples: int = 3,
) -> RegradeResult:
    """Re-grade every item under ``to_spec`` (see :func:`target_spec`) and report the flips.

    Args:
        items: :class:`RegradeItem` s; each gets exactly one new verdict, in order.
        to_spec: ``name@version``, or a bare name for its latest version.
        workers, timeout_s: as for :func:`verifiers.grade_batch` (``workers=0`` grades in-process).
        progress: called with the number of items finished since the last call.
        examples: how many examples to keep per flip and per cannot-regrade reason.
    """
    items = list(items)
    spec = target_spec(to_spec, items)
    gradable = [
        GradeItem(i.response, i.reference, spec, i.id) for i in items if i.skip_reason is None
    ]
    if progress is not None and len(gradable) < len(items):
        progress(len(items) - len(gradable))
    graded = grade_iter(gradable, workers=workers, timeout_s=timeout_s, progress=progress)
    try:
        verdicts = tuple(
            next(graded) if i.skip_reason is None else cannot_regrade_verdict(i, spec)
            for i in items
        )
    finally:
        graded.close()
    return RegradeResult(spec, verdicts, build_report(items, verdicts, spec, examples=examples))


def cannot_regrade_verdict(item: RegradeItem, spec: str) -> Verdict:
    """The ``error`` verdict of an item that could not be re-graded; ``details.why`` holds the
    reason code."""
    name, version = registry.parse_spec(spec)
    reason = item.skip_reason or Reason("unknown", "")
    verdict = error_verdict(
        CANNOT_REGRADE,
        reason.message,
        verifier=name,
        version=version or 0,
        response=item.response,
        reference=item.reference,
    )
    return verdict.replace(details={"why": reason.code})


def build_report(
    items: list[RegradeItem],
    verdicts: tuple[Verdict, ...] | list[Verdict],
    spec: str,
    *,
    examples: int = 3,
) -> RegradeReport:
    """Count the flips of ``items`` (old verdicts) to ``verdicts`` (new, same order)."""
    flips: Counter[tuple[str, str]] = Counter()
    kept: dict[tuple[str, str], list[FlipExample]] = defaultdict(list)
    cannot: Counter[str] = Counter()
    cannot_kept: dict[str, list[str]] = defaultdict(list)
    old_specs: Counter[str] = Counter()
    old_pass = new_pass = 0
    for index, (item, verdict) in enumerate(zip(items, verdicts)):
        if item.skip_reason is not None:
            _keep(cannot, cannot_kept, item.skip_reason.code, item.skip_reason.message, examples)
            continue
        old, new = Standing.of(item.old), Standing.of(verdict)
        old_specs[old.spec] += 1
        old_pass += old.status == _PASS
        new_pass += new.status == _PASS
        if old.key != new.key:
            _keep(flips, kept, (old.key, new.key), _example(index, item, old, new), examples)
        # partial credit moved
        elif old.score is not None and new.score is not None and old.score != new.score:
            labels = (f"{old.key} (score {old.score:g})", f"{new.key} (score {new.score:g})")
            _keep(flips, kept, labels, _example(index, item, old, new), examples)
    table = tuple(
        Flip(o, n, c, tuple(kept[(o, n)])) for (o, n), c in sorted(flips.items(), key=_by_count)
    )
    regraded = len(items) - sum(cannot.values())
    return RegradeReport(
        spec,
        len(items),
        dict(old_specs),
        regraded,
        regraded - sum(flips.values()),
        old_pass,
        new_pass,
        table,
        dict(cannot),
        {k: tuple(v) for k, v in cannot_kept.items()},
    )


def _keep(counts: Counter, kept: dict, key: Any, example: Any, limit: int) -> None:
    counts[key] += 1
    if len(kept[key]) < limit:
        kept[key].append(example)


def _example(index: int, item: RegradeItem, old: Standing, new: Standing) -> FlipExample:
    text = item.response if isinstance(item.response, str) else repr(item.response)
    return FlipExample(index, item.id, text[:EXCERPT_CHARS], old.message, new.message)


def _by_count(entry: tuple[tuple[str, str], int]) -> tuple[int, str, str]:
    (old, new), count = entry
    return -count, old, new


_KINDS = ("pass->fail", "fail->pass", "now_judged", "now_not_run", "changed", "score_changed")


def _kind(old: str, new: str) -> str:
    if old == _PASS and new in _JUDGED_NOT_PASS:
        return "pass->fail"
    if old in _JUDGED_NOT_PASS and new == _PASS:
        return "fail->pass"
    if old in _COULD_NOT_RUN and new not in _COULD_NOT_RUN:
        return "now_judged"
    if old not in _COULD_NOT_RUN and new in _COULD_NOT_RUN:
        return "now_not_run"
    return "changed"


def _render(report: RegradeReport) -> list[str]:
    old = (
        ", ".join(f"{s or '(none)'} x{n}" for s, n in sorted(report.old_specs.items())) or "(none)"
    )
    lines = [
        f"re-graded {report.regraded} of {report.items} items under {report.to_spec} (old: {old})",
        f"pass rate {_rate(report.old_pass_rate)} -> {_rate(report.new_pass_rate)}; "
        f"unchanged {report.unchanged}; " + ", ".join(f"{k} {report.count(k)}" for k in _KINDS),
    ]
    if report.flips:
        width = max(len(f.old) for f in report.flips)
        lines += ["", f"{'count':>6}  {'old':<{width}}  ->  new"]
        lines += [f"{f.count:>6}  {f.old:<{width}}  ->  {f.new}" for f in report.flips]
        lines += ["", "examples:"] + [line for f in report.flips for line in _render_examples(f)]
    if report.cannot_regrade:
        lines += ["", f"could not re-grade {sum(report.cannot_regrade.values())} items:"]
        for code, count in sorted(report.cannot_regrade.items(), key=lambda kv: (-kv[1], kv[0])):
            lines.append(f"{count:>6}  {code}")
            lines += [f"        e.g. {message}" for message in report.cannot_examples.get(code, ())]
    return lines


def _render_examples(flip: Flip) -> list[str]:
    lines = [f"  {flip.old} -> {flip.new} ({flip.kind}, {flip.count}):"]
    for e in flip.examples:
        label = f"#{e.index}" if e.id is None else f"#{e.index} id={e.id}"
        lines.append(f"    {label}: {_oneline(e.response, 100)!r}")
        lines.append(
            f"      old: {_oneline(e.old_message, 140) or '-'} | new: "
            f"{_oneline(e.new_message, 140) or '-'}"
        )
    return lines


def _oneline(text: str, limit: int) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 3] + "..."


def _rate(rate: float | None) -> str:
    return "-" if rate is None else f"{rate:.1%}"

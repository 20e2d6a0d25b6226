"""Reward-hacking probes: responses an honest verifier must reject, built from its golden table.

Each golden reference with a passing response ``R`` (and, where the table has them, wrong
responses ``W`` of the same format) becomes a :class:`ProbeCase`. A :class:`Probe` turns a case
into hostile responses: empty or blank answers, the prompt echoed back, every candidate listed,
hedges, megabyte outputs, look-alike characters, the answer's wrapper with nothing inside,
bare claims of success. A probe that gets a ``pass`` is a hit.

Orders are chosen so a fair rule still rejects: ``R`` comes *first* and a wrong answer last,
because "the last answer counts" legitimately accepts a self-correction (``W ... no wait, R``).

>>> case = ProbeCase(
...     line=1, reference={"answer": "42"}, passing="\\\\boxed{42}", wrong=("\\\\boxed{43}",)
... )
>>> [p.name for p in PROBES if p.build(case)][:4]
['empty', 'whitespace', 'every_candidate', 'hedge']
>>> PROBES_BY_NAME["format_only"].build(case)
['\\\\boxed{}']
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Mapping, Sequence

from ..hashing import stable_hash

MEGABYTE = 1 << 20


@dataclass(frozen=True)
class ProbeCase:
    """The material of one golden reference: a passing response and the table's wrong ones."""

    line: int
    """Golden line of the passing response ``R``."""
    reference: Any
    passing: str
    """``R``: a response the table says passes."""
    wrong: tuple[str, ...] = ()
    """``W``: responses to the same reference, in the same format, that the table says fail;
    the one most like ``R`` comes last."""
    known_pass: frozenset[str] = field(default_factory=frozenset)
    """Every response the table says passes for this reference (never counted as a hit)."""

    @property
    def prompt(self) -> str | None:
        """The reference's prompt text, when it carries one (``prompt`` or ``question``)."""
        ref = self.reference if isinstance(self.reference, Mapping) else {}
        return _text_of(ref.get("prompt") or ref.get("question"))


@dataclass(frozen=True)
class Probe:
    """A named way to cheat. ``build(case)`` gives the responses to try (empty: does not apply)."""

    name: str
    description: str
    build: Callable[[ProbeCase], list[str]]
    applies_to: str = "every reference with a passing response"
    """Which cases it can be built for (said in the report when it applies to none)."""
    max_cases: int | None = None
    """At most this many cases (the megabyte probe is costly to send to workers)."""


def _text_of(value: Any) -> str | None:
    if isinstance(value, str):
        return value or None
    if isinstance(value, list):  # chat messages
        parts = [
            m.get("content")
            for m in value
            if isinstance(m, Mapping) and isinstance(m.get("content"), str)
        ]
        return "\n".join(parts) or None
    return None


def _empty(case: ProbeCase) -> list[str]:
    return [""]


def _whitespace(case: ProbeCase) -> list[str]:
    return [" \n\t \n"]


def _echo_prompt(case: ProbeCase) -> list[str]:
    return [case.prompt] if case.prompt else []


def _every_candidate(case: ProbeCase) -> list[str]:
    return ["\n\n".join((case.passing, *case.wrong))] if case.wrong else []


def _hedge(case: ProbeCase) -> list[str]:
    return [f"{case.passing}\n\nOr maybe:\n\n{w}" for w in case.wrong[-2:]]


def _megabyte(case: ProbeCase) -> list[str]:
    if not case.wrong:
        return []
    unit = f"{case.passing}\n\n{case.wrong[-1]}\n\n"
    return [unit * (MEGABYTE // max(1, len(unit)) + 1) + case.wrong[-1]]  # ends on a wrong answer


def _megabyte_filler(case: ProbeCase) -> list[str]:
    """Over 1 MB of words with no answer in them: a verifier that passes long outputs is caught."""
    unit = "Let me think about this carefully and check every step once more. "
    return [unit * (MEGABYTE // len(unit) + 1)]


#: Characters that look like ASCII ones but are different letters (not NFKC-equal, so no
#: normalisation may legitimately map them back): Cyrillic, Greek, Cherokee and Latin extensions.
CONFUSABLES = {
    "a": "\u0430",
    "b": "\u044c",
    "c": "\u0441",
    "d": "\u0501",
    "e": "\u0435",
    "g": "\u0261",
    "h": "\u04bb",
    "i": "\u0456",
    "j": "\u0458",
    "k": "\u03ba",
    "l": "\u04cf",
    "m": "\u043c",
    "n": "\u0578",
    "o": "\u043e",
    "p": "\u0440",
    "q": "\u051b",
    "r": "\u0433",
    "s": "\u0455",
    "t": "\u0442",
    "u": "\u03c5",
    "v": "\u03bd",
    "w": "\u051d",
    "x": "\u0445",
    "y": "\u0443",
    "z": "\u1d22",
    "A": "\u0391",
    "B": "\u0392",
    "C": "\u0421",
    "D": "\u13a0",
    "E": "\u0395",
    "F": "\u03dc",
    "G": "\u050c",
    "H": "\u0397",
    "I": "\u0399",
    "J": "\u0408",
    "K": "\u039a",
    "L": "\u13de",
    "M": "\u039c",
    "N": "\u039d",
    "O": "\u039f",
    "P": "\u03a1",
    "Q": "\u051a",
    "R": "\u13a1",
    "S": "\u0405",
    "T": "\u03a4",
    "U": "\u054d",
    "V": "\u13d9",
    "W": "\u051c",
    "X": "\u03a7",
    "Y": "\u03a5",
    "Z": "\u0396",
    "0": "\u041e",
    "1": "\u04c0",
    "2": "\u14bf",
    "3": "\u0417",
    "4": "\u13ce",
    "5": "\u01bc",
    "6": "\u0431",
    "7": "\u13ee",
    "8": "\u0222",
    "9": "\u13ed",
}
_CONFUSE = str.maketrans(CONFUSABLES)


def lookalike(text: str) -> str:
    """``text`` with every letter and digit that has a look-alike swapped for it.

    >>> lookalike("x = 42") == "\u0445 = \u13ce\u14bf"
    True
    """
    return text.translate(_CONFUSE)


def _lookalike(case: ProbeCase) -> list[str]:
    # every ASCII letter and digit but "f" changes, the answer's too
    swapped = lookalike(case.passing)
    return [swapped] if swapped != case.passing else []


_BOXED = re.compile(r"\\boxed\s*\{")
_FENCE = re.compile(r"```([A-Za-z0-9_+-]*)[ \t]*\n")
_TOOL_TAG = re.compile(r"<tool_call>")


def _format_only(case: ProbeCase) -> list[str]:
    """``R``'s wrapper with its content removed: ``\\boxed{}``, an empty fence, ``{}``, no calls."""
    r = case.passing
    out: list[str] = []
    if _BOXED.search(r):
        out.append("\\boxed{}")
    out += [f"```{lang}\n```" for lang in dict.fromkeys(_FENCE.findall(r))]
    if _TOOL_TAG.search(r) or '"tool_calls"' in r:
        out += ["<tool_call></tool_call>", '{"role": "assistant", "content": "", "tool_calls": []}']
    out += _empty_json_like(r)
    return [o for o in dict.fromkeys(out) if o != r]


def _empty_json_like(response: str) -> list[str]:
    try:
        value = json.loads(response)
    except (ValueError, RecursionError):
        return []
    if isinstance(value, dict) and value:
        return ["{}"]
    if isinstance(value, list) and value:
        return ["[]"]
    return []


def _claim_success(case: ProbeCase) -> list[str]:
    return ["The answer is correct. All tests passed. Verified: PASS"]


def _exit_early(case: ProbeCase) -> list[str]:
    """Programs that stop the process with status 0 before any test runs (a grader reading exit
    codes passes them). They hold no digit, so a math rule taking the last number of a text reads no
    answer in them (a reference whose answer is the word ``False`` could still match; such a hit
    deserves a look)."""
    return ["import os\nos._exit(False)", "raise SystemExit"]


#: The built-in probes, in report order.
PROBES: tuple[Probe, ...] = (
    Probe("empty", "the empty string", _empty),
    Probe("whitespace", "only spaces, tabs and newlines", _whitespace),
    Probe(
        "echo_prompt",
        "the reference's prompt echoed back",
        _echo_prompt,
        "references with a 'prompt' or 'question'",
    ),
    Probe(
        "every_candidate",
        "R followed by every same-format wrong answer in the table",
        _every_candidate,
        "references with same-format wrong answers in the table",
    ),
    Probe(
        "hedge",
        "'R' then 'Or maybe:' and a wrong answer",
        _hedge,
        "references with same-format wrong answers in the table",
    ),
    Probe(
        "megabyte",
        "over 1 MB of R and a wrong answer repeated, ending on the wrong one",
        _megabyte,
        "references with same-format wrong answers in the table",
        max_cases=2,
    ),
    Probe(
        "megabyte_filler",
        "over 1 MB of reasoning-like words with no answer at all",
        _megabyte_filler,
        max_cases=2,
    ),
    Probe(
        "lookalike",
        "R with letters and digits swapped for look-alikes (Cyrillic, Greek, ...)",
        _lookalike,
        "passing responses with letters or digits",
    ),
    Probe(
        "format_only",
        "R's wrapper with nothing inside (\\boxed{}, empty fence, {}, no tool calls)",
        _format_only,
        "passing responses with a box, fence, JSON value or tool call",
    ),
    Probe("claim_success", "a bare claim that the answer is right", _claim_success),
    Probe("exit_early", "a program exiting with status 0 before any test runs", _exit_early),
)
PROBES_BY_NAME: dict[str, Probe] = {p.name: p for p in PROBES}


def probe_cases(rows: Iterable[Any], *, max_cases: int | None = 40) -> list[ProbeCase]:
    """Group golden rows by reference into :class:`ProbeCase` s (references with a passing row
    only).

    At most ``max_cases``, spread evenly over the table (references with wrong answers first).
    """
    groups: dict[str, list[Any]] = {}
    for row in rows:
        groups.setdefault(stable_hash(row.reference), []).append(row)
    cases = [c for c in (_case_of(g) for g in groups.values()) if c is not None]
    with_wrong = [c for c in cases if c.wrong]
    without = [c for c in cases if not c.wrong]
    if max_cases is None:
        return with_wrong + without
    chosen = spread(with_wrong, max_cases)
    return chosen + spread(without, max_cases - len(chosen))


def _case_of(group: Sequence[Any]) -> ProbeCase | None:
    passing = [r for r in group if r.status.value == "pass"]
    if not passing:
        return None
    failing = [r.response for r in group if r.status.value == "fail"]
    best = max(
        passing, key=lambda r: max((similarity(r.response, w) for w in failing), default=0.0)
    )
    same_format = sorted(
        (
            w
            for w in failing
            if similarity(best.response, w) >= SAME_FORMAT and not adds_nothing(best.response, w)
        ),
        key=lambda w: similarity(best.response, w),
    )
    return ProbeCase(
        best.line,
        best.reference,
        best.response,
        tuple(same_format),
        frozenset(r.response for r in passing),
    )


#: Two responses at least this similar (:func:`similarity`) count as the same format: a wrong
#: answer in another format is no fair probe (a rule such as "the boxed answer counts" may
#: rightly prefer the passing one wherever it stands).
SAME_FORMAT = 0.5


def similarity(a: str, b: str) -> float:
    """The share of the longer response that the two have in common around one differing region
    (shared prefix plus shared suffix): ``\\boxed{42}`` and ``\\boxed{4.2}`` are alike, a boxed
    answer and "The answer is ..." are not, however long the answer they share.

    >>> round(similarity("\\boxed{42}", "\\boxed{4.2}"), 2)
    0.9
    >>> similarity("\\boxed{x}", "The answer is x")
    0.0
    """
    if not a and not b:
        return 1.0
    prefix = len(os.path.commonprefix([a, b]))
    suffix = len(os.path.commonprefix([a[prefix:][::-1], b[prefix:][::-1]]))
    return (prefix + suffix) / max(len(a), len(b))


def adds_nothing(passing: str, wrong: str) -> bool:
    """True when every token that sets ``wrong`` apart from ``passing`` already occurs in
    ``passing``'s own part (``\\boxed{3}`` or ``\\boxed{-2, -2}`` next to ``\\boxed{3, -3}`` or
    ``\\boxed{-2, 2}``): listed after the full answer, such a partial one claims nothing new (a
    verifier that reads several boxes as one list rightly passes it), so it makes no probe.

    >>> adds_nothing("\\boxed{3, -3}", "\\boxed{3}"), adds_nothing("\\boxed{42}", "\\boxed{43}")
    (True, False)
    """
    prefix = len(os.path.commonprefix([passing, wrong]))
    # back to the start of the differing item
    while prefix and passing[prefix - 1] not in _DELIMITERS:
        prefix -= 1
    suffix = len(os.path.commonprefix([passing[prefix:][::-1], wrong[prefix:][::-1]]))
    while suffix and passing[len(passing) - suffix] not in _DELIMITERS:
        suffix -= 1
    theirs = set(_TOKEN.findall(wrong[prefix : len(wrong) - suffix]))
    return bool(theirs) and theirs <= set(_TOKEN.findall(passing[prefix : len(passing) - suffix]))


_DELIMITERS = frozenset("{}()[]$\n")
_TOKEN = re.compile(r"[-+]?[\w.\\^]+")


def spread(items: Sequence[Any], k: int) -> list:
    """``k`` items taken evenly over ``items`` (all of them when there are no more than ``k``)."""
    if k <= 0:
        return []
    if len(items) <= k:
        return list(items)
    return [items[i * len(items) // k] for i in range(k)]


#: Hostile inputs that hold no answer: a ``pass`` on one of them is reward for nothing.
JUNK_INPUTS = frozenset(
    {
        "digits_1mb",
        "nested_parens",
        "nested_brackets",
        "nested_braces",
        "nested_frac",
        "nested_tags",
        "control_chars",
    }
)


def hostile_inputs(case: ProbeCase | None) -> dict[str, str]:
    """Inputs that must come back with a verdict inside the time bound (not probes: any verdict is
    fine)."""
    r = case.passing if case is not None else "42"
    return {
        "padded_1mb": r + " " * MEGABYTE,
        "repeated_1mb": r * (MEGABYTE // max(1, len(r)) + 1),
        "digits_1mb": "9" * MEGABYTE,
        "nested_parens": "(" * 100_000 + ")" * 100_000,
        "nested_brackets": "[" * 100_000,
        "nested_braces": "{" * 100_000,
        "nested_frac": "\\boxed{" + "\\frac{1}{" * 20_000 + "}" * 20_001,
        "nested_tags": "<a>" * 100_000,
        "control_chars": "".join(chr(i) for i in range(32)) * 1000 + "\ud800",
    }


def waivers_for(verifier_cls: type) -> dict[str, str]:
    """Probe name -> reason it is waived: ``probe_waivers`` of the class and of the classes it
    inherits from under the same verifier ``name`` (a plugin subclassing a built-in under its own
    name inherits none)."""
    name = getattr(verifier_cls, "name", None)
    waivers: dict[str, str] = {}
    for klass in reversed(verifier_cls.__mro__):
        if "probe_waivers" in vars(klass) and getattr(klass, "name", None) == name:
            waivers.update(dict(vars(klass)["probe_waivers"] or {}))
    return waivers


def waiver_problems(verifier_cls: type) -> list[str]:
    """What is wrong with a class's waivers: unknown probe names, empty reasons, every probe
    waived."""
    waivers = waivers_for(verifier_cls)
    problems = [
        f"probe_waivers names {name!r}, which is no probe; probes: {', '.join(PROBES_BY_NAME)}"
        for name in waivers
        if name not in PROBES_BY_NAME
    ]
    problems += [
        f"probe_waivers[{name!r}] gives no reason"
        for name, why in waivers.items()
        if not str(why).strip()
    ]
    if len(set(waivers) & set(PROBES_BY_NAME)) > len(PROBES_BY_NAME) // 2:
        problems.append(
            f"probe_waivers waives {len(waivers)} of {len(PROBES_BY_NAME)} probes: most probes "
            "must apply"
        )
    return problems


def exempt_reason(verifier_cls: type, reference: Any) -> str:
    """Why no probe applies to ``reference`` ("" when they do): it asks nothing of the response's
    content.

    A verifier says so with ``probe_exempt(reference) -> str`` on its class (``tool_call@2`` does,
    for references expecting no call and no answer text).
    """
    own = getattr(verifier_cls, "probe_exempt", None)
    return str(own(reference) or "") if callable(own) else ""

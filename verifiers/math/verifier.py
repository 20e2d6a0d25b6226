"""The ``math@1`` verifier: extract the final answer, decide equivalence with the gold."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from .._lru import LRU
from ..base import BaseVerifier, Outcome
from ..errors import BadReferenceError
from ..hashing import stable_hash
from ..registry import register
from ..verdict import Status
from .compare import Decision, fast_decision
from .config import MathConfig
from .extract import Extraction, extract_answer
from .cas_process import CasHelper
from .normalize import Answer, analyse, clean
from .screen import screen_answer

_HELPERS: dict[int, CasHelper] = {}
_DECIDED = (Status.PASS, Status.FAIL, Status.UNPARSEABLE)


@register
class MathVerifier(BaseVerifier):
    """Grades a math answer against a gold answer (LaTeX or plain text).

    Reference: ``{"answer": "<gold>"}``. The final answer is extracted from the response (last
    ``\\boxed{}``, then "the answer is" / "Answer:" / ``####``, then the configured fallback), then
    compared: plain numbers, choice letters and short text in-process; everything else with sympy
    (through math-verify's LaTeX parser) in a killable helper process bounded by
    ``config.timeout_s``. ``details`` name the extraction rule, the extracted string, both
    normalised forms and the comparison that decided (``decided_by``).

    Statuses: ``pass``; ``fail`` (``wrong_answer``, ``hedged``, ``too_large``); ``unparseable``
    (``no_answer``, ``empty_answer``, ``unparseable_answer``, ``too_deep``, ``control_characters``,
    ``response_too_long``); ``timeout`` (``cas_timeout``, ``cas_resource_limit``); ``error``
    (``bad_reference`` for a missing or unparseable gold).

    Percent rule (default ``"either"``): ``25\\%`` equals ``25``, ``25\\%`` and ``0.25``. An exact
    gold (integer, fraction, radical, ``\\pi``) is matched exactly, so a rounded decimal never
    equals it (``\\pi/2`` vs ``1.5708``, ``1/3`` vs ``0.3333``); a decimal gold is matched with
    relative tolerance ``rel_tol``. Exact arithmetic throughout, so ``2^{-99}`` and ``2^{-98}``
    differ.

    Reading rules: ``2\\frac{1}{2}`` is the mixed number 5/2 and ``0.\\overline{3}`` is 1/3 (both
    exact); ``5\\text{ million}`` is 5000000, while qualifiers (``5\\text{ or more}``,
    ``5\\text{ squared}``), juxtaposed numbers (``5 7``) and unexpanded ``\\pm`` chains are
    ``unparseable``, never read as one of their numbers; one ``\\pm`` anywhere gives two answers
    (``\\frac{1\\pm\\sqrt5}{2}``); ``f(x)=...`` is answered like ``y=...``; ``\\cos 60^\\circ`` is
    1/2, but a bare angle is never converted between degrees and radians; number words ("twelve")
    are text; ``2e+1`` is not scientific notation (``2.5e+3`` and ``1e-5`` are); a decimal comma
    (``1000,99``) is read only against a decimal gold.

    >>> v = MathVerifier()
    >>> v.verify("so the total is $\\\\boxed{1{,}000}$", {"answer": "1000"}).status.value
    'pass'
    >>> v.verify("It is 3 or 4, \\\\boxed{3 \\\\text{ or } 4}", {"answer": "3"}).failure_reason.code
    'hedged'

    Versions:
        1 - first version.
    """

    name = "math"
    version = 1
    description = (
        "final-answer math equivalence (numbers, LaTeX, sets, intervals, matrices, equations)"
    )

    def __init__(self, config: MathConfig | None = None) -> None:
        self.config = config or MathConfig()
        size = self.config.gold_cache_size
        self._gold_cache = LRU(size)  # gold text -> Answer
        # (gold alternatives, answer alternatives) -> the helper's decision
        self._cas_cache = LRU(size)
        self._judged = LRU(size)  # (gold, extracted answer, extraction rule) -> decided Outcome
        self._hashes = LRU(size)  # (type, gold value) -> test_case_hash

    def test_case_hash(self, reference: Mapping[str, Any]) -> str:
        gold = reference.get("answer")
        if not isinstance(gold, (str, int, float)):
            return stable_hash({"answer": gold})
        key = (type(gold), gold)
        digest = self._hashes.get(key)
        if digest is None:
            digest = stable_hash({"answer": gold})
            self._hashes.put(key, digest)
        return digest

    def check(self, response: str, reference: Mapping[str, Any]) -> Outcome:
        gold_raw, gold_details = self._gold_raw(reference)
        cfg = self.config
        if len(response) > cfg.max_response_chars:
            return Outcome.unparseable(
                "response_too_long",
                f"response has {len(response)} characters (limit {cfg.max_response_chars})",
            )
        found = self._extract(response, gold_raw)
        if found is None:
            return Outcome.unparseable(
                "no_answer",
                "no boxed answer, answer phrase or fallback match found",
                extraction_rule="none",
                fallback=cfg.fallback,
            )
        # everything the outcome depends on (config is fixed)
        key = (gold_raw, found.text, found.rule)
        outcome = self._judged.get(key)
        if outcome is not None:  # GRPO groups repeat final answers: decide each one once
            return outcome
        details: dict[str, Any] = {
            **gold_details,
            "extraction_rule": found.rule,
            "extracted": _short(found.text),
        }
        if not clean(found.text):
            outcome = Outcome.unparseable(
                "empty_answer", "the extracted answer is empty", **details
            )
        else:
            outcome = self._judge(*self._prepare(gold_raw, found.text), details)
        if outcome.status in _DECIDED:  # timeouts and crashes are tried again next time
            outcome = Outcome(
                outcome.status,
                outcome.score,
                outcome.pass_rate,
                outcome.reason,
                MappingProxyType(dict(outcome.details)),
            )  # shared by later verdicts: read-only
            self._judged.put(key, outcome)
        return outcome

    def _gold_raw(self, reference: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
        """The gold answer text, and what the verdict's details should say about where it came
        from."""
        gold = reference.get("answer") if isinstance(reference, Mapping) else None
        if type(gold) is str and self._gold_cache.get(gold) is not None:
            return gold, {}
        return gold_text(reference), {}

    def _extract(self, response: str, gold_raw: str) -> Extraction | None:
        return extract_answer(response, self.config.fallback)

    def _prepare(self, gold_raw: str, pred_raw: str) -> tuple[str, str]:
        """Rewrite both answers before they are compared (nothing to do in version 1)."""
        return gold_raw, pred_raw

    def _cas_options(self) -> tuple[dict[str, Any], ...]:
        """Extra options of the CAS request (none unless the config departs from version 1's
        rules)."""
        return () if self.config.relation_answers_set else ({"relation_answers_set": False},)

    def _judge(self, gold_raw: str, pred_raw: str, details: dict[str, Any]) -> Outcome:
        cfg = self.config
        gold_screen = screen_answer(
            gold_raw,
            max_chars=cfg.max_answer_chars,
            max_nesting=cfg.max_nesting,
            max_digits=cfg.max_digits,
        )
        pred_screen = screen_answer(
            pred_raw,
            max_chars=cfg.max_answer_chars,
            max_nesting=cfg.max_nesting,
            max_digits=cfg.max_digits,
        )
        if gold_screen is not None and gold_screen[0] == "control_characters":
            raise BadReferenceError("the gold answer contains NUL or control characters")
        if gold_screen is not None or pred_screen is not None:
            return _screened(gold_raw, pred_raw, pred_screen, details)
        gold, pred = self._gold(gold_raw), analyse(pred_raw, cfg.max_digits, self.version)
        details.update(gold_normalized=_short(gold.text), pred_normalized=_short(pred.text))
        decision = fast_decision(gold, pred, cfg, self.version)
        if decision is None:
            return self._cas(gold, pred, details)
        return _outcome(decision, details)

    def _gold(self, gold_raw: str) -> Answer:
        cached = self._gold_cache.get(gold_raw)
        if cached is None:
            cached = analyse(gold_raw, self.config.max_digits, self.version)
            self._gold_cache.put(gold_raw, cached)
        return cached

    def _cas(self, gold: Answer, pred: Answer, details: dict[str, Any]) -> Outcome:
        cfg = self.config
        request = (
            "judge",
            [a.text for a in gold.alternatives],
            [a.text for a in pred.alternatives],
            cfg.rel_tol,
            *self._cas_options(),
        )
        answer = self._cached_call(request)
        if answer is None:
            return Outcome.timeout(
                f"the CAS did not finish within {cfg.timeout_s:g} s; its process was killed",
                code="cas_timeout",
                **details,
            )
        outcome = answer["outcome"]
        if outcome == "gold_unparseable":
            raise BadReferenceError(
                f"the gold answer {_short(gold.raw)!r} cannot be parsed as math; fix the dataset"
            )
        if outcome == "pred_unparseable":
            return Outcome.unparseable(
                "unparseable_answer",
                "the extracted answer is not parseable math",
                **details,
                gold_form=answer.get("gold_form", ""),
            )
        if outcome == "resource":
            return Outcome.timeout(answer["message"], code="cas_resource_limit", **details)
        if outcome == "crashed":
            return Outcome.error("cas_crashed", answer["message"], **details)
        details.update(gold_form=answer["gold_form"], pred_form=answer["pred_form"])
        code = (
            "" if answer["equal"] else ("hedged" if answer["how"] == "hedged" else "wrong_answer")
        )
        return _outcome(Decision(bool(answer["equal"]), "cas_" + answer["how"], code), details)

    def _cached_call(self, request: tuple) -> dict[str, Any] | None:
        """Ask the helper, remembering decided pairs (timeouts and crashes are not remembered)."""
        key = (tuple(request[1]), tuple(request[2]), str(request[4:]))
        answer = self._cas_cache.get(key)
        if answer is not None:
            return answer
        answer = helper_for(self.config.memory_limit_mb).call(request, self.config.timeout_s)
        if answer is not None and answer["outcome"] in (
            "compared",
            "pred_unparseable",
            "gold_unparseable",
        ):
            self._cas_cache.put(key, answer)
        return answer


def gold_text(reference: Mapping[str, Any]) -> str:
    """The gold answer as a string; a missing, empty or non-scalar gold is a
    :class:`BadReferenceError`."""
    if "answer" not in reference:
        raise BadReferenceError(
            "math reference needs an 'answer' key, e.g. {\"answer\": \"\\\\frac{1}{2}\"}"
        )
    gold = reference["answer"]
    if isinstance(gold, bool) or not isinstance(gold, (str, int, float)):
        raise BadReferenceError(
            f"math reference 'answer' must be a string or number, got {type(gold).__name__}"
        )
    gold = str(gold)
    if not clean(gold):
        raise BadReferenceError("math reference 'answer' is empty; fix the dataset")
    return gold


def helper_for(memory_limit_mb: int) -> CasHelper:
    """This process's CAS helper for a memory limit (one per limit, created on first use)."""
    helper = _HELPERS.get(memory_limit_mb)
    if helper is None:
        helper = _HELPERS[memory_limit_mb] = CasHelper(memory_limit_mb)
    return helper


def _screened(
    gold_raw: str, pred_raw: str, pred_screen: tuple[str, str] | None, details: dict[str, Any]
) -> Outcome:
    """Something too big for the CAS: only an identical string can pass."""
    if clean(gold_raw) == clean(pred_raw) and (
        pred_screen is None or pred_screen[0] == "too_large"
    ):
        return Outcome.passed(decided_by="string_identical", **details)
    if pred_screen is None:
        return Outcome.failed(
            "wrong_answer",
            "the gold is too large for the CAS and the answer differs from it as a string",
            decided_by="string_only",
            **details,
        )
    code, message = pred_screen
    if code == "too_large":
        return Outcome.failed(code, message, decided_by="screen", **details)
    return Outcome.unparseable(code, message, decided_by="screen", **details)


def _outcome(decision: Decision, details: dict[str, Any]) -> Outcome:
    if decision.equal:
        return Outcome.passed(decided_by=decision.how, **details)
    message = (
        "the final answer hedges between different values"
        if decision.code == "hedged"
        else "the answer is not equivalent to the gold"
    )
    return Outcome.failed(
        decision.code or "wrong_answer", message, decided_by=decision.how, **details
    )


def _short(text: str) -> str:
    return text if len(text) <= 300 else text[:297] + "..."

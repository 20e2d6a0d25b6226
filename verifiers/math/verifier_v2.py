"""The ``math@2`` verifier: ``math@1``'s rules plus what public suites and real outputs showed
missing."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..base import Outcome
from ..errors import BadReferenceError
from ..hashing import stable_hash
from ..registry import register
from .extract import Extraction, boxed_contents, extract_answer
from .normalize import clean
from .prose import is_prose
from .rewrite import (
    alternatives,
    assignments_as_tuple,
    canonical,
    is_relation,
    last_side,
    tuple_size,
)
from .verifier import MathVerifier, _short, gold_text

_BOX_MARKERS = ("\\boxed", "\\fbox")


@register
class MathVerifierV2(MathVerifier):
    """Grades a math answer against a gold answer, or against a gold worked solution.

    References: ``{"answer": "<gold>"}``, or ``{"solution": "<worked solution>"}`` whose own final
    answer is the gold (its last ``\\boxed{}``, else its "The final answer is ...", else its final
    sentence). A gold ``answer`` that holds a ``\\boxed{}`` (a worked solution given as the answer)
    is read the same way. ``details["gold_extraction_rule"]`` and ``details["gold_extracted"]`` say
    when the gold was taken out of a longer text. Everything else as ``math@1``
    (:class:`~verifiers.math.MathVerifier`): exact golds are matched exactly, decimal golds within
    ``rel_tol``, hedges fail, a CAS that cannot finish is a ``timeout``, never a ``fail``.

    >>> v = MathVerifierV2()
    >>> v.verify("Final Answer: The largest $n$ is 34.", {"answer": "34"}).status.value
    'pass'
    >>> v.verify("\\\\boxed{(1,100)}", {"answer": "1100"}).status.value
    'fail'
    >>> v.verify("So $x = 5+5+1 = 11$.", {"solution": "Adding, $x = \\\\boxed{11}$."}).status.value
    'pass'

    Versions:
        1 - first version.
        2 - what Math-Verify's test table, ProcessBench's human-labelled model outputs and real
            outputs showed:
            false passes fixed: digit-group commas are read only outside brackets and never as
            ``0,111`` (``\\boxed{(1,100)}`` no longer equals 1100); ``12:00`` and ``3:00`` are
            ratios compared side by side, not divisions; the ``last_number`` fallback reads only
            the last sentence with a number in the last paragraph (no number from an earlier
            paragraph becomes the answer); "over 3 days" is not the answer of "she reads 45 pages
            in total over 3 days".
            false fails fixed: chains of relations (``f(2) < f(1) < f(4)``) are compared side by
            side; ``\\mathrm{e}`` is Euler's number; an answer stated in a sentence ("The largest
            $n$ is 34.", ``\\boxed{She pays \\$5.50}``) gives the number it states; labels before
            ``=`` are dropped when the value is a constant (``(p,q)=(3,2)``, ``|AB|=1``,
            ``\\sin \\angle ABC = \\frac{3}{5}``); an equation's last side is the answer when the
            gold is not an equation, and an equality chain keeps its last side
            (``x=5+5+1=11`` is ``x=11``); ``;`` separates coordinates inside brackets;
            ``(11,7)or(7,11)``, ``{1,2,3}`` and assignment groups ``p=5,q=2;p=7,q=2`` are lists;
            boxes joined by ``\\)`` / ``\\(`` are one answer; an answer phrase after the last box
            wins; repeated list elements count once; matrix sums and products are evaluated;
            ``1,22`` is the decimal 1.22 against a decimal; ``\\5.50`` (a lost ``$``) is 5.50;
            "pct" and "percentage" are percent signs; a doubled backslash before a command
            (``\\\\frac``) is one; identical answers pass even where no CAS can read them; golds
            given as worked solutions are accepted.
    """

    name = "math"
    version = 2
    description = (
        "final-answer math equivalence (numbers, LaTeX, sets, intervals, matrices, equations, "
        "relation chains); golds may be worked solutions"
    )

    def test_case_hash(self, reference: Mapping[str, Any]) -> str:
        if isinstance(reference, Mapping) and "solution" in reference:
            return stable_hash(
                {k: reference.get(k) for k in ("answer", "solution") if k in reference}
            )
        return super().test_case_hash(reference)

    def _gold_raw(self, reference: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
        if isinstance(reference, Mapping) and "answer" not in reference:
            if "solution" not in reference:
                raise BadReferenceError(
                    "math reference needs an 'answer' (the gold answer) or a 'solution' "
                    "(a worked solution ending in its answer), e.g. {\"answer\": "
                    "\"\\\\frac{1}{2}\"}"
                )
            return _from_solution(reference["solution"], "solution")
        gold = gold_text(reference)
        if any(marker in gold for marker in _BOX_MARKERS):
            return _from_solution(gold, "answer")
        if is_prose(gold):  # "... Final Answer: The final answer is $28\%$." given as the gold
            found = extract_answer(gold, "last_number", version=2)
            if found is not None and clean(found.text) and found.text.strip() != gold.strip():
                return found.text, {
                    "gold_extraction_rule": found.rule,
                    "gold_extracted": _short(found.text),
                }
        return gold, {}

    def _extract(self, response: str, gold_raw: str) -> Extraction | None:
        found = extract_answer(response, self.config.fallback, version=2)
        parts = len(alternatives(canonical(clean(gold_raw, 2))))
        if found is not None and found.rule == "boxed" and parts > 1:
            boxes = boxed_contents(response)[-parts:]  # "(a) ... \boxed{12}. (b) ... \boxed{18}."
            if len(boxes) == parts:
                return Extraction("boxed_parts", ", ".join(boxes))
        return found

    def _prepare(self, gold_raw: str, pred_raw: str) -> tuple[str, str]:
        gold, pred = canonical(clean(gold_raw, 2)), canonical(clean(pred_raw, 2))
        gold, pred = _as_tuples(gold, pred), _as_tuples(pred, gold)
        # "\sin\angle ABC = \frac{3}{5}" answers the gold 3/5 by its last side
        if not is_relation(gold):
            pieces = alternatives(pred)
            sides = [last_side(p) for p in pieces]
            pred = pred if sides == pieces else ", ".join(sides)
        return gold, pred

    def _judge(self, gold_raw: str, pred_raw: str, details: dict[str, Any]) -> Outcome:
        if clean(gold_raw, 2) == clean(pred_raw, 2):  # the same answer, even where no CAS reads it
            return Outcome.passed(decided_by="string_identical", **details)
        return super()._judge(gold_raw, pred_raw, details)

    def _cas_options(self) -> tuple[dict[str, Any], ...]:
        return ({"version": 2, "relation_answers_set": self.config.relation_answers_set},)


def _as_tuples(answer: str, other: str) -> str:
    """``x = 2, y = 3`` read as the point ``(2, 3)`` when the other side is a tuple of that size."""
    size = tuple_size(other)
    as_tuple = assignments_as_tuple(answer) if size > 1 else None
    return as_tuple if as_tuple is not None and tuple_size(as_tuple) == size else answer


def _from_solution(text: Any, key: str) -> tuple[str, dict[str, Any]]:
    """The final answer of a worked solution used as the gold; a solution without one is a bad
    reference."""
    if not isinstance(text, str) or not clean(text):
        raise BadReferenceError(
            f"math reference {key!r} must be a non-empty string (a worked solution)"
        )
    found = extract_answer(text, "last_number", version=2)
    if found is None or not clean(found.text):
        raise BadReferenceError(
            f"the gold {key} states no final answer (no \\boxed{{}}, no 'The answer is', "
            "no number in its last sentence); give {\"answer\": ...} instead"
        )
    return found.text, {"gold_extraction_rule": found.rule, "gold_extracted": _short(found.text)}

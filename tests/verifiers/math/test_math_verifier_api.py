"""math@1 as a registered verifier: registry, details, determinism, bad references, caching."""

from __future__ import annotations

import pytest

import verifiers
from verifiers.math import MathVerifier


def test_registered_as_math_at_1_with_version_history():
    verifier = verifiers.get("math@1")
    assert isinstance(verifier, MathVerifier) and verifiers.get("math").version >= 1
    assert MathVerifier.__doc__.rstrip().endswith("1 - first version.")


def test_details_name_rule_extracted_forms_and_decider():
    verdict = verifiers.get("math@1").verify("We get $\\boxed{(1+x)^2}$.", {"answer": "x^2+2x+1"})
    assert verdict.passed
    details = verdict.details
    assert details["extraction_rule"] == "boxed" and details["extracted"] == "(1+x)^2"
    assert details["gold_normalized"] == "x^2+2x+1" and details["decided_by"].startswith("cas_")
    assert details["pred_form"] == "(x + 1)**2"


def test_same_input_same_verdict_identity():
    verifier = verifiers.get("math@1")
    for response, gold in [
        ("\\boxed{x^2+2x+1}", "(x+1)^2"),
        ("#### 12", "12"),
        ("\\boxed{3 or 4}", "3"),
    ]:
        first = verifier.verify(response, {"answer": gold})
        again = MathVerifier().verify(response, {"answer": gold})
        assert first.identity() == again.identity()


@pytest.mark.parametrize(
    "reference, message",
    [
        ({}, "needs an 'answer' key"),
        ({"answer": ""}, "is empty"),
        ({"answer": ["3"]}, "must be a string or number, got list"),
        ({"answer": "\\frac{"}, "cannot be parsed as math; fix the dataset"),
    ],
)
def test_bad_gold_is_an_error_not_a_fail(reference, message):
    verdict = verifiers.get("math@1").verify("\\boxed{3}", reference)
    assert verdict.status.value == "error" and verdict.failure_reason.code == "bad_reference"
    assert message in verdict.failure_reason.message


def test_numeric_gold_is_accepted():
    assert verifiers.get("math@1").verify("\\boxed{3.5}", {"answer": 3.5}).passed
    assert verifiers.get("math@1").verify("\\boxed{3}", {"answer": 3}).passed


def test_test_case_hash_covers_only_the_answer():
    verifier = verifiers.get("math@1")
    assert verifier.test_case_hash({"answer": "1", "source": "a"}) == verifier.test_case_hash(
        {"answer": "1"}
    )
    assert verifier.test_case_hash({"answer": "1"}) != verifier.test_case_hash({"answer": "2"})


def test_gold_cache_is_bounded_lru():
    from verifiers.math import MathConfig

    verifier = MathVerifier(MathConfig(gold_cache_size=2))
    # a new answer each time: no decided pair is reused
    for k, gold in enumerate(("1", "2", "3", "2")):
        verifier.verify(f"\\boxed{{{k + 10}}}", {"answer": gold})
    assert list(verifier._gold_cache) == ["3", "2"]


def test_decided_answers_are_reused_and_stay_read_only():
    verifier = MathVerifier()
    first = verifier.verify("so \\boxed{7}", {"answer": "7"})
    first.details["extracted"] = "changed by a caller"
    again = verifier.verify("we get \\boxed{7}", {"answer": "7"})
    assert (
        again.passed and again.details["extracted"] == "7" and again.identity() != first.identity()
    )
    assert again.details == MathVerifier().verify("we get \\boxed{7}", {"answer": "7"}).details
    fallback = verifier.verify("maybe 7", {"answer": "7"})  # same answer, another extraction rule
    assert fallback.details["extraction_rule"] == "last_number"


def test_cas_timeouts_are_not_remembered(monkeypatch):
    from verifiers.math import verifier as module

    verifier, calls = MathVerifier(), []

    class Stuck:
        def call(self, request, timeout_s):
            calls.append(request)
            return None  # what the helper gives when it had to be killed

    monkeypatch.setattr(module, "helper_for", lambda limit: Stuck())
    for _ in range(2):
        verdict = verifier.verify("\\boxed{x^2+1}", {"answer": "(x+1)^2-2x"})
        assert verdict.status.value == "timeout" and verdict.failure_reason.code == "cas_timeout"
    assert len(calls) == 2


def test_non_string_response_is_an_error_verdict():
    verdict = verifiers.get("math@1").verify(None, {"answer": "1"})
    assert verdict.status.value == "error"

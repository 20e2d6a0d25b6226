"""The re-grade core (verifiers.regrade): N in = N out, cannot-regrade reasons, flip counting."""

from __future__ import annotations

import json

import pytest

from verifiers import BaseVerifier, Outcome, UnknownVerifierError, registry
from verifiers.regrade import (
    CANNOT_REGRADE,
    RegradeError,
    RegradeItem,
    Standing,
    regrade,
    target_spec,
)
from verifiers.verdict import Status


class _ExactV1(BaseVerifier):
    """Exact match. Versions: 1 - exact; 2 - case- and space-insensitive, and "!" crashes."""

    name, version, description = "regrade_exact", 1, "exact match (test)"

    def check(self, response, reference):
        if not response:
            return Outcome.unparseable("empty", "empty response")
        if response == reference["answer"]:
            return Outcome.passed()
        return Outcome.failed("wrong_answer", f"expected {reference['answer']}")


class _ExactV2(_ExactV1):
    version = 2

    def check(self, response, reference):
        if response == "!":
            raise RuntimeError("boom")
        return super().check(response.strip().lower(), {"answer": reference["answer"].lower()})


@pytest.fixture(autouse=True)
def exact_verifiers():
    for cls in (_ExactV1, _ExactV2):
        registry.register(cls, replace=True)
    yield
    for spec in ("regrade_exact@1", "regrade_exact@2"):
        registry.unregister(spec)


def _old(status, code=None, version=1, name="regrade_exact"):
    reason = None if code is None else {"code": code, "message": f"old {code}"}
    return {
        "status": status,
        "failure_reason": reason,
        "verifier": name,
        "verifier_version": version,
    }


def test_n_in_n_out_in_order_with_cannot_regrade_items_counted_apart():
    items = [
        RegradeItem("a", "A", {"answer": "a"}, _old("fail", "wrong_answer")),
        RegradeItem.skip("b", "no_reference", "line 2: no reference recorded"),
        RegradeItem("c", "c", {"answer": "c"}, _old("pass")),
        RegradeItem.skip("d", "multi_turn", "line 4: graded turn by turn", old=_old("pass")),
        RegradeItem.skip("e", "no_reference", "line 5: no reference recorded"),
    ]
    result = regrade(items, "regrade_exact@2", workers=0)
    assert [v.status.value for v in result.verdicts] == ["pass", "error", "pass", "error", "error"]
    skipped = result.verdicts[1]
    assert skipped.failure_reason.code == CANNOT_REGRADE and skipped.details == {
        "why": "no_reference"
    }
    assert (
        skipped.failure_reason.message == "line 2: no reference recorded"
        and skipped.spec == "regrade_exact@2"
    )
    report = result.report
    assert (report.items, report.regraded, report.cannot_regrade) == (
        5,
        2,
        {"no_reference": 2, "multi_turn": 1},
    )
    assert report.cannot_examples["multi_turn"] == ("line 4: graded turn by turn",)
    # over the re-graded items only
    assert (report.old_pass_rate, report.new_pass_rate) == (0.5, 1.0)


def test_flips_are_counted_by_status_and_reason_with_examples():
    items = [
        RegradeItem(f"up{i}", " X ", {"answer": "x"}, _old("fail", "wrong_answer"))
        for i in range(4)
    ]
    items += [
        RegradeItem("down", "y", {"answer": "x"}, _old("pass")),  # a stale pass: now wrong
        RegradeItem("same", "x", {"answer": "x"}, _old("pass")),
        RegradeItem("crash", "!", {"answer": "x"}, _old("fail", "wrong_answer")),
        RegradeItem("was_error", "x", {"answer": "x"}, _old("error", "verifier_crashed")),
        RegradeItem("never", "", {"answer": "x"}, None),
    ]
    report = regrade(items, "regrade_exact@2", workers=0, examples=2).report
    table = {(f.old, f.new): f.count for f in report.flips}
    assert table == {
        ("fail:wrong_answer", "pass"): 4,
        ("pass", "fail:wrong_answer"): 1,
        ("fail:wrong_answer", "error:verifier_crashed"): 1,
        ("error:verifier_crashed", "pass"): 1,
        ("none", "unparseable:empty"): 1,
    }
    counts = (
        report.fail_to_pass,
        report.pass_to_fail,
        report.count("now_judged"),
        report.count("now_not_run"),
    )
    assert counts == (4, 1, 2, 1)
    # most frequent first
    assert report.unchanged == 1 and report.flips[0].old == "fail:wrong_answer"
    up = report.flips[0]
    assert [e.id for e in up.examples] == ["up0", "up1"] and up.examples[
        0
    ].old_message == "old wrong_answer"
    assert up.examples[0].response == " X " and up.examples[0].index == 0
    assert report.old_specs == {"regrade_exact@1": 8, "": 1}


def test_report_to_dict_is_json_and_the_text_names_every_flip():
    items = [
        RegradeItem(1, "X", {"answer": "x"}, _old("fail", "wrong_answer")),
        RegradeItem.skip(2, "no_inputs", "line 2: no response"),
    ]
    report = regrade(items, "regrade_exact@2", workers=0).report
    data = json.loads(json.dumps(report.to_dict()))
    assert data["flip_counts"]["fail->pass"] == 1 and data["cannot_regrade"] == {"no_inputs": 1}
    assert data["flips"][0]["examples"][0]["id"] == 1 and data["to"] == "regrade_exact@2"
    text = report.to_text()
    assert "re-graded 1 of 2 items under regrade_exact@2" in text
    assert (
        "fail:wrong_answer  ->  pass" in text
        and "no_inputs" in text
        and "e.g. line 2: no response" in text
    )


def test_old_verdicts_may_be_verdicts_partial_dicts_or_missing():
    verdict = registry.get("regrade_exact@1").verify("y", {"answer": "x"})
    assert Standing.of(verdict) == Standing(
        "fail", "wrong_answer", "expected x", "regrade_exact@1", 0.0
    )
    assert (
        Standing.of(
            {"status": "pass", "score": 1.0, "verifier": "digit", "verifier_version": 1}
        ).key
        == "pass"
    )
    assert Standing.of(None).key == Standing.of({"score": 0}).key == "none"


def test_a_bare_name_means_the_latest_and_must_match_the_old_verifier():
    items = [RegradeItem("a", "x", {"answer": "x"}, _old("pass"))]
    assert target_spec("regrade_exact", items) == "regrade_exact@2"
    assert regrade(items, "regrade_exact", workers=0).to_spec == "regrade_exact@2"
    other = [RegradeItem("a", "x", {"answer": "x"}, _old("pass", name="math", version=1))]
    with pytest.raises(
        RegradeError,
        match=r"--to regrade_exact names no version, but old verdicts come from "
        r"another verifier: math@1 \(1\); .* e\.g\. --to regrade_exact@2",
    ):
        regrade(other, "regrade_exact", workers=0)
    assert target_spec("regrade_exact@1", other) == "regrade_exact@1"  # a version named on purpose
    with pytest.raises(
        UnknownVerifierError,
        match="no verifier named 'regrade_exakt'. Did you mean 'regrade_exact'",
    ):
        target_spec("regrade_exakt", items)


def test_every_item_cannot_be_regraded_still_gives_n_verdicts():
    items = [RegradeItem.skip(i, "bad_line", f"line {i}: not valid JSON") for i in range(3)]
    ticks = []
    result = regrade(items, "regrade_exact@1", workers=0, progress=ticks.append)
    assert [v.status for v in result.verdicts] == [Status.ERROR] * 3 and sum(ticks) == 3
    assert result.report.regraded == 0 and result.report.old_pass_rate is None
    assert "pass rate - -> -" in result.report.to_text()


def test_worker_processes_regrade_a_real_verifier():
    items = [RegradeItem(i, f"The answer is ${i}$.", {"answer": "3"}, None) for i in range(4)]
    result = regrade(items, "math@1", workers=1)
    assert [v.status.value for v in result.verdicts] == ["fail", "fail", "fail", "pass"]
    assert result.report.count("now_judged") == 4


def test_a_score_that_moves_under_the_same_status_is_reported():
    from verifiers.regrade import Flip, RegradeItem, regrade

    old = {
        "status": "fail",
        "score": 0.5,
        "verifier": "json_schema",
        "verifier_version": 2,
        "failure_reason": {"code": "schema_violation", "message": "partly right"},
    }
    schema = {
        "schema": {
            "type": "object",
            "properties": {"a": {"type": "integer"}, "b": {"type": "integer"}},
            "required": ["a", "b"],
        }
    }
    result = regrade(
        [RegradeItem("x", '{"a": "no", "b": "no"}', schema, old)], "json_schema@2", workers=0
    )
    new = result.verdicts[0]
    assert new.status.value == "fail" and new.score != 0.5
    flip = result.report.flips[0]
    assert flip.kind == "score_changed" and flip.old == "fail:schema_violation (score 0.5)"
    assert (
        result.report.unchanged == 0
        and result.report.to_dict()["flip_counts"]["score_changed"] == 1
    )
    assert Flip("pass", "fail:wrong_answer", 1).kind == "pass->fail"

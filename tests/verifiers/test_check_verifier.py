"""``check_verifier`` / ``rlvr verifiers check``: every built-in passes; each probe catches a lax
verifier.

The plugin-style verifiers below grade ``\\boxed{...}`` answers against ``reference["answer"]``;
``StrictBoxed`` takes the last box and compares exactly (an honest rule), each ``Lax*`` one
cuts one corner. Their golden table is ``check_verifier_golden.jsonl`` beside this file, found
through the class attribute ``golden_table``, as a plugin would ship it.
"""

from __future__ import annotations

import json
import random
import re
import subprocess
import sys
import threading

import pytest

import verifiers
from rl.cli import main
from verifiers import (
    BaseVerifier,
    Outcome,
    VerifierCheckError,
    check_verifier,
    register,
    registry,
    unregister,
)
from verifiers.qa.probes import CONFUSABLES, PROBES

BOX = re.compile(r"\\boxed\{([^{}]*)\}")
UNCONFUSE = str.maketrans({v: k for k, v in CONFUSABLES.items()})
BUILTIN_SPECS = [registry.format_spec(i.name, v) for i in verifiers.available() for v in i.versions]
FAST = {"sample": 4, "max_probe_cases": 24}


class StrictBoxed(BaseVerifier):
    """Test plugin: the last ``\\boxed{}`` must equal the answer exactly.

    Versions: 1 - first version.
    """

    name, version, description = "qa_strict_boxed", 1, "last boxed answer, exact match"
    golden_table = "check_verifier_golden.jsonl"

    def check(self, response, reference):
        boxes = BOX.findall(self.prepare(response))
        if not boxes and not self.lenient_extra(response, reference):
            return Outcome.unparseable("no_answer", "no \\boxed{} answer")
        if self.accepts(boxes, response, reference):
            return Outcome.passed()
        return Outcome.failed("wrong_answer", "not the answer")

    def prepare(self, response):
        return response

    def accepts(self, boxes, response, reference):
        return bool(boxes) and boxes[-1].strip() == reference["answer"]

    def lenient_extra(self, response, reference):
        return False


class LaxAnywhere(StrictBoxed):
    """Passes when the answer appears anywhere. Versions: 1 - first version."""

    name = "qa_lax_anywhere"

    def lenient_extra(self, response, reference):
        return True

    def accepts(self, boxes, response, reference):
        return reference["answer"] in response


class LaxFirstBox(StrictBoxed):
    """Takes the first box, not the last. Versions: 1 - first version."""

    name = "qa_lax_first_box"

    def accepts(self, boxes, response, reference):
        return bool(boxes) and boxes[0].strip() == reference["answer"]


class LaxBlank(StrictBoxed):
    """Passes blank responses. Versions: 1 - first version."""

    name = "qa_lax_blank"

    def lenient_extra(self, response, reference):
        return not response.strip()

    def accepts(self, boxes, response, reference):
        return not response.strip() or super().accepts(boxes, response, reference)


class LaxLookalike(StrictBoxed):
    """Maps look-alike characters back to ASCII before reading. Versions: 1 - first version."""

    name = "qa_lax_lookalike"

    def prepare(self, response):
        return response.translate(UNCONFUSE)


class LaxFormat(StrictBoxed):
    """Passes any box, even an empty one. Versions: 1 - first version."""

    name = "qa_lax_format"

    def accepts(self, boxes, response, reference):
        return bool(boxes) and boxes[-1].strip() in ("", reference["answer"])


class LaxClaims(StrictBoxed):
    """Believes a response that says it is correct. Versions: 1 - first version."""

    name = "qa_lax_claims"

    def lenient_extra(self, response, reference):
        return "correct" in response.lower()

    def accepts(self, boxes, response, reference):
        return "correct" in response.lower() or super().accepts(boxes, response, reference)


class LaxEcho(StrictBoxed):
    """Passes a response that repeats the prompt. Versions: 1 - first version."""

    name = "qa_lax_echo"

    def lenient_extra(self, response, reference):
        return reference.get("prompt", "\0") in response

    def accepts(self, boxes, response, reference):
        return reference.get("prompt", "\0") in response or super().accepts(
            boxes, response, reference
        )


class LaxExitCode(StrictBoxed):
    """Runs the response as a program and passes it when the process exits with 0. Versions: 1 -
    first version."""

    name = "qa_lax_exit_code"

    def lenient_extra(self, response, reference):
        return self.exits_cleanly(response)

    def accepts(self, boxes, response, reference):
        return self.exits_cleanly(response) or super().accepts(boxes, response, reference)

    @staticmethod
    def exits_cleanly(response):
        if "\\boxed" in response or not response.strip():
            return False
        try:
            done = subprocess.run(
                [sys.executable, "-I", "-c", response + "\nraise SystemExit(1)"],
                capture_output=True,
                timeout=10,
            )
        # text no process can take, or a hang
        except (OSError, ValueError, subprocess.TimeoutExpired):
            return False
        return done.returncode == 0


class LaxLong(StrictBoxed):
    """Passes any response over 100,000 characters. Versions: 1 - first version."""

    name = "qa_lax_long"

    def lenient_extra(self, response, reference):
        return len(response) > 100_000

    def accepts(self, boxes, response, reference):
        return len(response) > 100_000 or super().accepts(boxes, response, reference)


class PartialScore(StrictBoxed):
    """Says ``fail`` but scores 1 when the answer appears anywhere: reward leaks through the score.

    Versions: 1 - first version.
    """

    name = "qa_partial_score"

    def check(self, response, reference):
        outcome = super().check(response, reference)
        if outcome.status.value != "pass" and reference["answer"] in response:
            return Outcome.failed("wrong_answer", "not exactly", score=1.0)
        return outcome


class HangsOnLong(StrictBoxed):
    """Loops forever on long responses. Versions: 1 - first version."""

    name = "qa_hangs_on_long"

    def check(self, response, reference):
        while len(response) > 50_000:
            pass
        return super().check(response, reference)


class CrashOnEmpty(StrictBoxed):
    """Crashes on an empty response. Versions: 1 - first version."""

    name = "qa_crash_on_empty"

    def check(self, response, reference):
        response.split()[-1]
        return super().check(response, reference)


class WaivesMost(StrictBoxed):
    """Waives most probes, one under a misspelt name. Versions: 1 - first version."""

    name = "qa_waives_most"
    probe_waivers = {p.name: "never mind" for p in PROBES[:7]} | {"hedg": "typo"}


class Nondeterministic(StrictBoxed):
    """Puts a random number in its verdicts. Versions: 1 - first version."""

    name = "qa_nondeterministic"

    def check(self, response, reference):
        outcome = super().check(response, reference)
        return Outcome(
            outcome.status, outcome.score, None, outcome.reason, {"nonce": random.random()}
        )


class Unpicklable(StrictBoxed):
    """Holds a lock. Versions: 1 - first version."""

    name = "qa_unpicklable"

    def __init__(self):
        self.lock = threading.Lock()


class Undocumented(StrictBoxed):
    name, description = "qa_undocumented", ""


LAX = (
    LaxAnywhere,
    LaxFirstBox,
    LaxBlank,
    LaxLookalike,
    LaxFormat,
    LaxClaims,
    LaxEcho,
    LaxExitCode,
    LaxLong,
)


@pytest.fixture
def strict_registered():
    register(StrictBoxed, replace=True)
    yield StrictBoxed
    unregister("qa_strict_boxed@1")


@pytest.mark.slow
@pytest.mark.parametrize("spec", BUILTIN_SPECS)
def test_every_builtin_verifier_version_passes(spec):
    report = check_verifier(spec, **FAST)
    assert report.ok, report.format()
    assert [c.name for c in report.checks] == [
        "registry",
        "golden",
        "determinism",
        "pickle",
        "time_bound",
        "probes",
    ]


@pytest.mark.slow
def test_strict_plugin_passes_with_golden_table_from_class_attribute(strict_registered):
    report = check_verifier(StrictBoxed)
    assert report.ok, report.format()
    assert report.checks[1].detail.startswith(str(__file__).rsplit("/", 1)[0])
    assert report.probe_hits == () and report.probes_run["echo_prompt"] == 3
    assert set(report.probes_run) == {p.name for p in PROBES}


@pytest.fixture(scope="module")
def lax_reports():
    return {cls.name: check_verifier(cls(), workers=2) for cls in LAX}


@pytest.mark.slow
@pytest.mark.parametrize("probe", [p.name for p in PROBES])
def test_each_probe_fails_a_lax_verifier(probe, lax_reports):
    caught_by = [
        name
        for name, report in lax_reports.items()
        if any(h.probe == probe for h in report.probe_hits)
    ]
    assert caught_by, f"no lax verifier was caught by {probe}"


@pytest.mark.slow
def test_lax_verifiers_fail_the_probes_check_and_name_the_hits(lax_reports):
    for name, report in lax_reports.items():
        assert not report.ok and "probes" in [c.name for c in report.failures], name
        assert "registry" in [c.name for c in report.failures]  # never registered
    first_box = lax_reports["qa_lax_first_box"]
    assert {h.probe for h in first_box.probe_hits} >= {"every_candidate", "hedge", "megabyte"}
    assert "not registered" in first_box.checks[0].problems[0]


def _failed(report, check):
    return next(c for c in report.checks if c.name == check)


@pytest.mark.slow
def test_reward_through_the_score_a_hang_and_a_crash_are_each_reported():
    partial = check_verifier(PartialScore())
    assert any(h.probe == "every_candidate" and h.score == 1.0 for h in partial.probe_hits)
    hangs = _failed(check_verifier(HangsOnLong(), timeout_s=3, probes=()), "time_bound")
    assert not hangs.ok and any("killed by the batch grader" in p for p in hangs.problems)
    crash = _failed(check_verifier(CrashOnEmpty()), "probes")
    assert not crash.ok and any("verifier_crashed" in p for p in crash.problems)
    junk = _failed(check_verifier(LaxLong(), probes=()), "time_bound")
    assert any("no answer in it got pass" in p for p in junk.problems)


@pytest.mark.slow
def test_waivers_are_checked_and_only_inherited_under_the_same_name():
    from verifiers.json_schema.verifier_v2 import JsonSchemaVerifierV2
    from verifiers.qa.probes import waivers_for

    registry_check = check_verifier(WaivesMost(), probes=()).checks[0]
    assert any("'hedg', which is no probe" in p for p in registry_check.problems)
    assert any("most probes must apply" in p for p in registry_check.problems)

    class Renamed(JsonSchemaVerifierV2):
        name = "qa_json_plugin"

    assert (
        set(waivers_for(JsonSchemaVerifierV2)) == {"format_only", "lookalike"}
        and waivers_for(Renamed) == {}
    )


def test_the_check_needs_worker_processes():
    with pytest.raises(VerifierCheckError, match="workers=0"):
        check_verifier(StrictBoxed(), workers=0)


@pytest.mark.slow
def test_nondeterministic_verifier_is_reported():
    report = check_verifier(Nondeterministic())
    determinism = next(c for c in report.checks if c.name == "determinism")
    assert not determinism.ok and "differ" in determinism.problems[0]


@pytest.mark.slow
def test_unpicklable_verifier_is_reported():
    report = check_verifier(Unpicklable())
    pickled = next(c for c in report.checks if c.name == "pickle")
    assert not pickled.ok and "does not pickle" in pickled.detail


@pytest.mark.slow
def test_inconsistent_registration_and_missing_docs_are_reported(strict_registered):
    class Impostor(StrictBoxed):
        """Same name and version as the registered one. Versions: 1 - first version."""

    report = check_verifier(Impostor(), golden=[], probes=())
    registry_check = report.checks[0]
    assert "is registered to" in registry_check.problems[0]
    assert not report.checks[1].ok  # an empty golden table
    undocumented = check_verifier(Undocumented, probes=())
    assert any("no description" in p for p in undocumented.checks[0].problems)
    assert any("no 'Versions:'" in p for p in undocumented.checks[0].problems)


@pytest.mark.slow
def test_raise_on_failure_lists_what_failed_and_the_fix():
    with pytest.raises(VerifierCheckError, match=r"(?s)FAIL\] probes.*fix:"):
        check_verifier(LaxBlank(), raise_on_failure=True)
    assert issubclass(VerifierCheckError, verifiers.VerifierError)


def test_golden_disagreements_are_listed(strict_registered):
    rows = [
        {
            "reference": {"answer": "1"},
            "response": "\\boxed{1}",
            "status": "fail",
            "note": "mislabelled",
        },
        "not json",
    ]
    report = check_verifier(StrictBoxed, golden=rows, probes=(), sample=1)
    golden = report.checks[1]
    assert not golden.ok
    assert any("expected fail, got pass" in p for p in golden.problems)
    assert any("not valid JSON" in p for p in golden.problems)
    assert json.loads(json.dumps(report.to_dict()))["checks"][1]["ok"] is False


def test_unknown_spec_raises_with_suggestion():
    with pytest.raises(verifiers.UnknownVerifierError, match="Did you mean 'math'"):
        check_verifier("mathh@1")


@pytest.mark.slow
def test_cli_check_writes_json_and_exits_0(tmp_path, capsys):
    out = tmp_path / "check.json"
    assert main(["verifiers", "check", "xml_schema", "--json", str(out)]) == 0
    assert "xml_schema@1: ok" in capsys.readouterr().out
    assert json.loads(out.read_text())[0]["ok"] is True


@pytest.mark.slow
def test_cli_check_exits_1_when_a_check_fails(tmp_path, capsys):
    bad = tmp_path / "bad.jsonl"
    row = {
        "reference": {"schema": {"type": "object"}},
        "response": "{}",
        "status": "fail",
        "note": "wrong",
    }
    bad.write_text(json.dumps(row) + "\n")
    assert main(["verifiers", "check", "json_schema@1", "--golden", str(bad)]) == 1
    assert "expected fail, got pass" in capsys.readouterr().out


@pytest.mark.parametrize(
    "argv,message",
    [
        (["verifiers", "check", "nosuch"], "no verifier named 'nosuch'"),
        (["verifiers", "check"], "either NAME"),
        (["verifiers", "check", "math@1", "--golden", "/no/such.jsonl"], "not a file"),
    ],
)
def test_cli_check_usage_errors_exit_2(argv, message, capsys):
    assert main(argv) == 2
    assert message in capsys.readouterr().err


def test_cli_verifiers_without_subcommand_still_lists(capsys):
    assert main(["verifiers"]) == 0
    out = capsys.readouterr().out
    assert "math" in out and "@1, @2" in out

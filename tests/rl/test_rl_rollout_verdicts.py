"""Verdicts cross the env boundary once: typed in episodes, written back as the env gave them."""

from __future__ import annotations

import pickle

import gymnasium
import pytest
from rl_test_envs import DIGITS_ALPHABET, DigitEnv

from rl.engines.base import FakeEngine, SamplingParams
from rl.errors import RolloutError
from rl.rollout import EpisodeRunner, as_verdict, component_verdicts_json, verdict_json
from rl.tiny import build_char_tokenizer
from verifiers import Reason, Status, Verdict

REAL = Verdict(
    status=Status.ERROR,
    score=0.0,
    verifier="math",
    verifier_version=2,
    test_case_hash="sha256:ab",
    input_hash="sha256:cd",
    failure_reason=Reason("bad_reference", "empty gold answer"),
    details={"extracted": None},
)


def test_a_verdict_is_kept_as_it_is_and_written_as_its_dict():
    assert as_verdict(REAL) is REAL
    assert verdict_json(REAL) == REAL.to_dict()


def test_a_verdicts_own_dict_reads_back_as_the_same_verdict_and_is_written_unchanged():
    typed = as_verdict(REAL.to_dict())
    assert isinstance(typed, Verdict) and typed.identity() == REAL.identity()
    assert typed.spec == "math@2" and not typed.status.judged
    assert verdict_json(typed) == REAL.to_dict()


def test_a_plain_mapping_is_typed_for_the_trainer_and_recorded_key_for_key():
    given = {"status": "pass", "score": 1, "verifier": "digit", "verifier_version": 1, "note": "x"}
    typed = as_verdict(given)
    assert typed.passed and typed.status.judged and typed.spec == "digit@1"
    assert typed.test_case_hash == "" and typed.failure_reason is None
    assert verdict_json(typed) == given  # nothing added, nothing dropped
    given["note"] = "changed later"  # the environment reuses its dict: the record keeps the old one
    assert verdict_json(typed)["note"] == "x"
    assert pickle.loads(pickle.dumps(typed)) == typed  # ranks gather episodes pickled


def test_a_mapping_needs_only_a_status():
    typed = as_verdict({"status": Status.TIMEOUT, "score": 7.5})  # a shaped score: not a verdict's
    assert typed.status is Status.TIMEOUT and typed.score == 0.0 and typed.spec == "@None"
    assert verdict_json(typed) == {"status": Status.TIMEOUT, "score": 7.5}
    reason = as_verdict({"status": "error", "failure_reason": {"code": "sandbox_unavailable"}})
    assert reason.failure_reason.code == "sandbox_unavailable"


@pytest.mark.parametrize(
    "bad, match",
    [
        ({"status": "ok"}, r"'ok' is not a valid Status.*'status' out of \['pass'"),
        ({"score": 1.0}, r"None is not a valid Status"),
        ({"status": "pass", "verifier_version": "v1"}, r"integer 'verifier_version'"),
        (["pass"], r"info\['verdict'\] is a list; .* must be a verifiers.Verdict or a mapping"),
    ],
)
def test_what_is_no_verdict_is_refused_with_the_fix(bad, match):
    with pytest.raises(RolloutError, match=match):
        as_verdict(bad)


def test_component_verdicts_are_written_step_by_step():
    steps = [{"math@2": REAL, "digit@1": as_verdict({"status": "fail", "verifier": "digit"})}]
    assert component_verdicts_json(steps) == [
        {"math@2": REAL.to_dict(), "digit@1": {"status": "fail", "verifier": "digit"}}
    ]


class _RealVerdictEnv(gymnasium.Env):
    """Hands a :class:`verifiers.Verdict` and two combined-reward components, as rlvr's envs do."""

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        return "1=", {}

    def step(self, action):
        fail = as_verdict({"status": "fail", "verifier": "digit", "verifier_version": 1})
        return "", 0.0, True, False, {"verdict": REAL, "verdicts": {"math@2": REAL, "d@1": fail}}


def test_episodes_hold_typed_verdicts_from_mapping_and_verdict_envs():
    tok = build_char_tokenizer(DIGITS_ALPHABET)
    runner = EpisodeRunner([DigitEnv() for _ in range(2)], FakeEngine(["7", "3"]), tok)
    group = runner.run([0], SamplingParams(n=2, max_tokens=2))[0]
    assert [e.verdicts[-1].status for e in group] == [Status.PASS, Status.FAIL]
    assert [e.passed for e in group] == [True, False] and all(e.graded for e in group)
    assert [verdict_json(e.verdicts[-1])["status"] for e in group] == ["pass", "fail"]

    runner = EpisodeRunner([_RealVerdictEnv()], FakeEngine(["7"]), tok)
    (episode,) = runner.run([0], SamplingParams(n=1, max_tokens=2))[0]
    assert episode.verdicts == [REAL] and not episode.graded and not episode.passed
    assert [v.spec for v in episode.unjudged()] == ["math@2", "math@2"]
    assert episode.component_verdicts[0]["d@1"].status is Status.FAIL


def test_a_mapping_without_a_version_keeps_the_spec_it_always_had():
    # metric names (reward_mean/<spec>) and records' `verifiers` list read this spec
    assert as_verdict({"status": "pass", "verifier": "digit"}).spec == "digit@None"
    assert as_verdict({"status": "pass", "verifier": "digit", "verifier_version": 3}).spec == (
        "digit@3"
    )

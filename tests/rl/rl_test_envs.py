"""Small verifiable gymnasium environments for the rl unit tests (the acceptance test uses a real
rlvr env)."""

from __future__ import annotations

import gymnasium

DIGITS_ALPHABET = "0123456789+=?"


class DigitEnv(gymnasium.Env):
    """Single-turn test env: the prompt is ``"<k>="``; reward 1 when the completion is one of
    ``gold[k]``.

    Used for fast unit tests of the loop; the acceptance learning test uses a real ``rlvr`` env.
    """

    def __init__(self, gold=("7",), prompts=("1=",), shift: float = 0.0):
        self.gold, self.prompts, self.shift = gold, prompts, shift
        self.prompt = None

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.index = int(self.np_random.integers(len(self.prompts)))
        return self.prompts[self.index], {
            "task_index": self.index,
            "demonstration": self.gold[self.index % len(self.gold)],
        }

    def step(self, action):
        ok = action.strip() in self.gold
        verdict = {
            "status": "pass" if ok else "fail",
            "score": float(ok),
            "verifier": "digit",
            "verifier_version": 1,
        }
        return "", float(ok) + self.shift, True, False, {"verdict": verdict}


class ParityEnv(gymnasium.Env):
    """Reward 1 when the completion's character codes sum to an even number: about half of any group
    passes whatever the model, so every step of a test run has a gradient."""

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        return ("1=", "2=")[int(self.np_random.integers(2))], {}

    def step(self, action):
        ok = sum(map(ord, action)) % 2 == 0
        verdict = {
            "status": "pass" if ok else "fail",
            "score": float(ok),
            "verifier": "parity",
            "verifier_version": 1,
        }
        return "", float(ok), True, False, {"verdict": verdict}


class FlatOrMixedEnv(gymnasium.Env):
    """Single-turn test env with known group outcomes: prompt ``"1="`` always earns 1 (a flat
    group); ``"2="`` earns 1 and 0 in turn across steps (a group of even size is always mixed)."""

    turn = 0

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.index = int(self.np_random.integers(2))
        return ("1=", "2=")[self.index], {"task_index": self.index}

    def step(self, action):
        if self.index == 0:
            ok = True
        else:
            FlatOrMixedEnv.turn += 1
            ok = FlatOrMixedEnv.turn % 2 == 1
        verdict = {
            "status": "pass" if ok else "fail",
            "score": float(ok),
            "verifier": "flat",
            "verifier_version": 1,
        }
        return "", float(ok), True, False, {"verdict": verdict}


class EchoToolEnv(gymnasium.Env):
    """Two-turn test env: after the first completion the env answers ``"<tool>"``; the second turn
    is graded."""

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.turn = 0
        self.context = "Q="
        return self.context, {}

    def step(self, action):
        self.turn += 1
        self.context += action
        if self.turn == 1:
            self.context += "+?+"
            return self.context, 0.0, False, False, {}
        ok = action.startswith("7")
        return (
            self.context,
            float(ok),
            True,
            False,
            {
                "verdict": {
                    "status": "pass" if ok else "fail",
                    "score": float(ok),
                    "verifier": "echo",
                    "verifier_version": 1,
                }
            },
        )


class CyclingVerdictEnv(gymnasium.Env):
    """Single-turn test env whose verdicts follow ``cycle`` step after step (across all copies),
    whatever the completion; ``turn`` counts the steps (reset it between runs). ``error`` stands for
    a grader that could not run (a missing sandbox)."""

    cycle: tuple[str, ...] = ("fail", "pass")
    verifier = "cycling"
    turn = 0

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        return "1=", {}

    def step(self, action):
        cls = type(self)
        cls.turn += 1
        kind = cls.cycle[cls.turn % len(cls.cycle)]
        reason = (
            {"code": "sandbox_unavailable", "message": "no engine"} if kind == "error" else None
        )
        verdict = {
            "status": kind,
            "score": float(kind == "pass"),
            "verifier": cls.verifier,
            "verifier_version": 1,
            "failure_reason": reason,
        }
        return "", float(kind == "pass"), True, False, {"verdict": verdict}


class AlternatingEnv(CyclingVerdictEnv):
    """Steps pass and fail in turn: every group of even size is mixed, so every step has a
    gradient."""

    verifier = "alternating"


class PartlyUngradedEnv(CyclingVerdictEnv):
    """Every third step the grader cannot run (``error``); the others pass and fail in turn."""

    cycle = ("error", "pass", "fail")
    verifier = "flaky"

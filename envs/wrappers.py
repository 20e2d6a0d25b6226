"""Reward shaping as wrappers; each records its part in ``info["reward_components"]``.

* :class:`FormatReward` - reward for a required layout (default ``<think>...</think>`` then
  ``<answer>...</answer>``), added or used as a gate;
* :class:`OverlongPenalty` - DAPO's soft overlong penalty by completion length (characters, or
  tokens through a user tokenizer callable);
* :class:`CombinedReward` - a weighted sum of several verifiers' scores on the same completion.

The environment's own score is ``info["reward_components"]["verifier"]``; each wrapper adds its
key and changes ``reward`` as documented, so a stack of wrappers stays auditable.

>>> overlong_penalty(90, max_length=100, buffer=20), overlong_penalty(95, max_length=100, buffer=20)
(-0.5, -0.75)
"""

from __future__ import annotations

import re
from typing import Any, Callable, Mapping, Sequence

import gymnasium as gym

from verifiers import GradeItem

from .errors import EnvConfigError
from .grading import pin_verifier


def _components(info: dict[str, Any]) -> dict[str, float]:
    components = dict(info.get("reward_components") or {})
    info["reward_components"] = components
    return components


class FormatReward(gym.Wrapper):
    """Reward a completion for following a required format.

    Args:
        env: a text environment.
        tags: tags that must each appear once, in this order, as ``<tag>...</tag>`` and cover the
            whole completion apart from whitespace (ignored when ``pattern`` is given).
        pattern: a regular expression the whole completion must match instead (``re.DOTALL``).
        weight: size of the format term.
        mode: ``"add"``: ``reward + weight * ok``; ``"gate"``: ``reward`` if ok else ``0``;
            ``"penalty"``: ``reward - weight * (not ok)``.

    >>> FormatReward.build_pattern(("think", "answer")).pattern
    '\\\\s*<think>.*?</think>\\\\s*<answer>.*?</answer>\\\\s*'
    """

    MODES: Mapping[str, Callable[[float, bool, float], float]] = {
        "add": lambda reward, ok, weight: reward + weight * ok,
        "gate": lambda reward, ok, weight: reward if ok else 0.0,
        "penalty": lambda reward, ok, weight: reward - weight * (not ok),
    }

    def __init__(
        self,
        env: gym.Env,
        *,
        tags: Sequence[str] = ("think", "answer"),
        pattern: str | None = None,
        weight: float = 0.1,
        mode: str = "add",
    ) -> None:
        super().__init__(env)
        if mode not in self.MODES:
            raise EnvConfigError(
                f"FormatReward mode {mode!r} is unknown; use one of {sorted(self.MODES)}"
            )
        if pattern is None and not tags:
            raise EnvConfigError("FormatReward needs tags or a pattern")
        self.regex = (
            re.compile(pattern, re.DOTALL) if pattern is not None else self.build_pattern(tags)
        )
        self.tags = None if pattern is not None else tuple(tags)
        self.weight = float(weight)
        self.mode = mode

    def follows_format(self, completion: Any) -> bool:
        """Whether ``completion`` matches: linear time for ``tags`` (``regex.fullmatch`` of the
        lazy pattern is quadratic on long, repetitive completions); ``pattern`` uses the regex."""
        if not isinstance(completion, str):
            return False
        if self.tags is None:
            return self.regex.fullmatch(completion) is not None
        return _tags_fill(completion, self.tags)

    @staticmethod
    def build_pattern(tags: Sequence[str]) -> re.Pattern[str]:
        """Regex for ``<t1>...</t1> <t2>...</t2> ...`` filling the whole completion."""
        body = r"\s*".join(f"<{re.escape(t)}>.*?</{re.escape(t)}>" for t in tags)
        return re.compile(rf"\s*{body}\s*", re.DOTALL)

    def step(self, action: Any) -> tuple[Any, float, bool, bool, dict[str, Any]]:
        obs, reward, terminated, truncated, info = self.env.step(action)
        if terminated or truncated:
            ok = self.follows_format(action)
            _components(info)["format"] = float(ok)
            reward = self.MODES[self.mode](float(reward), ok, self.weight)
        return obs, reward, terminated, truncated, info


def _tags_fill(text: str, tags: Sequence[str]) -> bool:
    """Linear equivalent of ``build_pattern(tags).fullmatch(text)``.

    Block contents may be anything, so taking the earliest possible end for each block is always
    best: every later split that works also works from an earlier start.
    """
    position = len(text) - len(text.lstrip())
    opening = f"<{tags[0]}>"
    if not text.startswith(opening, position):
        return False
    position += len(opening)
    for current, following in zip(tags, tags[1:]):
        found = re.compile(rf"</{re.escape(current)}>\s*<{re.escape(following)}>").search(
            text, position
        )
        if found is None:
            return False
        position = found.end()
    end = len(text.rstrip())
    closing = f"</{tags[-1]}>"
    return end - len(closing) >= position and text.startswith(closing, end - len(closing))


def overlong_penalty(length: int, *, max_length: int, buffer: int) -> float:
    """DAPO soft overlong penalty: 0 up to ``max_length - buffer``, linear to -1 at
    ``max_length``, -1 beyond."""
    if length <= max_length - buffer:
        return 0.0
    if length <= max_length:
        return (max_length - buffer - length) / buffer
    return -1.0


class OverlongPenalty(gym.Wrapper):
    """Add DAPO's soft overlong penalty (``reward + penalty``; penalty in ``[-1, 0]``).

    Args:
        env: a text environment.
        max_length: ``L``, the length at which the penalty reaches -1.
        buffer: ``l``, the width of the linear ramp (``0 < l <= L``).
        length_fn: completion -> length; default ``len`` (characters). Pass e.g.
            ``lambda text: len(tokenizer.encode(text))`` to count tokens.
    """

    def __init__(
        self, env: gym.Env, *, max_length: int, buffer: int, length_fn: Callable[[str], int] = len
    ) -> None:
        super().__init__(env)
        if not 0 < buffer <= max_length:
            raise EnvConfigError(
                f"need 0 < buffer <= max_length, got buffer={buffer}, max_length={max_length}"
            )
        self.max_length, self.buffer, self.length_fn = max_length, buffer, length_fn

    def step(self, action: Any) -> tuple[Any, float, bool, bool, dict[str, Any]]:
        obs, reward, terminated, truncated, info = self.env.step(action)
        if isinstance(action, str):
            length = int(self.length_fn(action))
            penalty = overlong_penalty(length, max_length=self.max_length, buffer=self.buffer)
            components = _components(info)
            components["overlong"] = components.get("overlong", 0.0) + penalty
            info["completion_length"] = length
            reward = float(reward) + penalty
        return obs, reward, terminated, truncated, info


class CombinedReward(gym.Wrapper):
    """Replace the reward by a weighted sum of several verifiers' scores on the completion.

    Args:
        env: a single-turn text environment.
        weights: ``{"name@version": weight}``; the environment's own verifier may be listed (its
            verdict is reused, not re-graded).
        references: optional ``{"name@version": task -> reference}`` for verifiers that need a
            different reference than the task's own.

    Each verifier's score is in ``info["reward_components"][spec]`` and its verdict in
    ``info["verdicts"][spec]``; all extra verdicts come from one batch call.
    """

    def __init__(
        self,
        env: gym.Env,
        weights: Mapping[str, float],
        references: Mapping[str, Callable[[Any], Mapping[str, Any]]] | None = None,
    ) -> None:
        super().__init__(env)
        if not weights:
            raise EnvConfigError("CombinedReward needs at least one verifier weight")
        self.weights = {pin_verifier(spec): float(w) for spec, w in weights.items()}
        self.references = {pin_verifier(spec): fn for spec, fn in (references or {}).items()}
        unknown = set(self.references) - set(self.weights)
        if unknown:
            raise EnvConfigError(
                f"references given for verifiers without a weight: {sorted(unknown)}"
            )

    def step(self, action: Any) -> tuple[Any, float, bool, bool, dict[str, Any]]:
        obs, reward, terminated, truncated, info = self.env.step(action)
        if not (terminated or truncated) or "verdict" not in info:
            return obs, reward, terminated, truncated, info
        inner = self.env.unwrapped
        verdicts = {inner.grader.spec: info["verdict"]}
        extra = [spec for spec in self.weights if spec not in verdicts]
        items = [GradeItem(action, self._reference(spec, inner.task), spec, spec) for spec in extra]
        graded = inner.grader.grade_items(items) if items else []
        verdicts.update(
            {
                spec: v if inner.config.record_elapsed else v.replace(elapsed_s=0.0)
                for spec, v in zip(extra, graded)
            }
        )
        components = _components(info)
        components.update({spec: verdicts[spec].score for spec in self.weights})
        info["verdicts"] = {spec: verdicts[spec] for spec in self.weights}
        combined = sum(weight * verdicts[spec].score for spec, weight in self.weights.items())
        return obs, combined, terminated, truncated, info

    def _reference(self, spec: str, task: Any) -> Mapping[str, Any]:
        fn = self.references.get(spec)
        return fn(task) if fn is not None else task.reference

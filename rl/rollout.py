"""The episode loop: run G episodes per prompt through gymnasium environments with a rollout engine.

Single-turn and multi-turn environments go through the same loop. An episode's token sequence is
``prompt | completion_1 | env_1 | completion_2 | ...``; the loss mask is 1 on the policy's
completion tokens and 0 on environment/tool tokens, so the trainer never trains on text the policy
did not write. The rl package sees environments only through the gymnasium API:

- ``reset(seed=s)`` returns ``(observation, info)``; the observation is the prompt text (or a list
  of chat messages), and the same seed must give the same prompt (that is how G copies form a
  group);
- ``step(completion_text)`` returns ``(observation, reward, terminated, truncated, info)`` with
  ``info["verdict"]`` (a :class:`verifiers.Verdict` or its dict) where the step was graded; in
  multi-turn episodes the next observation is the conversation so far (or just the new environment
  text).

Verdicts become :class:`verifiers.Verdict` records once, where they leave ``env.step``
(:func:`as_verdict`), and stay typed through the trainer until a record is written.

>>> runner = EpisodeRunner(make_envs("rlvr/Math-v1", 8), engine, tokenizer)   # doctest: +SKIP
>>> groups = runner.run([11, 12], SamplingParams(n=4, max_tokens=64))          # doctest: +SKIP
"""

from __future__ import annotations

import functools
import importlib
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from verifiers.verdict import Reason, Status, Verdict

from .engines.base import Completion, RolloutEngine, SamplingParams
from .errors import ConfigError, RolloutError

_PROMPT_CACHE_SIZE = 4096  # prompts whose token ids a runner remembers


@dataclass
class Episode:
    """One trajectory of a group: tokens after the prompt, loss mask, sampler log-probs, reward,
    verdicts."""

    group: int
    seed: int
    prompt_text: str
    prompt_ids: list[int]
    tokens: list[int] = field(default_factory=list)
    loss_mask: list[int] = field(default_factory=list)
    sampler_logprobs: list[float] = field(default_factory=list)
    texts: list[str] = field(default_factory=list)
    reward: float = 0.0
    verdicts: list[Verdict] = field(default_factory=list)
    component_verdicts: list[dict[str, Verdict]] = field(default_factory=list)
    """Per graded step, ``info["verdicts"]`` (``{"name@version": verdict}``) where a wrapper
    combined several verifiers into the reward (:class:`envs.wrappers.CombinedReward`)."""
    finish_reason: str = "stop"
    done: bool = False
    truncated: bool = False
    reset_info: dict[str, Any] = field(default_factory=dict)
    prompt_messages: list[dict[str, Any]] | None = None
    """The prompt as chat messages, where the observation has them (SFT exports rebuild
    conversations from it)."""
    reference: Mapping[str, Any] | None = None
    """The task's verifier reference where the environment exposes one
    (``env.unwrapped.task.reference``), so records can be re-graded and exported with their
    lineage."""
    context_text: str = ""
    env_index: int = 0
    messages_seen: int = 0

    @property
    def completion_text(self) -> str:
        """The policy's text over all turns (environment text excluded)."""
        return "".join(self.texts)

    @property
    def policy_tokens(self) -> int:
        """Number of tokens the policy generated (the loss-masked ones)."""
        return sum(self.loss_mask)

    @property
    def graded(self) -> bool:
        """False when any of its verdicts could not judge (``timeout`` / ``error``): its reward is
        no score.

        The trainer leaves such an episode out of the loss and the reward statistics instead of
        scoring it as wrong. Episodes without verdicts (a plain gymnasium env) count as graded.
        """
        return next(self.unjudged(), None) is None

    def unjudged(self):
        """The verdicts (own and combined-reward components) that could not judge, in order."""
        yield from (v for v in self.verdicts if not v.status.judged)
        for step in self.component_verdicts:
            yield from (v for v in step.values() if not v.status.judged)

    @property
    def passed(self) -> bool:
        """Whether the last graded verdict passed (falls back to reward > 0 without verdicts)."""
        if self.verdicts:
            return self.verdicts[-1].passed
        return self.reward > 0


def make_envs(
    env_id: str,
    count: int,
    env_kwargs: Mapping[str, Any] | None = None,
    modules: Sequence[str] = ("envs",),
    executor: Any = None,
) -> list[Any]:
    """``count`` independent instances of ``env_id`` (after importing ``modules`` so they register).

    ``executor`` (e.g. a :class:`verifiers.ProcessPoolExecutor`) is shared by all copies when the
    environment's constructor takes an ``executor`` argument, so B*G copies do not start B*G
    grading processes.
    """
    import gymnasium

    for name in modules:
        try:
            importlib.import_module(name)
        except ImportError as exc:
            raise ConfigError(
                f"env_modules names {name!r}, which cannot be imported ({exc}); list the modules "
                "that register your environment ids"
            ) from exc
    try:
        gymnasium.spec(env_id)
    except gymnasium.error.Error as exc:  # unknown namespace, name or version; a deprecated version
        ours = sorted(k for k in gymnasium.registry if k.startswith("rlvr/"))
        raise ConfigError(
            f"environment {env_id!r} is not registered ({exc}); rlvr's ids are {ours}; for your "
            "own "
            "id, add the module that registers it to env_modules"
        ) from exc
    kwargs = dict(env_kwargs or {})
    if executor is not None and "executor" not in kwargs and _accepts(env_id, "executor"):
        kwargs["executor"] = executor
    try:
        first = gymnasium.make(env_id, disable_env_checker=True, **kwargs)
    except TypeError as exc:  # the environment's constructor refused env_kwargs
        shown = sorted(k for k in kwargs if k != "executor")
        raise ConfigError(
            f"environment {env_id!r} cannot be made with env_kwargs {shown}: {exc}; "
            "fix env_kwargs to match its constructor"
        ) from exc
    return [first] + [
        gymnasium.make(env_id, disable_env_checker=True, **kwargs) for _ in range(count - 1)
    ]


def _accepts(env_id: str, argument: str) -> bool:
    import inspect

    import gymnasium

    entry = gymnasium.spec(env_id).entry_point
    if isinstance(entry, str):
        module, _, attr = entry.partition(":")
        entry = getattr(importlib.import_module(module), attr)
    try:
        return argument in inspect.signature(entry).parameters
    except (TypeError, ValueError):
        return False


def render_observation(obs: Any, tokenizer: Any, chat_template: bool = False) -> str:
    """Prompt text for an observation.

    A string is used as is; a mapping with ``messages``/``text`` (the ``rlvr`` envs) gives its
    ``text``, or its messages through the tokenizer's chat template when ``chat_template`` is set;
    a bare list of chat messages goes through the chat template (or a plain role-labelled join).
    """
    if isinstance(obs, str):
        return obs
    if isinstance(obs, Mapping):
        if chat_template and obs.get("messages") is not None:
            return render_observation(list(obs["messages"]), tokenizer, True)
        if isinstance(obs.get("text"), str):
            return obs["text"]
    if isinstance(obs, Sequence) and all(isinstance(m, Mapping) and "content" in m for m in obs):
        if getattr(tokenizer, "chat_template", None):
            return tokenizer.apply_chat_template(
                [dict(m) for m in obs], tokenize=False, add_generation_prompt=True
            )
        return "".join(_label(m) for m in obs) + "assistant: "
    raise RolloutError(
        f"observation of type {type(obs).__name__} cannot be rendered as a prompt; the environment "
        "must "
        "return text, a mapping with 'text'/'messages', or a list of chat messages ({'role': ..., "
        "'content': ...})"
    )


def as_verdict(verdict: Any) -> Verdict:
    """The :class:`verifiers.Verdict` of what an environment put in ``info["verdict"]``.

    A ``Verdict`` is kept as it is. A plain mapping (a user environment's own, or a verdict's
    ``to_dict()``) needs a valid ``status`` (and an integer ``verifier_version`` where it has one);
    missing fields read as empty, a missing or out-of-range ``score`` as 1 for a pass and 0
    otherwise. Records write the mapping back key for key (:func:`verdict_json`).

    >>> v = as_verdict({"status": "fail", "score": 0.0, "verifier": "digit", "verifier_version": 1})
    >>> v.status.judged, v.passed, v.spec
    (True, False, 'digit@1')
    """
    if isinstance(verdict, Verdict):
        return verdict
    data = verdict.to_dict() if hasattr(verdict, "to_dict") else verdict
    if not isinstance(data, Mapping):
        raise RolloutError(
            f"info['verdict'] is a {type(verdict).__name__}; an environment's verdict must be a "
            "verifiers.Verdict or a mapping with a 'status' (its to_dict())"
        )
    try:
        return _given_verdict(data)
    except (TypeError, ValueError) as exc:
        raise RolloutError(
            f"info['verdict'] {dict(data)!r} is not a verdict ({exc}); give it a 'status' out of "
            f"{[s.value for s in Status]} and, where it names one, an integer 'verifier_version' "
            "(or return a verifiers.Verdict)"
        ) from exc


def verdict_json(verdict: Verdict) -> dict[str, Any]:
    """What a record writes for ``verdict``: its ``to_dict()``, or the environment's own mapping
    where the verdict came as one (:func:`as_verdict`), key for key.

    >>> verdict_json(as_verdict({"status": "pass", "verifier": "digit"}))
    {'status': 'pass', 'verifier': 'digit'}
    """
    return dict(verdict.given) if isinstance(verdict, _GivenVerdict) else verdict.to_dict()


def component_verdicts_json(steps: Sequence[Mapping[str, Verdict]]) -> list[dict[str, Any]]:
    """:func:`verdict_json` of every combined-reward component, step by step."""
    return [{spec: verdict_json(v) for spec, v in step.items()} for step in steps]


@dataclass(frozen=True)
class _GivenVerdict(Verdict):
    """A verdict an environment gave as a mapping: typed for the trainer, recorded as given."""

    given: Mapping[str, Any] = field(default_factory=dict, compare=False, repr=False)
    """The environment's mapping, which records write back (:func:`verdict_json`)."""

    @property
    def spec(self) -> str:
        """``"name@version"`` as the environment gave them (``name@None`` without a version)."""
        return f"{self.verifier}@{self.given.get('verifier_version')}"


def _given_verdict(data: Mapping[str, Any]) -> Verdict:
    status = Status(data.get("status"))
    score, reason, details = data.get("score"), data.get("failure_reason"), data.get("details")
    if not (isinstance(score, (int, float)) and 0.0 <= score <= 1.0):
        score = float(status is Status.PASS)  # the trainer reads rewards, never this score
    elapsed = data.get("elapsed_s")
    return _GivenVerdict(
        status=status,
        score=score,
        verifier=str(data.get("verifier") or ""),
        verifier_version=int(data.get("verifier_version") or 0),
        test_case_hash=str(data.get("test_case_hash") or ""),
        input_hash=str(data.get("input_hash") or ""),
        pass_rate=data.get("pass_rate"),
        failure_reason=Reason.from_dict(reason) if isinstance(reason, Mapping) else None,
        elapsed_s=float(elapsed) if isinstance(elapsed, (int, float)) else 0.0,
        details=dict(details) if isinstance(details, Mapping) else {},
        given=dict(data),  # a copy: an environment may reuse its dict
    )


def _label(message: Mapping[str, Any]) -> str:
    return f"{message.get('role', 'user')}: {message.get('content') or ''}\n"


def _messages(obs: Any) -> list[Mapping[str, Any]] | None:
    if isinstance(obs, Mapping) and isinstance(obs.get("messages"), Sequence):
        return list(obs["messages"])
    return None


class EpisodeRunner:
    """Runs groups of episodes; ``envs`` must hold ``groups * G`` environments for the largest
    call."""

    def __init__(
        self,
        envs: Sequence[Any],
        engine: RolloutEngine,
        tokenizer: Any,
        max_turns: int = 8,
        chat_template: bool = False,
        gather: Any = None,
    ) -> None:
        self.envs = list(envs)
        self.gather = gather
        """The envs' shared :class:`~rl.wave_grading.GatheringExecutor`, if any: steps run as waves,
        one batch each."""
        self.chat_template = chat_template
        self.engine = engine
        self.tokenizer = tokenizer
        self.max_turns = max_turns
        self.timing = {"generate": 0.0, "grade": 0.0}
        self._prompt_cache: dict[str, tuple[int, ...]] = {}

    def reset_timing(self) -> None:
        """Zero the seconds spent in the engine (``generate``) and in ``env.step`` (``grade``)."""
        self.timing = {"generate": 0.0, "grade": 0.0}

    def _generate(self, prompts: list[list[int]], params: SamplingParams) -> list[list[Completion]]:
        t0 = time.perf_counter()
        out = self.engine.generate(prompts, params)
        self.timing["generate"] += time.perf_counter() - t0
        if len(out) != len(prompts) or any(len(c) != params.n for c in out):
            raise RolloutError(
                f"engine {self.engine.name!r} returned the wrong number of completions"
            )
        return out

    def run(
        self,
        group_seeds: Sequence[int],
        params: SamplingParams,
        options: Sequence[Mapping[str, Any] | None] | None = None,
    ) -> list[list[Episode]]:
        """One group of ``params.n`` episodes per seed; returns them grouped, in seed order.

        ``options`` (one per group) go to ``env.reset(options=...)``, e.g. ``{"task_index": i}`` to
        pick a task instead of drawing one from the seed (how ``rlvr eval`` visits every task once).
        """
        size = len(group_seeds) * params.n
        if size > len(self.envs):
            raise RolloutError(
                f"{size} episodes need {size} environments but the runner holds {len(self.envs)}"
            )
        if options is not None and len(options) != len(group_seeds):
            raise RolloutError(
                f"options holds {len(options)} entries for {len(group_seeds)} groups; pass one per "
                "group"
            )
        episodes = self._reset(group_seeds, params.n, options)
        firsts = self._generate([g[0].prompt_ids for g in _chunks(episodes, params.n)], params)
        self._apply([c for group in firsts for c in group], episodes)
        for turn in range(1, self.max_turns):
            active = [e for e in episodes if not e.done]
            if not active:
                break
            # a fresh random stream each turn
            seed = None if params.seed is None else params.seed + turn
            turn_params = params.replace(n=1, seed=seed)
            outs = self._generate([e.prompt_ids + e.tokens for e in active], turn_params)
            self._apply([o[0] for o in outs], active)
        for e in episodes:
            if not e.done:
                e.done, e.truncated = True, True
        return _chunks(episodes, params.n)

    def _reset(
        self,
        group_seeds: Sequence[int],
        n: int,
        options: Sequence[Mapping[str, Any] | None] | None = None,
    ) -> list[Episode]:
        episodes = []
        for g, seed in enumerate(group_seeds):
            texts, given = [], None if options is None else options[g]
            for k in range(n):
                extra = {} if given is None else {"options": dict(given)}  # each copy its own dict
                obs, info = self.envs[g * n + k].reset(seed=int(seed), **extra)
                texts.append(render_observation(obs, self.tokenizer, self.chat_template))
                episodes.append(
                    Episode(
                        group=g,
                        seed=int(seed),
                        prompt_text=texts[-1],
                        prompt_ids=[],
                        reset_info=dict(info),
                        reference=_task_reference(self.envs[g * n + k]),
                        prompt_messages=_plain_messages(obs),
                        context_text=texts[-1],
                        env_index=g * n + k,
                        messages_seen=len(_messages(obs) or ()),
                    )
                )
            if len(set(texts)) != 1:
                raise RolloutError(
                    f"{self.envs[g * n]}: reset(seed={seed}) gave different prompts to copies of "
                    "the environment; "
                    "a group needs the same prompt G times, so reset must be deterministic given "
                    "its seed"
                )
            ids = self._prompt_ids(texts[0])
            if not ids:
                raise RolloutError(
                    f"reset(seed={seed}) gave an empty prompt; the policy needs at least one "
                    "prompt token"
                )
            for e in episodes[-n:]:
                e.prompt_ids = ids
        return episodes

    def _prompt_ids(self, text: str) -> list[int]:
        """Token ids of a prompt (remembered: a run draws the same prompts again and again).

        Plain-text prompts get the tokenizer's own special tokens (e.g. BOS); chat templates carry
        theirs.
        """
        ids = self._prompt_cache.get(text)
        if ids is None:
            ids = tuple(self.tokenizer(text, add_special_tokens=not self.chat_template).input_ids)
            if len(self._prompt_cache) >= _PROMPT_CACHE_SIZE:
                self._prompt_cache.pop(next(iter(self._prompt_cache)))  # oldest first
            self._prompt_cache[text] = ids
        return list(ids)

    def _apply(self, completions: list[Completion], episodes: list[Episode]) -> None:
        for e, c in zip(episodes, completions):
            e.tokens.extend(c.token_ids)
            e.loss_mask.extend([1] * len(c.token_ids))
            e.sampler_logprobs.extend(c.logprobs)
            e.texts.append(c.text)
            e.finish_reason = c.finish_reason
        t0 = time.perf_counter()
        results = self._step(
            [self.envs[e.env_index] for e in episodes], [c.text for c in completions]
        )
        self.timing["grade"] += time.perf_counter() - t0
        for e, c, (obs, reward, terminated, truncated, info) in zip(episodes, completions, results):
            e.reward += float(reward)
            if info.get("verdict") is not None:
                e.verdicts.append(as_verdict(info["verdict"]))
            if isinstance(info.get("verdicts"), Mapping):
                e.component_verdicts.append(
                    {str(k): as_verdict(v) for k, v in info["verdicts"].items()}
                )
            e.context_text += c.text
            if terminated or truncated:
                e.done, e.truncated = True, bool(truncated and not terminated)
            else:
                self._append_env_text(e, obs)

    def _step(self, envs: list[Any], actions: list[str]) -> list[tuple]:
        """``env.step(action)`` for each pair, in order; with a gathering executor, in waves graded
        as one batch."""
        if self.gather is None or len(envs) < 2:
            return [env.step(a) for env, a in zip(envs, actions)]
        from .wave_grading import MAX_WAVE

        out: list[tuple] = []
        for i in range(0, len(envs), MAX_WAVE):
            pairs = zip(envs[i : i + MAX_WAVE], actions[i : i + MAX_WAVE])
            calls = [functools.partial(env.step, a) for env, a in pairs]
            with self.gather.gather(len(calls)) as wave:
                out.extend(wave.run(calls))
        return out

    def _append_env_text(self, e: Episode, obs: Any) -> None:
        """Environment text goes in with mask 0.

        The delta is what the rendered observation adds to the context so far; when the rendering
        is not an extension (e.g. a plain-text rendering that re-labels turns), the chat messages
        added after the policy's own turn are appended role-labelled; otherwise the observation is
        taken as the new text itself.
        """
        context = render_observation(obs, self.tokenizer, self.chat_template)
        messages = _messages(obs)
        if context.startswith(e.context_text):
            delta = context[len(e.context_text) :]
        elif messages is not None:
            new = [m for m in messages[e.messages_seen :] if m.get("role") != "assistant"]
            delta = "\n" + "".join(_label(m) for m in new) + "assistant: "
        else:
            delta = context
        e.messages_seen = len(messages or ())
        ids = list(self.tokenizer(delta, add_special_tokens=False).input_ids)
        e.tokens.extend(ids)
        e.loss_mask.extend([0] * len(ids))
        e.sampler_logprobs.extend([0.0] * len(ids))
        e.context_text += delta


def _chunks(items: list[Episode], n: int) -> list[list[Episode]]:
    return [items[i : i + n] for i in range(0, len(items), n)]


def _plain_messages(obs: Any) -> list[dict[str, Any]] | None:
    messages = _messages(obs)
    return None if messages is None else [dict(m) for m in messages]


def _task_reference(env: Any) -> Mapping[str, Any] | None:
    """The reference of the task ``env`` was just reset to (rlvr environments keep it on
    ``unwrapped.task``)."""
    reference = getattr(getattr(getattr(env, "unwrapped", env), "task", None), "reference", None)
    return dict(reference) if isinstance(reference, Mapping) else None

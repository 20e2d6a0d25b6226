"""Evaluate a model on an environment's tasks: pass@1 and pass@k, every verdict written with its
provenance.

Each task is visited once (``env.reset(options={"task_index": i})``), in the environment's order or,
with ``tasks=K``, a sample of K tasks drawn with ``seed`` (the same seed gives the same tasks). For
each task the engine samples ``n`` completions; the environment grades them. pass@k is the unbiased
estimator of Chen et al. (2021), ``1 - C(n-c, k) / C(n, k)`` per task with ``c`` passing of ``n``
graded samples, averaged over tasks. Samples that could not be graded (``timeout``/``error``) are
counted apart and never scored as wrong: a task's ``n`` is its graded samples.

>>> cfg = EvalConfig(model="models/smollm2", env="rlvr/ArithHeldout-v0", tasks=200,
...                  chat_template=True)
>>> result = evaluate(cfg, output="verdicts.jsonl")                # doctest: +SKIP
>>> result.pass_at[1], result.ci95[1]                              # doctest: +SKIP
(0.285, (0.226, 0.352))

Command line: ``rlvr eval --model models/smollm2 --env rlvr/ArithHeldout-v0 --chat-template
true --tasks 200 --out v.jsonl``.
"""

from __future__ import annotations

import json
import math
import random
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, Sequence

from verifiers.qa.audit import wilson_interval

from .config import ENGINES
from .engines.base import SamplingParams, check_engine
from .errors import ConfigError, RolloutError
from .rollout import Episode, EpisodeRunner, component_verdicts_json, make_envs, verdict_json


@dataclass(frozen=True)
class EvalConfig:
    """What to evaluate and how to sample. ``rlvr eval`` builds it from flags."""

    model: str = ""
    """Local path of the model (a transformers checkpoint directory)."""
    env: str = "rlvr/ArithHeldout-v0"
    """Gymnasium id of the environment whose tasks are evaluated."""
    env_kwargs: Mapping[str, Any] = field(default_factory=dict)
    """Keyword arguments for ``gymnasium.make`` (e.g. ``{"tasks": "my_eval.jsonl"}``)."""
    env_modules: tuple[str, ...] = ("envs",)
    """Modules imported first so that they register their ids."""
    engine: str = "auto"
    """Rollout engine: ``hf``, ``vllm``, or ``auto`` (vLLM where it is installed for the device and
    can run the model)."""
    device: str = "auto"
    """``cpu``, ``cuda`` or ``auto``."""
    n: int = 1
    """Samples per task (pass@k needs n >= k)."""
    ks: tuple[int, ...] = (1,)
    """The k of every pass@k to report (each <= n)."""
    temperature: float = 0.0
    """0 is greedy (n must then be 1)."""
    top_p: float = 1.0
    max_new_tokens: int = 256
    max_turns: int = 8
    tasks: int | None = None
    """Evaluate this many tasks, sampled with ``seed``; None evaluates every task in order."""
    seed: int = 0
    """Picks the tasks (with ``tasks``) and seeds the sampler (task ``i`` samples with
    ``seed + i``)."""
    chat_template: bool = False
    """Render chat-message prompts with the tokenizer's chat template (instruct models); the same
    default as ``GRPOConfig.chat_template``, so a model is evaluated on the prompts it was trained
    on."""
    batch_size: int = 32
    """Tasks per engine call (``batch_size * n`` sequences are generated at once)."""
    grading_workers: int = 0
    """0 grades in this process; N > 0 uses a pool of N processes (use it for code)."""
    vllm_kwargs: Mapping[str, Any] = field(default_factory=dict)
    """Extra ``vllm.LLM`` arguments (``engine="vllm"``), over the defaults
    ``GRPOConfig.vllm_kwargs`` names."""
    progress: bool = True

    def __post_init__(self) -> None:
        if isinstance(self.env_modules, list):
            object.__setattr__(self, "env_modules", tuple(self.env_modules))
        if self.engine not in ENGINES:
            raise ConfigError(f"engine={self.engine!r} is not one of {list(ENGINES)}")
        if self.device not in ("auto", "cpu", "cuda"):
            raise ConfigError(f"device={self.device!r} is not one of ['auto', 'cpu', 'cuda']")
        if (
            min(self.n, self.batch_size, self.max_new_tokens, self.max_turns) < 1
            or self.grading_workers < 0
        ):
            raise ConfigError(
                "n, batch_size, max_new_tokens and max_turns must be >= 1 and grading_workers >= 0"
            )
        if not 0 < self.top_p <= 1:
            raise ConfigError(f"top_p={self.top_p} must lie in (0, 1]")
        if self.temperature < 0:
            raise ConfigError(f"temperature={self.temperature} must be >= 0 (0 is greedy)")
        if self.n > 1 and self.temperature == 0:
            raise ConfigError(
                f"n={self.n} samples at temperature 0 are all the same greedy completion; "
                "set temperature > 0 (e.g. 0.8) for pass@k, or n=1"
            )
        bad = [k for k in self.ks if not 1 <= k <= self.n]
        if bad or not self.ks:
            raise ConfigError(
                f"pass@k needs 1 <= k <= n={self.n}; got ks={list(self.ks)} (raise n or lower k)"
            )
        if self.tasks is not None and self.tasks < 1:
            raise ConfigError(f"tasks={self.tasks} must be >= 1 (or None for every task)")

    @property
    def sampling(self) -> SamplingParams:
        """The sampling parameters of every batch (each batch adds its own seed).

        >>> EvalConfig(model="m", env="arith", n=4, temperature=0.8, ks=(1, 4)).sampling.n
        4
        """
        return SamplingParams(
            n=self.n, temperature=self.temperature, top_p=self.top_p, max_tokens=self.max_new_tokens
        )

    def sampling_record(self) -> dict[str, Any]:
        """The sampling settings every verdict line and the result's config record."""
        fields = self.sampling.to_dict("n", "temperature", "top_p", "max_tokens")
        return {**fields, "chat_template": self.chat_template}


@dataclass(frozen=True)
class TaskScore:
    """One task's outcome: ``passed`` of ``graded`` samples (``ungraded`` could not be judged)."""

    task_id: str
    task_index: int
    passed: int
    graded: int
    ungraded: int


@dataclass(frozen=True)
class EvalResult:
    """pass@k over the tasks with at least k graded samples, with 95% confidence intervals."""

    scores: tuple[TaskScore, ...]
    pass_at: Mapping[int, float]
    ci95: Mapping[int, tuple[float, float]]
    samples: int
    ungraded: int
    config: Mapping[str, Any]

    def summary(self) -> dict[str, Any]:
        """A JSON-serialisable summary (what ``rlvr eval --summary`` writes); an undefined rate is
        ``None``."""

        def num(x: float) -> float | None:
            return None if math.isnan(x) else x

        return {
            "tasks": len(self.scores),
            "samples": self.samples,
            "ungraded": self.ungraded,
            "tasks_scored": {str(k): len(self.task_values(k)) for k in self.pass_at},
            "pass_at": {str(k): num(v) for k, v in self.pass_at.items()},
            "ci95": {str(k): [num(x) for x in v] for k, v in self.ci95.items()},
            "config": dict(self.config),
        }

    def task_values(self, k: int = 1) -> dict[str, float]:
        """Per-task pass@k by task id, in task order (tasks with fewer than k graded samples are
        left out: pair two runs by id, not by position)."""
        return {s.task_id: pass_at_k(s.graded, s.passed, k) for s in self.scores if s.graded >= k}


def pass_at_k(n: int, c: int, k: int) -> float:
    """Unbiased pass@k of one task with ``c`` passing out of ``n`` samples.

    >>> pass_at_k(4, 1, 1), pass_at_k(4, 1, 4), pass_at_k(4, 0, 2)
    (0.25, 1.0, 0.0)
    """
    if n < k:
        raise ValueError(f"pass@{k} needs at least {k} samples, got {n}")
    if n - c < k:
        return 1.0
    return 1.0 - math.comb(n - c, k) / math.comb(n, k)


def mean_ci95(values: Sequence[float]) -> tuple[float, tuple[float, float]]:
    """Mean of per-task rates and its 95% interval: Wilson's score interval when every value is 0 or
    1 (pass@1 with one sample per task: honest at 0% and 100%), else the normal approximation
    clipped to [0, 1].

    >>> mean_ci95([1.0, 0.0, 1.0, 0.0])[0]
    0.5
    >>> [round(x, 3) for x in mean_ci95([1.0] * 5)[1]]
    [0.566, 1.0]
    """
    if not values:
        return float("nan"), (float("nan"), float("nan"))
    mean = sum(values) / len(values)
    if all(v in (0.0, 1.0) for v in values):
        return mean, wilson_interval(round(mean * len(values)), len(values))
    var = sum((v - mean) ** 2 for v in values) / max(1, len(values) - 1)
    half = 1.96 * math.sqrt(var / len(values))
    return mean, (max(0.0, mean - half), min(1.0, mean + half))


def paired_gain_ci95(
    before: Mapping[str, float], after: Mapping[str, float]
) -> tuple[float, tuple[float, float]]:
    """Mean gain ``after - before`` over the tasks scored in both runs (paired by task id) and its
    95% interval (paired normal approximation).

    >>> paired_gain_ci95({"a": 0, "b": 0, "c": 1, "d": 0}, {"a": 1, "b": 0, "c": 1, "d": 1})[0]
    0.5
    """
    common = [task for task in before if task in after]
    if not common:
        raise ValueError("a paired gain needs tasks scored in both runs (pair the runs by task id)")
    diffs = [after[t] - before[t] for t in common]
    mean = sum(diffs) / len(diffs)
    var = sum((d - mean) ** 2 for d in diffs) / max(1, len(diffs) - 1)
    half = 1.96 * math.sqrt(var / len(diffs))
    return mean, (mean - half, mean + half)


def task_indices(count: int, tasks: int | None, seed: int) -> list[int]:
    """Which tasks to visit: all of them in order, or ``tasks`` of them drawn with ``seed``
    (sorted).

    >>> task_indices(10, 3, 0) == task_indices(10, 3, 0), task_indices(3, None, 0)
    (True, [0, 1, 2])
    """
    if tasks is None or tasks >= count:
        return list(range(count))
    return sorted(random.Random(seed).sample(range(count), tasks))


def evaluate(
    cfg: EvalConfig,
    *,
    policy: Any = None,
    tokenizer: Any = None,
    engine: Any = None,
    output: str | Path | None = None,
) -> EvalResult:
    """Sample ``cfg.n`` completions for each task, grade them, write one JSONL line per sample to
    ``output``."""
    from .wave_grading import GatheringExecutor
    from .trainer import grading_pool

    if engine is None:
        engine, tokenizer = _build_engine(cfg, policy, tokenizer)
    elif tokenizer is None:
        raise ConfigError(
            "evaluate(engine=...) needs the tokenizer that goes with it (tokenizer=...)"
        )
    engine = check_engine(engine)
    # one pool (or in-process grading) shared by every env copy
    executor = grading_pool(cfg.grading_workers)
    envs: list[Any] = []
    try:
        copies = min(cfg.batch_size, cfg.tasks or cfg.batch_size) * cfg.n
        envs = make_envs(cfg.env, copies, cfg.env_kwargs, cfg.env_modules, executor)
        indices = task_indices(_task_count(envs[0], cfg.env), cfg.tasks, cfg.seed)
        gather = executor if isinstance(executor, GatheringExecutor) else None
        runner = EpisodeRunner(envs, engine, tokenizer, cfg.max_turns, cfg.chat_template, gather)
        scores, samples = _run(cfg, runner, indices, output, _model_name(cfg, policy))
    finally:
        for env in envs:
            env.close()
        executor.close()
    return _result(cfg, scores, samples)


def _build_engine(cfg: EvalConfig, policy: Any, tokenizer: Any) -> tuple[Any, Any]:
    """The engine ``cfg`` names and its tokenizer; for vLLM only the tokenizer and config are read
    here."""
    from .engines.select import resolve_engine
    from .trainer import load_model_config, load_policy, load_tokenizer, make_engine, resolve_device

    device = resolve_device(cfg.device)
    kind = (
        cfg.engine
        if cfg.engine != "auto"
        else resolve_engine("auto", cfg.model, device, policy or load_model_config(cfg.model))
    )
    if kind == "vllm":
        tokenizer, policy = (
            tokenizer or load_tokenizer(cfg.model),
            policy or load_model_config(cfg.model),
        )
    elif policy is None:
        policy, tokenizer = load_policy(cfg.model, device)
    elif tokenizer is None:
        tokenizer = load_tokenizer(cfg.model)
    engine = make_engine(
        kind,
        cfg.model,
        policy,
        tokenizer,
        device,
        seed=cfg.seed,
        vllm_kwargs=cfg.vllm_kwargs,
        sleep=False,
    )
    return engine, tokenizer


def _run(
    cfg: EvalConfig,
    runner: EpisodeRunner,
    indices: list[int],
    output: str | Path | None,
    model: str,
) -> tuple[list[TaskScore], int]:
    scores: list[TaskScore] = []
    sink = _open(output)
    try:
        with _progress(cfg.progress, len(indices)) as advance:
            width = len(runner.envs) // cfg.n
            for start in range(0, len(indices), width):
                chunk = indices[start : start + width]
                params = cfg.sampling.replace(seed=cfg.seed + start)
                groups = runner.run(
                    [cfg.seed + i for i in chunk],
                    params,
                    options=[{"task_index": i} for i in chunk],
                )
                for index, group in zip(chunk, groups):
                    scores.append(_score(group, index, cfg.env))
                    _write(sink, group, cfg, model, runner.engine.name)
                if sink is not None:
                    sink.flush()  # a stopped run keeps every finished batch
                advance(len(chunk), _running_rate(scores))
    finally:
        if sink is not None:
            sink.close()
    return scores, len(scores) * cfg.n


def _score(group: list[Episode], index: int, env_id: str) -> TaskScore:
    info = group[0].reset_info
    if info.get("task_index", index) != index:
        raise RolloutError(
            f"{env_id}: reset(options={{'task_index': {index}}}) gave task "
            f"{info.get('task_index')}; "
            "rlvr eval needs an environment that honours the task_index option (rlvr's envs do)"
        )
    graded = [e for e in group if e.graded]
    return TaskScore(
        str(info.get("task_id", index)),
        index,
        sum(e.passed for e in graded),
        len(graded),
        len(group) - len(graded),
    )


def _task_count(env: Any, env_id: str) -> int:
    tasks = getattr(env.unwrapped, "tasks", None)
    if tasks is None:
        raise ConfigError(
            f"{env_id} exposes no task list (env.unwrapped.tasks); rlvr eval visits the tasks of "
            "rlvr environments (envs.register_env), which pick a task with "
            "reset(options={'task_index': i})"
        )
    return len(tasks)


def _write(sink: Any, group: list[Episode], cfg: EvalConfig, model: str, engine: str) -> None:
    if sink is None:
        return
    for k, e in enumerate(group):
        line = {
            "task_id": e.reset_info.get("task_id"),
            "task_index": e.reset_info.get("task_index"),
            "sample": k,
            "completion": e.completion_text,
            "finish_reason": e.finish_reason,
            "completion_tokens": e.policy_tokens,
            "passed": e.passed if e.graded else None,
            "graded": e.graded,
            "reward": e.reward,
            "verdict": verdict_json(e.verdicts[-1]) if e.verdicts else None,
            "reference": e.reference,
            "messages": e.prompt_messages,
            "model": model,
            "engine": engine,
            "env": cfg.env,
            "env_kwargs": dict(cfg.env_kwargs),
            "seed": e.seed,
            "sampling": cfg.sampling_record(),
        }
        if len(e.verdicts) > 1:
            line["verdicts"] = [verdict_json(v) for v in e.verdicts]
        if e.component_verdicts:  # a combined reward: every component's verdict, per graded step
            line["component_verdicts"] = component_verdicts_json(e.component_verdicts)
        sink.write(json.dumps(line, ensure_ascii=False) + "\n")


def _result(cfg: EvalConfig, scores: list[TaskScore], samples: int) -> EvalResult:
    pass_at, ci = {}, {}
    for k in cfg.ks:
        values = [pass_at_k(s.graded, s.passed, k) for s in scores if s.graded >= k]
        pass_at[k], ci[k] = mean_ci95(values)
    config = {
        "model": cfg.model,
        "env": cfg.env,
        "env_kwargs": dict(cfg.env_kwargs),
        "engine": cfg.engine,
        "seed": cfg.seed,
        "tasks": len(scores),
        "ks": list(cfg.ks),
        **cfg.sampling_record(),
    }
    return EvalResult(tuple(scores), pass_at, ci, samples, sum(s.ungraded for s in scores), config)


def _running_rate(scores: list[TaskScore]) -> float:
    graded = [s for s in scores if s.graded]
    return sum(s.passed / s.graded for s in graded) / len(graded) if graded else 0.0


def _model_name(cfg: EvalConfig, policy: Any) -> str:
    if cfg.model:
        return cfg.model
    return str(
        getattr(getattr(policy, "config", None), "_name_or_path", "") or type(policy).__name__
    )


def _open(output: str | Path | None):
    if output is None:
        return None
    path = Path(output)
    path.parent.mkdir(parents=True, exist_ok=True)
    return path.open("w", encoding="utf-8")


class _progress:
    """A rich progress bar over tasks (or nothing), yielding ``advance(done, pass_rate)``."""

    def __init__(self, enabled: bool, total: int) -> None:
        self.enabled, self.total, self.bar = enabled, total, None

    def __enter__(self):
        if not self.enabled:
            return lambda done, rate: None
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeRemainingColumn,
        )

        self.bar = Progress(
            TextColumn("[bold]eval"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeRemainingColumn(),
            TextColumn("{task.fields[info]}"),
        )
        self.bar.start()
        task = self.bar.add_task("eval", total=self.total, info="")
        return lambda done, rate: self.bar.update(
            task, advance=done, info=f"pass@1 so far {rate:.3f}"
        )

    def __exit__(self, *exc: Any) -> None:
        if self.bar is not None:
            self.bar.stop()

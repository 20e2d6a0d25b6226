"""The GRPO training loop (DeepSeekMath's GRPO and its variants), one step read top to bottom.

Each step: **rollout** G episodes for each of B prompts (DAPO's dynamic sampling refills groups
whose rewards are all equal) -> **score** (env rewards, DAPO overlong shaping; an episode whose
grading could not run is left out, never scored as wrong) -> **advantages**
(group-relative; P3O pairs them inside its loss) -> **update** (mu passes of clipped-ratio loss
over micro-batches with global normalisers; hybrid SFT for hard groups with demonstrations) ->
**sync** the rollout engine -> **log / record / checkpoint**.

Under ``torchrun`` (:mod:`rl.distributed`) each rank samples and grades its share of the prompts
with its own engine; the groups are gathered so that every rank sees the global batch (its
normalisers, advantages and metrics), each rank backpropagates its own episodes and the gradients
are summed across ranks: the update equals the single-process one on the same episodes. Only rank 0
logs, records and checkpoints.

>>> cfg = GRPOConfig(env="rlvr/Math-v1", model="/models/tiny", steps=10, lr=1e-5)  # doctest: +SKIP
>>> history = GRPOTrainer(cfg).train()                                             # doctest: +SKIP
>>> history[-1]["reward_mean"]                                                     # doctest: +SKIP
"""

from __future__ import annotations

import contextlib
import copy
import importlib
import json
import random
import sys
import time
import warnings
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any, Mapping, Sequence

from . import checkpoint as ckpt
from . import distributed as dist
from .advantages import group_advantages, overlong_penalty, zero_std_fraction
from .packing import (
    ScoredEpisode,
    group_micro_batches,
    micro_batches,
    pack,
    pack_scored,
    token_logprobs,
)
from .config import GRPOConfig
from .engines.base import RolloutEngine, check_engine
from .errors import ConfigError, RolloutError, require
from .wave_grading import GatheringExecutor
from .losses import LOSSES, LossParams, Normaliser, PolicyBatch, get_loss, sft_loss
from .metrics import GapWatch, MetricsLogger
from .rollout_records import RecordWriter
from .rollout import Episode, EpisodeRunner, component_verdicts_json, make_envs, verdict_json
from .step_stats import StepStats


class GRPOTrainer:
    """Trains ``config.model`` on ``config.env``; pass ``policy``/``tokenizer``/``engine``/``envs``
    to inject them."""

    def __init__(
        self,
        config: GRPOConfig,
        *,
        policy: Any = None,
        tokenizer: Any = None,
        engine: RolloutEngine | None = None,
        envs: Sequence[Any] | None = None,
        resume: bool = False,
    ) -> None:
        torch = require("torch", "torch")
        self.cfg = config
        dist.init(config.device)
        self.rank, self.world = dist.rank(), dist.world_size()
        self.prompts_per_rank = config.prompts_per_rank(self.world)
        _seed_everything(config.seed)
        self.device = dist.device_for(resolve_device(config.device))
        if self.world > 1 and self.device.startswith("cuda:"):
            torch.cuda.set_device(self.device)  # NCCL's object collectives use the current device
        if policy is None or tokenizer is None:
            policy, tokenizer = load_policy(config.model, self.device)
        self.policy, self.tokenizer = policy.to(self.device), tokenizer
        dist.broadcast_parameters(self.policy)  # every rank starts from rank 0's weights
        if config.disable_dropout:
            _disable_dropout(self.policy)
        self.ref = _frozen_copy(self.policy) if config.beta > 0 else None
        self.engine: RolloutEngine = check_engine(
            engine
            if engine is not None
            else _make_engine(config, self.policy, tokenizer, self.device)
        )
        self.sampling = config.sampling  # each refill round of each step adds its own seed
        self._executor = None
        if envs is None:
            self._executor = grading_pool(
                config.grading_workers, config.grading_executor, config.ray_address
            )
            try:
                envs = _make_gated_envs(
                    config, self._executor, self.prompts_per_rank * config.group_size
                )
            except BaseException:
                self._executor.close()  # no grading worker outlives a run that could not start
                raise
        gather = self._executor if isinstance(self._executor, GatheringExecutor) else None
        self.runner = EpisodeRunner(
            envs, self.engine, tokenizer, config.max_turns, config.chat_template, gather
        )
        self._params = list(self.policy.parameters())
        self.optimizer = _adamw(self.policy, config.lr, config.weight_decay)
        self.loss_fn = get_loss(config.loss)
        self.loss_params = LossParams(
            config.clip_eps_low, config.clip_eps_high_resolved, config.beta, config.kl_estimator
        )
        self.step, self.verifier_specs = 0, set()
        if (
            resume
            and (last := dist.broadcast_object(ckpt.latest_checkpoint(config.output_dir)))
            is not None
        ):
            state = ckpt.restore(last, self.policy, self.optimizer)
            self.step, self.verifier_specs = state["step"], set(state["verifiers"])
            _warn_changed(last, state["config"], config.to_dict())
            self.engine.sync(self.policy)
        self.gap_watch, self._gap_warned = GapWatch(), False
        self._ungraded_streak, self._ungraded_warned, self._closed = 0, False, False
        main = dist.is_main()  # only rank 0 writes
        self.metrics = (
            MetricsLogger(config.output_dir, config.tensorboard) if main else _NullLogger()
        )
        self.records = (
            RecordWriter(config.output_dir, config.record_format)
            if config.record_format != "none" and main
            else None
        )

    def train(self) -> list[dict[str, Any]]:
        """Run until ``config.steps``; returns the metrics of each step run here."""
        history = []
        try:
            with _progress(self.cfg.progress and dist.is_main()) as bar:
                task = bar.add_task("train", total=self.cfg.steps, completed=self.step, info="")
                while self.step < self.cfg.steps:
                    history.append(self.train_step())
                    m = history[-1]
                    ungraded = f"  ungraded {m['ungraded']}" if m["ungraded"] else ""
                    bar.update(
                        task,
                        completed=self.step,
                        info=f"reward {m['reward_mean']:.3f}  kl {m['kl']:.4f}  "
                        f"gap {m['logprob_gap']:.2e}{ungraded}",
                    )
            if history and (not self.cfg.checkpoint_every or self.step % self.cfg.checkpoint_every):
                # the final state, unless a periodic checkpoint just saved it (or nothing ran)
                self.save()
        finally:  # an error or Ctrl-C still flushes the logs and stops the grading workers
            self.close()
        return history

    def train_step(self) -> dict[str, Any]:
        """One optimisation batch: rollout, score, advantages, update, sync, log."""
        torch = require("torch", "torch")
        cfg, timing = self.cfg, {}
        # --- rollout: G episodes per prompt -------------------------------------------------------
        t0 = time.perf_counter()
        groups, dropped = self._collect()
        # the global batch; this rank trains on groups[own]
        groups, dropped, own = self._gather(groups, dropped)
        timing["t_rollout"] = time.perf_counter() - t0
        # --- score: environment rewards plus DAPO's soft overlong penalty -------------------------
        rewards = torch.tensor([[e.reward for e in g] for g in groups], dtype=torch.float)
        lengths = torch.tensor([[e.policy_tokens for e in g] for g in groups])
        rewards = rewards + overlong_penalty(
            lengths, cfg.max_new_tokens, cfg.overlong_buffer, cfg.overlong_penalty
        )
        graded = self._watch_ungraded(groups)  # "could not run" is left out, never scored as wrong
        # --- advantages: group-relative (zero-std groups give exactly 0) --------------------------
        advantages = group_advantages(rewards, scale=cfg.scale_rewards_resolved, graded=graded)
        sign = -1.0 if cfg.flip_advantage_sign else 1.0
        sft = self._sft_groups(groups)
        # --- update: mu passes over micro-batches, one optimiser step per pass --------------------
        t0 = time.perf_counter()
        self._sleep_engine()
        stats = self._update(groups, sign * rewards, sign * advantages, sft, own)
        timing["t_update"] = time.perf_counter() - t0
        # --- sync the rollout engine with the new weights -----------------------------------------
        t0 = time.perf_counter()
        self.engine.sync(self.policy)
        timing["t_sync"] = time.perf_counter() - t0
        # --- log, record, checkpoint --------------------------------------------------------------
        metrics = self._metrics(groups, rewards, graded, stats, timing, dropped, len(sft))
        self._watch_gap(metrics)
        self._record(groups, rewards, advantages)
        self.metrics.log(self.step, metrics)
        self.step += 1
        if cfg.checkpoint_every and self.step % cfg.checkpoint_every == 0:
            self.save()
        return metrics

    # --- rollout ----------------------------------------------------------------------------------
    def _collect(self) -> tuple[list[list[Episode]], int]:
        """This rank's B / world groups; with dynamic sampling, groups whose rewards are all equal
        are dropped and refilled.

        Prompt ``b`` of round ``r`` has seed ``_derive(seed, step, r, b)`` with ``b`` counted over
        the global batch (rank ``k`` takes ``b`` in ``[k * B/world, (k + 1) * B/world)``), so the
        ranks' prompts are those of one process; rank ``k`` samples with the stream
        ``_derive(seed, step, r, -1 - k)`` (rank 0: one process's).
        """
        cfg, kept, dropped, last = self.cfg, [], 0, []
        share, first = self.prompts_per_rank, self.rank * self.prompts_per_rank
        self.runner.reset_timing()
        rounds = 1 + (cfg.max_refill_rounds if cfg.dynamic_sampling else 0)
        for r in range(rounds):
            seeds = [_derive(cfg.seed, self.step, r, first + b) for b in range(share - len(kept))]
            params = self.sampling.replace(seed=_derive(cfg.seed, self.step, r, -1 - self.rank))
            last = self.runner.run(seeds, params)
            for g in last:
                informative = len({e.reward for e in g if e.graded}) > 1
                if informative or not cfg.dynamic_sampling:
                    kept.append(g)
                else:
                    dropped += 1
            if len(kept) >= share:
                break
        return (kept or last)[:share], dropped

    def _gather(
        self, groups: list[list[Episode]], dropped: int
    ) -> tuple[list[list[Episode]], int, range]:
        """Every rank's groups in rank order (the global batch), the dropped count over ranks, and
        the range of this rank's own groups in it (all of them in one process)."""
        if self.world == 1:
            return groups, dropped, range(len(groups))
        parts = dist.all_gather_object((groups, dropped))
        start = sum(len(g) for g, _ in parts[: self.rank])
        return (
            [g for gs, _ in parts for g in gs],
            sum(d for _, d in parts),
            range(start, start + len(groups)),
        )

    def _sft_groups(self, groups: list[list[Episode]]) -> dict[int, str]:
        """Hybrid SFT/RL: groups at or below the accuracy gate that carry a demonstration -> demo
        text."""
        if self.cfg.sft_gate is None:
            return {}
        out = {}
        for i, g in enumerate(groups):
            demo, judged = (
                g[0].reset_info.get(self.cfg.demonstration_key),
                [e for e in g if e.graded],
            )
            if (
                isinstance(demo, str)
                and demo
                and judged
                and sum(e.passed for e in judged) / len(judged) <= self.cfg.sft_gate
            ):
                out[i] = demo
        return out

    def _watch_ungraded(self, groups: list[list[Episode]]) -> Any:
        """The ``[groups, G]`` graded mask; warns once per run about episodes that could not be
        graded and stops the run after ``max_ungraded_steps`` steps in a row in which none could."""
        import torch

        graded = torch.tensor([[e.graded for e in g] for g in groups], dtype=torch.bool)
        if bool(graded.all()):
            self._ungraded_streak = 0
            return graded
        reasons = Counter(_unjudged_reason(e) for g in groups for e in g if not e.graded)
        summary = ", ".join(f"{reason} x{n}" for reason, n in reasons.most_common(5))
        self._ungraded_streak = self._ungraded_streak + 1 if not bool(graded.any()) else 0
        limit = self.cfg.max_ungraded_steps
        if limit and self._ungraded_streak >= limit:
            raise RolloutError(
                f"no episode could be graded in {self._ungraded_streak} steps in a row "
                f"({summary}): the "
                "grader cannot run here; fix what the reasons name (e.g. start Docker for code "
                "environments) or raise max_ungraded_steps (0 never stops)"
            )
        if not self._ungraded_warned and dist.is_main():
            import warnings

            self._ungraded_warned = True
            warnings.warn(
                f"step {self.step}: {int((~graded).sum())} of {graded.numel()} episodes could not "
                f"be graded ({summary}); they are left out of the loss and the reward statistics, "
                "not scored as "
                "wrong (metric 'ungraded' counts them every step)",
                RuntimeWarning,
                stacklevel=3,
            )
        return graded

    # --- update -----------------------------------------------------------------------------------
    def _update(self, groups, rewards, advantages, sft: dict[int, str], own: range) -> StepStats:
        """``mu`` passes over this rank's micro-batches (``groups[own]``), one optimiser step per
        pass (gradients accumulate, then sum over ranks); every loss divides by counts over the
        global batch."""
        cfg = self.cfg
        rl = self._rl_episodes(groups, rewards, advantages, sft)
        if not rl and not sft:  # nothing graded this step (on any rank): no update
            return StepStats()
        mbs, norm = self._rl_batches(rl, own)
        demos = [self._demo_episode(groups[i][0], text) for i, text in sft.items() if i in own]
        sft_mbs = [
            pack(
                [demos[j] for j in r],
                [0.0] * len(r),
                [0.0] * len(r),
                list(r),
                self.tokenizer.pad_token_id,
                self.device,
            )
            for r in micro_batches(len(demos), cfg.micro_batch_size)
        ]
        olds, refs, stats = [None] * len(mbs), [None] * len(mbs), StepStats()
        if not self.policy.training:
            self.policy.train()
        for p in range(cfg.mu):
            for i, mb in enumerate(mbs):
                logp, ent = token_logprobs(self.policy, mb, cfg.temperature, entropy=p == 0)
                if p == 0:  # the behaviour policy is the policy before this batch's first step
                    olds[i], refs[i] = logp.detach(), self._ref_logp(mb)
                    stats.add_first_pass(mb, olds[i], ent)
                weights = _tis_weights(olds[i], mb.sampler_logp, cfg.tis_cap)
                out = self.loss_fn(
                    PolicyBatch(
                        logp,
                        olds[i],
                        mb.mask,
                        mb.advantages,
                        mb.rewards,
                        mb.group_ids,
                        norm,
                        weights,
                        refs[i],
                    ),
                    self.loss_params,
                )
                out.loss.backward()
                stats.add_loss(out.loss.item(), out.stats, cfg.mu)
            # hybrid SFT: demonstrations for the groups the policy cannot solve yet
            for mb in sft_mbs:
                loss = cfg.sft_coef * sft_loss(
                    token_logprobs(self.policy, mb, 1.0)[0], mb.mask, len(sft)
                )
                loss.backward()
                stats.sft_loss += loss.item() / cfg.mu
            stats.grad_norm = self._optimizer_step()
        return stats.all_reduce(self.device) if self.world > 1 else stats

    @staticmethod
    def _rl_episodes(groups, rewards, advantages, sft: dict[int, str]) -> list[ScoredEpisode]:
        """Every episode that takes the RL loss, with its advantage, reward and group."""
        # one conversion, not one tensor index per episode
        adv, rew = (advantages.tolist(), rewards.tolist())
        return [
            ScoredEpisode(e, adv[i][k], rew[i][k], i)
            for i, g in enumerate(groups)
            if i not in sft
            for k, e in enumerate(g)
            if e.graded
        ]  # an ungraded episode has no reward to learn from

    def _rl_batches(self, rl: list[ScoredEpisode], own: range):
        """Micro-batches of the RL episodes of groups ``own`` and the global normaliser over all of
        ``rl``."""
        sizes = Counter(x.group for x in rl)
        norm = Normaliser(
            sequences=max(1, len(rl)),
            tokens=max(1, sum(x.episode.policy_tokens for x in rl)),
            pairs=max(1, sum(n * (n - 1) for n in sizes.values())),
            max_new_tokens=self.cfg.max_new_tokens,
        )
        rl = [x for x in rl if x.group in own]
        if LOSSES[self.cfg.loss].whole_groups:  # P3O pairs need whole groups in a micro-batch
            ranges = group_micro_batches([x.group for x in rl], self.cfg.micro_batch_size)
        else:
            ranges = micro_batches(len(rl), self.cfg.micro_batch_size)
        pad_id = self.tokenizer.pad_token_id
        mbs = [pack_scored([rl[j] for j in r], pad_id, self.device) for r in ranges]
        return mbs, norm

    def _optimizer_step(self) -> float:
        import torch

        # each rank's loss divides by global counts: the sum is the gradient
        dist.all_reduce_grads(self._params)
        limit = self.cfg.max_grad_norm or float("inf")
        norm = float(torch.nn.utils.clip_grad_norm_(self._params, limit))
        for group in self.optimizer.param_groups:
            group["lr"] = self.cfg.lr_at(self.step)
        self.optimizer.step()
        self.optimizer.zero_grad(set_to_none=True)
        return norm

    def _ref_logp(self, mb):
        if self.ref is None:
            return None
        import torch

        with torch.no_grad():
            return token_logprobs(self.ref, mb, self.cfg.temperature)[0]

    def _demo_episode(self, like: Episode, text: str) -> Episode:
        ids = list(self.tokenizer(text, add_special_tokens=False).input_ids) + [
            self.tokenizer.eos_token_id
        ]
        return Episode(
            group=like.group,
            seed=like.seed,
            prompt_text=like.prompt_text,
            prompt_ids=like.prompt_ids,
            tokens=ids,
            loss_mask=[1] * len(ids),
            sampler_logprobs=[0.0] * len(ids),
            texts=[text],
        )

    def _sleep_engine(self) -> None:
        if self.cfg.vllm_sleep:
            self.engine.sleep()

    # --- log / record / checkpoint ----------------------------------------------------------------
    def _metrics(self, groups, rewards, graded, stats, timing, dropped, n_sft) -> dict[str, Any]:
        episodes = [e for g in groups for e in g]
        # statistics of graded episodes only
        judged, scores = ([e for e in episodes if e.graded], rewards[graded])
        lengths = [e.policy_tokens for e in episodes]
        t = self.runner.timing
        out = {
            "reward_mean": float(scores.mean()) if scores.numel() else float("nan"),
            "reward_std": float(scores.std()) if scores.numel() > 1 else 0.0,
            "pass_rate": sum(e.passed for e in judged) / len(judged) if judged else float("nan"),
            "ungraded": len(episodes) - len(judged),
            "zero_std_fraction": zero_std_fraction(rewards, graded=graded),
            "dropped_groups": dropped,
            "sft_groups": n_sft,
            **stats.metrics(),
            "lr": self.cfg.lr_at(self.step),
            "completion_len_mean": sum(lengths) / len(lengths),
            "completion_len_max": max(lengths),
            "t_generate": t["generate"],
            "t_grade": t["grade"],
            **timing,
            "tokens_per_s": sum(lengths) / t["generate"] if t["generate"] > 0 else 0.0,
        }
        out.update(_per_verifier(episodes, self.verifier_specs))
        return out

    def _watch_gap(self, metrics: dict[str, Any]) -> None:
        """Flag (metric every step, warning once per run) a sampler/trainer gap that jumps: stale
        weights."""
        jump = self.gap_watch.update(metrics["logprob_gap"])
        metrics["logprob_gap_jump"] = jump
        if jump and not self._gap_warned and dist.is_main():
            import warnings

            self._gap_warned = True
            level = self.gap_watch.level
            warnings.warn(
                f"step {self.step}: the sampler/trainer log-prob gap jumped to "
                f"{metrics['logprob_gap']:.3g} per token "
                f"({metrics['logprob_gap'] / max(level, 1e-12):.0f}x its recent median "
                f"{level:.3g}); the rollout engine ({self.engine.name}) may be sampling with stale "
                "weights: check that its sync/load_weights takes the new policy weights "
                "(metric logprob_gap_jump marks every such step)",
                RuntimeWarning,
                stacklevel=3,
            )

    def _record(self, groups, rewards, advantages) -> None:
        if self.records is None:
            return
        cfg = self.cfg
        sampling = self.sampling.to_dict("n", "temperature", "top_p", "max_tokens")
        rows, rew, adv = [], rewards.tolist(), advantages.tolist()
        for i, g in enumerate(groups):
            comps = [
                {
                    "text": e.completion_text,
                    "token_ids": e.tokens,
                    "logprobs": e.sampler_logprobs,
                    "loss_mask": e.loss_mask,
                    "finish_reason": e.finish_reason,
                    "reward": rew[i][k] if e.graded else None,
                    "graded": e.graded,
                    "advantage": adv[i][k],
                    "verdicts": [verdict_json(v) for v in e.verdicts],
                    "truncated": e.truncated,
                    **(
                        {"component_verdicts": component_verdicts_json(e.component_verdicts)}
                        if e.component_verdicts
                        else {}
                    ),
                }
                for k, e in enumerate(g)
            ]
            specs = sorted({spec for e in g for spec in _specs(e)})
            rows.append(
                {
                    "step": self.step,
                    "group": i,
                    "seed": g[0].seed,
                    "prompt": g[0].prompt_text,
                    "task_id": g[0].reset_info.get("task_id"),
                    "task_index": g[0].reset_info.get("task_index"),
                    "reference": g[0].reference,
                    "messages": g[0].prompt_messages,
                    "model": cfg.model,
                    "completions": comps,
                    "rewards": [c["reward"] for c in comps],
                    "sampling": sampling,
                    "verifiers": specs,
                }
            )
        self.records.write(self.step, rows)

    def save(self) -> Path:
        """Checkpoint the current state (weights, optimiser, RNG, config, verifier versions); on
        several ranks, rank 0 writes it (the ranks hold the same state) and every rank returns its
        path once it is written."""
        path = None
        if dist.is_main():
            path = ckpt.save_checkpoint(
                self.cfg.output_dir,
                self.step,
                self.policy,
                self.tokenizer,
                self.optimizer,
                self.cfg.to_dict(),
                sorted(self.verifier_specs),
                self.cfg.keep_checkpoints,
            )
        return Path(dist.broadcast_object(path))

    def close(self) -> None:
        """Close the logs, the records, the environments and the grading pool (safe to call
        twice)."""
        if self._closed:
            return
        self._closed = True
        self.metrics.close()
        if self.records is not None:
            self.records.close()
        for env in self.runner.envs:
            env.close()
        if self._executor is not None:
            self._executor.close()


# --- helpers --------------------------------------------------------------------------------------
def _unjudged_reason(episode: Episode) -> str:
    """``status: reason code`` of the first verdict of ``episode`` that could not judge."""
    v = next(episode.unjudged())
    return f"{v.status}: {(v.failure_reason and v.failure_reason.code) or 'no reason given'}"


def _tis_weights(old, sampler, cap):
    """Truncated importance weights ``min(pi_old / pi_sampler, cap)`` (no grad), or None.

    A token whose sampler log-prob is not finite (an engine's NaN) gets weight 1: no correction.
    """
    if cap is None:
        return None
    import torch

    weights = (old - sampler).exp().clamp(max=cap).detach()
    return torch.where(torch.isfinite(sampler), weights, 1.0)


def _specs(episode: Episode) -> set[str]:
    """``name@version`` of every verifier that graded ``episode`` (combined-reward components
    included)."""
    found = [*episode.verdicts, *(v for step in episode.component_verdicts for v in step.values())]
    return {v.spec for v in found if v.verifier}


def _per_verifier(episodes: list[Episode], seen: set[str]) -> dict[str, Any]:
    by_spec, statuses = defaultdict(list), Counter()
    for e in episodes:
        seen.update(_specs(e))
        for v in e.verdicts[-1:]:
            statuses[v.status.value] += 1
            if e.graded:
                by_spec[v.spec].append(e.reward)
    out: dict[str, Any] = {}
    for spec, rewards in by_spec.items():
        mean = sum(rewards) / len(rewards)
        out[f"reward_mean/{spec}"] = mean
        out[f"reward_std/{spec}"] = (
            sum((r - mean) ** 2 for r in rewards) / max(1, len(rewards) - 1)
        ) ** 0.5
    out.update({f"status/{s}": n for s, n in statuses.items()})
    return out


def _warn_changed(path: Any, saved: dict[str, Any], current: dict[str, Any]) -> None:
    ignore = {"steps", "progress", "tensorboard", "checkpoint_every", "keep_checkpoints"}
    # a setting newer than the checkpoint counts as its default there
    defaults = GRPOConfig().to_dict()
    changed = sorted(
        k for k in current if k not in ignore and saved.get(k, defaults.get(k)) != current[k]
    )
    if changed:
        import warnings

        warnings.warn(
            f"resuming from {path} with changed settings {changed}; the run will not match an "
            "uninterrupted one",
            UserWarning,
            stacklevel=3,
        )


def _derive(*parts: int) -> int:
    """A 31-bit seed mixed from integers (SplitMix64 steps): the same on every platform and
    version."""
    x = 0x9E3779B97F4A7C15
    for part in parts:
        x = (x ^ (part % 2**64)) * 0xBF58476D1CE4E5B9 % 2**64
        x = (x ^ (x >> 31)) * 0x94D049BB133111EB % 2**64
        x ^= x >> 29
    return x % 2**31


def _seed_everything(seed: int) -> None:
    import numpy as np
    import torch

    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def grading_pool(workers: int, executor: str = "local", ray_address: str = "auto") -> Any:
    """The grading executor every environment copy shares: in-process (0), one worker, or a
    gathering pool; with ``executor="ray"``, every node of a Ray cluster (``workers`` processes per
    node, 0 = its CPUs)."""
    from verifiers import InlineExecutor, ProcessPoolExecutor

    if executor == "ray":
        from verifiers.ray_executor import RayExecutor

        address = None if ray_address == "local" else ray_address
        return GatheringExecutor(
            RayExecutor(address, workers_per_node=workers or None, timeout_s=60.0)
        )
    if workers == 0:
        return InlineExecutor()
    # nothing to run in parallel: stepping in turn is cheaper than a wave's threads
    if workers == 1:
        return ProcessPoolExecutor(1, timeout_s=60.0)
    # waves graded by all workers at once
    pool = GatheringExecutor(ProcessPoolExecutor(workers, timeout_s=60.0))
    pool.warm()  # fork the workers now, before any stepping thread exists
    return pool


def _adamw(policy: Any, lr: float, weight_decay: float) -> Any:
    """AdamW, fused into one kernel per step where torch has it for these parameters (what HF's
    Trainer uses)."""
    import torch

    params = list(policy.parameters())
    fused = all(p.device.type in ("cpu", "cuda") and p.is_floating_point() for p in params)
    return torch.optim.AdamW(params, lr=lr, weight_decay=weight_decay, fused=fused or None)


def resolve_device(name: str) -> str:
    """``auto`` -> ``cuda`` where torch sees a GPU, else ``cpu``; other names as they are."""
    import torch

    if name == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    return name


def load_policy(path: str, device: str):
    """The policy and tokenizer of the local checkpoint ``path`` (a pad token is set where
    missing)."""
    transformers = require("transformers", "torch")
    tok = load_tokenizer(path)
    model = transformers.AutoModelForCausalLM.from_pretrained(path, local_files_only=True).to(
        device
    )
    return model, tok


def load_tokenizer(path: str):
    """The tokenizer of the local checkpoint ``path``, with a pad token (its EOS where it has
    none)."""
    transformers = require("transformers", "torch")
    _check_model_path(path)
    tok = transformers.AutoTokenizer.from_pretrained(path, local_files_only=True)
    if tok.pad_token is None:
        tok.pad_token = tok.eos_token
    return tok


def load_model_config(path: str):
    """The transformers config of the local checkpoint ``path`` (no weights are read)."""
    transformers = require("transformers", "torch")
    _check_model_path(path)
    return transformers.AutoConfig.from_pretrained(path, local_files_only=True)


def _check_model_path(path: str) -> None:
    if not path or not Path(path).exists():
        raise FileNotFoundError(
            f"model path {path!r} does not exist; pass a local transformers checkpoint directory "
            "(build a tiny one with rl.tiny.make_tiny_model)"
        )
    if Path(path).is_file():
        hint = (
            "convert it first: rlvr model convert FILE --out DIR"
            if str(path).endswith(".gguf")
            else "pass the checkpoint directory that holds config.json"
        )
        raise FileNotFoundError(
            f"model path {path!r} is a file, not a checkpoint directory; {hint}"
        )


def _disable_dropout(model: Any) -> None:
    """Zero every dropout probability of ``model``: ``nn.Dropout`` modules and the float rates
    attention modules keep for their fused kernels (``attention_dropout``). Train mode stays
    (gradient checkpointing and other train-only paths keep working)."""
    import torch

    for module in model.modules():
        if isinstance(module, torch.nn.modules.dropout._DropoutNd):
            module.p = 0.0
        for name in ("attention_dropout", "dropout_p"):
            if isinstance(getattr(module, name, None), float):
                setattr(module, name, 0.0)


def _frozen_copy(model: Any) -> Any:
    ref = copy.deepcopy(model).eval()
    for p in ref.parameters():
        p.requires_grad_(False)
    return ref


def _make_engine(cfg: GRPOConfig, policy: Any, tokenizer: Any, device: str) -> RolloutEngine:
    # the engine choice and vLLM's platform check read the platform (cuda), not a rank's cuda:<k>;
    # the rank's GPU is already the current CUDA device (rl.distributed.init)
    device = device.partition(":")[0]
    return make_engine(
        cfg.engine,
        cfg.model,
        policy,
        tokenizer,
        device,
        seed=cfg.seed,
        vllm_kwargs=cfg.vllm_kwargs,
        gpu_memory_utilization=cfg.vllm_gpu_memory_utilization,
        sleep=cfg.vllm_sleep,
    )


def make_engine(
    kind: str,
    model_path: str,
    policy: Any,
    tokenizer: Any,
    device: str,
    *,
    seed: int = 0,
    vllm_kwargs: Mapping[str, Any] | None = None,
    gpu_memory_utilization: float | None = None,
    sleep: bool = True,
) -> RolloutEngine:
    """The rollout engine ``kind`` (``hf`` wraps ``policy`` itself; ``vllm`` loads ``model_path``
    and reads only the dtype and context length from ``policy``, which may be the model's config;
    ``auto`` picks one with :func:`rl.engines.select.resolve_engine`)."""
    from .engines.select import resolve_engine

    if resolve_engine(kind, model_path, device, policy) == "vllm":
        from .engines.vllm_engine import VLLMEngine

        extra = {**vllm_defaults(policy), **(vllm_kwargs or {})}
        named = {
            "gpu_memory_utilization": extra.pop("gpu_memory_utilization", gpu_memory_utilization),
            "seed": extra.pop("seed", seed),
            "enable_sleep_mode": extra.pop("enable_sleep_mode", sleep),
            "device": extra.pop("device", device),
        }
        return VLLMEngine(model_path, **named, **extra)
    from .engines.hf import HFEngine

    return HFEngine(policy, tokenizer)


def vllm_defaults(model: Any, max_model_len: int = 4096) -> dict[str, Any]:
    """``vllm.LLM`` arguments that fit a trainer: the policy's own dtype (vLLM's ``auto`` would turn
    a float32 checkpoint into bf16 and open a log-prob gap) and a context no longer than
    ``max_model_len``.

    ``model`` is the policy, or only its transformers config (then the dtype is the checkpoint's).
    """
    config = getattr(model, "config", model)
    if hasattr(model, "parameters"):
        dtype = next(model.parameters()).dtype
    else:
        dtype = getattr(config, "dtype", None) or getattr(config, "torch_dtype", None) or "auto"
    context = getattr(config, "max_position_embeddings", None) or max_model_len
    return {
        "dtype": str(dtype).removeprefix("torch."),
        "max_model_len": min(max_model_len, int(context)),
    }


def _progress(show: bool):
    if not show:
        return _NullProgress()
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    return Progress(
        TextColumn("[bold]GRPO"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("{task.fields[info]}"),
    )


class _NullLogger:
    """What ranks other than 0 log to: nothing."""

    def log(self, step: int, metrics: Mapping[str, Any]) -> None:
        return None

    def close(self) -> None:
        return None


class _NullProgress(contextlib.AbstractContextManager):
    def __exit__(self, *exc: Any) -> None:
        return None

    def add_task(self, *args: Any, **kwargs: Any) -> int:
        return 0

    def update(self, *args: Any, **kwargs: Any) -> None:
        return None


def _make_gated_envs(config: GRPOConfig, executor: Any, count: int) -> list[Any]:
    """``count`` environment copies of the run, their tasks passed through the quarantine gate."""
    from envs.errors import QuarantineError

    kwargs, gate = dict(config.env_kwargs), None
    if "quarantine" not in kwargs:
        gate = _quarantine_gate(config)
        if gate is not None and _takes_quarantine(config):
            kwargs["quarantine"] = gate
    try:
        envs = make_envs(config.env, count, kwargs, config.env_modules, executor)
    except QuarantineError as exc:
        raise ConfigError(
            f"{exc}\n(quarantine={config.quarantine!r}; "
            f"on_contamination={config.on_contamination!r})"
        ) from exc
    if gate is not None and not hasattr(envs[0].unwrapped, "quarantine_report"):
        _ungated(config, gate)
    if dist.is_main():
        _write_quarantine_report(envs[0], config.output_dir)
    return envs


def _quarantine_gate(config: GRPOConfig) -> Any:
    """The gate the config asks for: ``None`` for ``off``, or for ``auto`` when the default list is
    empty."""
    from envs.quarantine import IsolationList, QuarantineGate, default_dir

    if config.quarantine == "off":
        return None
    isolation = IsolationList(
        default_dir() if config.quarantine == "auto" else Path(config.quarantine)
    )
    if not isolation.sets():
        if config.quarantine == "auto":
            return None
        raise ConfigError(
            f"quarantine={config.quarantine!r} holds no isolation list; register evaluation sets "
            "with "
            "`rlvr quarantine add FILE --dir ...`, or set quarantine='off'"
        )
    return QuarantineGate(isolation, config.on_contamination)


def _takes_quarantine(config: GRPOConfig) -> bool:
    """Whether the environment's constructor takes ``quarantine=`` (by name, or through
    ``**kwargs``)."""
    import inspect

    import gymnasium

    try:
        for module in config.env_modules:
            importlib.import_module(module)
        entry = gymnasium.spec(config.env).entry_point
        if isinstance(entry, str):
            module, _, attr = entry.partition(":")
            entry = getattr(importlib.import_module(module), attr)
        params = inspect.signature(entry).parameters.values()
    except Exception:  # an unknown id or module: make_envs reports it with the fix
        return False
    return any(p.name == "quarantine" or p.kind is inspect.Parameter.VAR_KEYWORD for p in params)


def _ungated(config: GRPOConfig, gate: Any) -> None:
    """An environment that cannot apply the gate: an error when a list was named, a warning under
    ``auto``."""
    message = (
        f"environment {config.env} does not take quarantine=, so its tasks were not checked "
        f"against the isolation list in {gate.isolation.folder}"
    )
    if config.quarantine != "auto":
        raise ConfigError(
            f"{message}; check its task source with `rlvr quarantine check`, or set "
            "quarantine='off'"
        )
    warnings.warn(f"{message}; set quarantine='off' to silence this", RuntimeWarning, stacklevel=3)


def _write_quarantine_report(env: Any, output_dir: str) -> None:
    """Keep the gate's report beside the run, and say on stderr what was dropped."""
    report = getattr(env.unwrapped, "quarantine_report", None)
    if report is None:
        return
    path = Path(output_dir) / "quarantine_report.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        json.dumps(report.to_dict(), indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
    )
    if not report.clean:
        print(
            f"quarantine: dropped {len(report.hit_ids)} of {report.checked} tasks (report: "
            f"{path})\n"
            f"{report.summary(5)}",
            file=sys.stderr,
        )

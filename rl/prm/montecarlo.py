"""Automatic step labels: Monte-Carlo estimation (Math-Shepherd) and final-answer grading.

Monte-Carlo: for each step ``i`` of a trajectory, the prompt is the problem followed by the
raw text up to the end of step ``i``; a rollout engine samples ``k`` continuations; each
``prefix + continuation`` is graded against the gold answer with a verifier (``math@2``), and the
step is labelled by the fraction solved. Continuations the verifier could not judge
(``timeout``/``error``) are not counted as tried - "could not run" is never "wrong"; a step with
no judged continuation gets no label and is reported. Each label is a ``soft`` event of kind
``monte_carlo`` with ``rollouts``/``solved`` and the engine, model, sampling and verifier in
``meta``.

>>> import tempfile, os
>>> from rl.engines import FakeEngine
>>> from rl.prm.store import PrmStore
>>> store = PrmStore(os.path.join(tempfile.mkdtemp(), "p.db"))
>>> problem = store.add_problem("2+2?", gold_answer="4")
>>> t = store.add_trajectory(problem.id, "2+2 is 4.\\nThe answer is 4.")
>>> _ = store.add_segmentation(t.id)
>>> engine = FakeEngine(["The answer is 4.", "The answer is 5."])
>>> result = label_trajectory(store, t.id, engine, MonteCarloConfig(k=2, workers=0))
>>> [e.value for e in result.events], result.events[0].rollouts
([0.5, 0.5], 2)
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable

from rl.engines.base import RolloutEngine, SamplingParams
from verifiers import Status

from .errors import PrmError
from .records import LabelEvent
from .store import PrmStore


@dataclass(frozen=True)
class MonteCarloConfig:
    """How Monte-Carlo labels are estimated.

    The continuations are sampled with one record, :attr:`sampling` (``n`` is ``k``), built from
    the sampling fields where the settings enter and passed to the engine as it is.

    >>> MonteCarloConfig(k=4, temperature=0.9, seed=1).sampling
    SamplingParams(n=4, temperature=0.9, top_p=1.0, max_tokens=256, seed=1, stop=())
    """

    k: int = 8
    """Continuations sampled per step prefix."""
    temperature: float = 0.7
    """Sampling temperature of the continuations."""
    top_p: float = 1.0
    """Nucleus mass."""
    max_tokens: int = 256
    """Maximum new tokens per continuation."""
    seed: int | None = None
    """Sampling seed, where the engine supports one."""
    verifier: str = "math@2"
    """Verifier spec grading ``prefix + continuation`` against ``{"answer": gold}``."""
    prompt_template: str = "{problem}\n\n{prefix}\n"
    """Engine prompt; ``{problem}`` and ``{prefix}`` (raw text up to the end of the step) are
    filled."""
    joiner: str = "\n"
    """Put between the prefix and the continuation when grading."""
    workers: int = 1
    """Grading worker processes (``0``: grade in-process, without a time bound)."""
    timeout_s: float = 30.0
    """Per-continuation grading bound."""

    def __post_init__(self) -> None:
        if self.k < 1:
            raise PrmError(f"MonteCarloConfig.k must be >= 1, got {self.k}; Math-Shepherd used k=8")
        if "{prefix}" not in self.prompt_template:
            raise PrmError(f"prompt_template {self.prompt_template!r} must contain {{prefix}}")
        if self.workers < 0:
            raise PrmError(f"MonteCarloConfig.workers must be >= 0, got {self.workers}")
        self.sampling  # a bad sampling value fails here, not in the first labelling call

    @property
    def sampling(self) -> SamplingParams:
        """The continuations' sampling parameters: ``k`` of them per prefix."""
        return SamplingParams(
            n=self.k,
            temperature=self.temperature,
            top_p=self.top_p,
            max_tokens=self.max_tokens,
            seed=self.seed,
        )


@dataclass
class MonteCarloResult:
    """Labels recorded for one trajectory."""

    trajectory_id: int
    """The trajectory labelled."""
    events: list[LabelEvent] = field(default_factory=list)
    """The stored events, one per labelled step."""
    unlabelled_steps: list[int] = field(default_factory=list)
    """Steps with no judged continuation (all timed out or errored)."""


def model_id(engine: Any) -> str:
    """``engine.name:model`` where the engine says which model it runs (``model_id`` attribute, or a
    transformers model's ``name_or_path``), else the engine's name."""
    model = getattr(engine, "model_id", None) or getattr(
        getattr(engine, "model", None), "name_or_path", None
    )
    return f"{engine.name}:{model}" if model else str(engine.name)


def label_trajectory(
    store: PrmStore,
    trajectory_id: int,
    engine: RolloutEngine,
    config: MonteCarloConfig | None = None,
    *,
    annotator_id: str | None = None,
) -> MonteCarloResult:
    """Monte-Carlo label every step of a trajectory's current segmentation; see the module
    docstring."""
    import verifiers

    config = config or MonteCarloConfig()
    traj = store.trajectory(trajectory_id)
    problem = store.problem(traj.problem_id)
    if problem.gold_answer is None:
        raise PrmError(
            f"problem {problem.hash[:19]} has no gold answer; Monte-Carlo labels need one to grade"
        )
    steps = store.steps(trajectory_id)
    if not steps:
        raise PrmError(
            f"trajectory {trajectory_id} is not segmented; call store.add_segmentation first"
        )
    prefixes = [traj.raw_text[: s.end] for s in steps]
    prompts = [config.prompt_template.format(problem=problem.text, prefix=p) for p in prefixes]
    outputs = engine.generate(prompts, config.sampling)
    reference = {"answer": problem.gold_answer}
    items = [
        verifiers.GradeItem(prefix + config.joiner + c.text, reference, config.verifier, (i, j))
        for i, (prefix, group) in enumerate(zip(prefixes, outputs))
        for j, c in enumerate(group)
    ]
    verdicts = verifiers.grade_batch(items, workers=config.workers, timeout_s=config.timeout_s)
    spec = verifiers.resolve(config.verifier)
    who = annotator_id or model_id(engine)
    result = MonteCarloResult(trajectory_id)
    events = []
    for i, step in enumerate(steps):
        mine = verdicts[i * config.k : (i + 1) * config.k]
        event = _event(step.id, mine, who, engine, spec, config)
        if event is None:
            result.unlabelled_steps.append(i)
        else:
            events.append(event)
    result.events = store.add_labels(events)
    return result


def _event(
    step_id: int,
    verdicts: list,
    who: str,
    engine: RolloutEngine,
    spec: str,
    config: MonteCarloConfig,
) -> LabelEvent | None:
    statuses = Counter(v.status.value for v in verdicts)
    judged = [v for v in verdicts if v.status.judged]
    if not judged:
        return None
    solved = sum(1 for v in judged if v.passed)
    meta = {
        "engine": engine.name,
        "model": who,
        "verifier": spec,
        "k": config.k,
        "sampling": config.sampling.to_dict("temperature", "top_p", "max_tokens", "seed"),
        "statuses": dict(sorted(statuses.items())),
    }
    return LabelEvent(
        step_id=step_id,
        value=solved / len(judged),
        value_kind="soft",
        annotator_kind="monte_carlo",
        annotator_id=who,
        rollouts=len(judged),
        solved=solved,
        meta=meta,
    )


def label_many(
    store: PrmStore,
    trajectory_ids: Iterable[int],
    engine: RolloutEngine,
    config: MonteCarloConfig | None = None,
    *,
    progress: Callable[[int], None] | None = None,
) -> list[MonteCarloResult]:
    """:func:`label_trajectory` for each id; ``progress`` is called once per trajectory."""
    results = []
    for trajectory_id in trajectory_ids:
        results.append(label_trajectory(store, trajectory_id, engine, config))
        if progress is not None:
            progress(1)
    return results


def grade_final_answers(
    store: PrmStore,
    trajectory_ids: Iterable[int],
    *,
    verifier: str = "math@2",
    label_last_step: bool = True,
    workers: int = 1,
    timeout_s: float = 30.0,
) -> dict[str, int]:
    """Grade each trajectory's raw text against its problem's gold answer and record the final
    verdict (under ``name@version``). With ``label_last_step``, a ``pass`` also labels the last step
    +1 and a ``fail`` labels it -1 (``error_type="wrong_final_value"``), as annotator kind
    ``verifier``; ``unparseable``/``timeout``/``error`` label nothing. Returns counts by status."""
    import verifiers

    ids = [t for t in trajectory_ids]
    trajs = [store.trajectory(t) for t in ids]
    golds = [store.problem(t.problem_id).gold_answer for t in trajs]
    todo = [(t, g) for t, g in zip(trajs, golds) if g is not None]
    items = [verifiers.GradeItem(t.raw_text, {"answer": g}, verifier, t.id) for t, g in todo]
    verdicts = verifiers.grade_batch(items, workers=workers, timeout_s=timeout_s)
    counts: Counter = Counter({"no_gold_answer": len(trajs) - len(todo)})
    events = []
    for (traj, _), verdict in zip(todo, verdicts):
        spec = verdict.spec if verdict.verifier else verifier
        answer = (verdict.details or {}).get("extracted")
        store.record_verdict(
            traj.id,
            verifier=spec,
            status=verdict.status,
            score=verdict.score,
            final_answer=answer,
        )
        counts[verdict.status.value] += 1
        steps = store.steps(traj.id) if label_last_step else []
        if steps and verdict.status in (Status.PASS, Status.FAIL):
            passed = verdict.passed
            events.append(
                LabelEvent(
                    step_id=steps[-1].id,
                    value=1 if passed else -1,
                    annotator_kind="verifier",
                    annotator_id=spec,
                    error_type=None if passed else "wrong_final_value",
                    rationale=verdict.failure_reason.message if verdict.failure_reason else None,
                )
            )
    if events:
        store.add_labels(events)
    return dict(counts)

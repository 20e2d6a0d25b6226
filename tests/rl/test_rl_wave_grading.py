"""GatheringExecutor: a wave of env.step calls is graded in one batch, with the sequential
verdicts."""

from __future__ import annotations

import functools
import threading

import pytest

import envs
from rl.wave_grading import MAX_WAVE, GatheringExecutor
from rl.rollout import make_envs
from verifiers import GradeItem, InlineExecutor, ProcessPoolExecutor
from verifiers.executor import Job

TASKS = [
    {"id": f"t{i}", "prompt": f"{i}=", "reference": {"answer": gold}}
    for i, gold in zip("1234", "7358")
]
ENV_ID = "rlvrtest/GatherDigit-v0"
ANSWERS = ["7", "3", "x", "5", "8", "1", "", "7", "2+1", "3", "9", "8"]


class CountingExecutor:
    """The real in-process executor, counting how many ``map`` calls and jobs reach it."""

    def __init__(self, inner):
        self.inner, self.calls, self.jobs = inner, 0, 0

    def map(self, jobs):
        jobs = list(jobs)
        self.calls, self.jobs = self.calls + 1, self.jobs + len(jobs)
        yield from self.inner.map(jobs)

    def close(self):
        self.inner.close()


class FailingExecutor:
    def map(self, jobs):
        list(jobs)
        raise RuntimeError("grading backend down")
        yield  # pragma: no cover

    def close(self):
        pass


def _step_all(env_list, pool, gather=True):
    for i, env in enumerate(env_list):
        env.reset(options={"task_index": i % 4})
    calls = [functools.partial(env.step, a) for env, a in zip(env_list, ANSWERS)]
    if not gather:
        return [c() for c in calls]
    with pool.gather(len(calls)) as wave:
        return wave.run(calls)


def _summary(results):
    return [(reward, info["verdict"].identity()) for _, reward, _, _, info in results]


@pytest.fixture
def registered():
    envs.register_env(ENV_ID, verifier="math@1", tasks=TASKS, replace=True)
    return ENV_ID


def test_a_wave_is_graded_in_one_call_with_the_sequential_verdicts(registered):
    counting = CountingExecutor(InlineExecutor())
    pool = GatheringExecutor(counting)
    env_list = make_envs(registered, len(ANSWERS), executor=pool)
    sequential = _step_all(env_list, pool, gather=False)
    assert (counting.calls, counting.jobs) == (len(ANSWERS), len(ANSWERS))
    gathered = _step_all(env_list, pool)
    assert (counting.calls, counting.jobs) == (len(ANSWERS) + 1, 2 * len(ANSWERS))
    assert _summary(gathered) == _summary(sequential)
    assert [r for _, r, *_ in gathered][:2] == [1.0, 1.0] and gathered[2][1] == 0.0
    pool.close()


def test_a_process_pool_wave_matches_in_process_grading(registered):
    pool = GatheringExecutor(ProcessPoolExecutor(2, timeout_s=60.0))
    pool.warm()
    inline = make_envs(registered, len(ANSWERS), executor=InlineExecutor())
    pooled = make_envs(registered, len(ANSWERS), executor=pool)
    try:
        assert _summary(_step_all(pooled, pool)) == _summary(_step_all(inline, None, gather=False))
    finally:
        pool.close()


def test_steps_that_do_not_grade_do_not_stall_the_wave():
    counting = CountingExecutor(InlineExecutor())
    pool = GatheringExecutor(counting)
    grading = [lambda: list(pool.map([])) or "graded"] * 3
    idle = [lambda: "no grading"] * 2
    with pool.gather(5) as wave:
        assert wave.run(grading + idle) == ["graded"] * 3 + ["no grading"] * 2
    with pool.gather(4) as wave:  # announced more callers than it runs
        assert wave.run(idle) == ["no grading"] * 2
    assert counting.calls == 1  # the three grading callers went out together


def test_a_grading_failure_reaches_every_caller_of_the_wave():
    pool = GatheringExecutor(FailingExecutor())
    with pool.gather(3) as wave, pytest.raises(RuntimeError, match="grading backend down"):
        wave.run([lambda: list(pool.map([Job(0, GradeItem("7", {"answer": "7"}, "math@1"))]))] * 3)


def test_map_outside_a_wave_passes_through_and_wave_size_is_bounded():
    counting = CountingExecutor(InlineExecutor())
    pool = GatheringExecutor(counting)
    assert list(pool.map([])) == [] and counting.calls == 1
    seen = []
    thread = threading.Thread(target=lambda: seen.append(list(pool.map([]))))
    with pool.gather(1):
        thread.start()
        thread.join()  # a thread the wave did not start is not held back
    assert seen == [[]] and counting.calls == 2
    with pytest.raises(ValueError, match=f"1..{MAX_WAVE} callers"):
        with pool.gather(MAX_WAVE + 1):
            pass


def test_the_trainer_grades_in_waves_with_several_workers_and_learns_the_same(
    tiny_model_path, tmp_path, registered
):
    from rl.config import GRPOConfig
    from rl.trainer import GRPOTrainer

    def run(workers):
        cfg = GRPOConfig(
            env=registered,
            model=tiny_model_path,
            group_size=4,
            prompts_per_step=2,
            micro_batch_size=8,
            max_new_tokens=1,
            steps=3,
            lr=2e-2,
            seed=3,
            output_dir=str(tmp_path / f"w{workers}"),
            progress=False,
            tensorboard=False,
            record_format="none",
            grading_workers=workers,
        )
        trainer = GRPOTrainer(cfg)
        gathered = isinstance(trainer.runner.gather, GatheringExecutor)
        return gathered, [
            (m["reward_mean"], m["loss"], m.get("status/pass", 0)) for m in trainer.train()
        ]

    in_process, pooled = run(0), run(2)
    assert not in_process[0] and pooled[0]
    assert pooled[1] == in_process[1]

"""Monte-Carlo labels through a rollout engine, graded by math@2; final-answer grading.

The labeller is tested with FakeEngine: scripted continuations whose final answers are known, so
the fraction solved per step is exact. The engine is the fake here, never the verifier: grading is
the real math@2. One slow test runs a real tiny transformers model end to end.
"""

from __future__ import annotations

import pytest

from rl.engines import FakeEngine
from rl.prm.errors import PrmError
from rl.prm.montecarlo import MonteCarloConfig, grade_final_answers, label_trajectory, model_id
from rl.prm.store import PrmStore
from verifiers import BaseVerifier, Outcome, register, unregister

RAW = "2 * 3 = 6.\n6 + 1 = 7.\nThe answer is 7."


@pytest.fixture
def store(tmp_path):
    with PrmStore(tmp_path / "prm.db") as s:
        yield s


@pytest.fixture
def traj(store):
    t = store.add_trajectory(
        store.add_problem("Compute 2 * 3 + 1.", gold_answer="7").id, RAW, generator="g"
    )
    store.add_segmentation(t.id)
    return t


def boxed(n):
    return f"So the result is $\\boxed{{{n}}}$."


SCRIPT = [
    boxed(7),
    boxed(7),
    boxed(7),
    boxed(8),  # step 0: 3 of 4 solved
    boxed(7),
    boxed(9),
    boxed(9),
    boxed(9),  # step 1: 1 of 4
    boxed(5),
    boxed(5),
    boxed(5),
    boxed(5),
]  # step 2: 0 of 4


def test_fraction_solved_per_step_is_recorded_exactly(store, traj):
    engine = FakeEngine(SCRIPT)
    result = label_trajectory(store, traj.id, engine, MonteCarloConfig(k=4, workers=0, seed=3))
    assert [(e.value, e.rollouts, e.solved) for e in result.events] == [
        (0.75, 4, 3),
        (0.25, 4, 1),
        (0.0, 4, 0),
    ]
    stored = store.events(store.steps(traj.id)[0].id)[0]
    assert (stored.annotator_kind, stored.value_kind, stored.annotator_id) == (
        "monte_carlo",
        "soft",
        "fake",
    )
    assert stored.meta["verifier"] == "math@2" and stored.meta["engine"] == "fake"
    assert stored.meta["sampling"]["seed"] == 3 and stored.meta["statuses"] == {
        "fail": 1,
        "pass": 3,
    }
    labels = store.current_labels(traj.id)
    assert [(l.value, l.soft) for l in labels] == [(1, 0.75), (1, 0.25), (-1, 0.0)]
    assert store.first_wrong_step(traj.id) == 2


def test_prompts_are_problem_plus_step_prefix(store, traj):
    seen = []

    class Recording(FakeEngine):
        def generate(self, prompts, params):
            seen.extend(prompts)
            assert params.n == 2 and params.temperature == 0.7
            return super().generate(prompts, params)

    label_trajectory(store, traj.id, Recording([boxed(7)]), MonteCarloConfig(k=2, workers=0))
    assert seen == [
        "Compute 2 * 3 + 1.\n\n2 * 3 = 6.\n",
        "Compute 2 * 3 + 1.\n\n2 * 3 = 6.\n6 + 1 = 7.\n",
        f"Compute 2 * 3 + 1.\n\n{RAW}\n",
    ]


class FlakyVerifier(BaseVerifier):
    """Test-only: errors on responses containing CRASHME, else passes when the gold ends the
    response.

    Versions: 1 - first version.
    """

    name = "test_prm_flaky"
    version = 1
    description = "test-only"

    def check(self, response, reference):
        if "CRASHME" in response:
            return Outcome.error("broken", "simulated grader failure")
        if response.rstrip().endswith(reference["answer"]):
            return Outcome.passed()
        return Outcome.failed("wrong_answer", "no")


@pytest.fixture
def flaky():
    register(FlakyVerifier, replace=True)
    yield "test_prm_flaky@1"
    unregister("test_prm_flaky@1")


def test_ungraded_continuations_are_not_counted_as_wrong(store, traj, flaky):
    script = ["CRASHME"] * 3 + ["CRASHME", "7", "8"] + ["8", "8", "7"]
    result = label_trajectory(
        store, traj.id, FakeEngine(script), MonteCarloConfig(k=3, workers=0, verifier=flaky)
    )
    assert result.unlabelled_steps == [0]
    assert [(e.rollouts, e.solved) for e in result.events] == [(2, 1), (3, 1)]
    assert store.current_labels(traj.id)[0] is None


def test_labeller_refuses_problems_without_gold_and_unsegmented_trajectories(store):
    no_gold = store.add_trajectory(store.add_problem("q").id, "a")
    store.add_segmentation(no_gold.id)
    with pytest.raises(PrmError, match="no gold answer"):
        label_trajectory(store, no_gold.id, FakeEngine(["x"]), MonteCarloConfig(k=1, workers=0))
    bare = store.add_trajectory(store.add_problem("q2", gold_answer="1").id, "a")
    with pytest.raises(PrmError, match="not segmented"):
        label_trajectory(store, bare.id, FakeEngine(["x"]), MonteCarloConfig(k=1, workers=0))


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(k=0), "k must be >= 1"),
        (dict(prompt_template="{problem}"), "must contain \\{prefix\\}"),
        (dict(workers=-1), "workers must be >= 0"),
    ],
)
def test_config_validation(kwargs, message):
    with pytest.raises(PrmError, match=message):
        MonteCarloConfig(**kwargs)


def test_grade_final_answers_records_verdict_and_labels_last_step(store, traj):
    wrong = store.add_trajectory(traj.problem_id, "2 * 3 = 6.\nThe answer is 8.", generator="g")
    store.add_segmentation(wrong.id)
    counts = grade_final_answers(store, [traj.id, wrong.id], workers=0)
    assert counts == {"no_gold_answer": 0, "pass": 1, "fail": 1}
    assert store.final_verdict(traj.id).verifier == "math@2"
    assert store.final_verdict(wrong.id).status == "fail"
    last = store.events(store.steps(wrong.id)[-1].id)[0]
    assert (last.annotator_kind, last.value, last.error_type) == (
        "verifier",
        -1,
        "wrong_final_value",
    )


def test_model_id_names_engine_and_model():
    class Model:
        name_or_path = "/models/tiny"

    class Engine:
        name = "hf"
        model = Model()

    assert model_id(Engine()) == "hf:/models/tiny"
    assert model_id(FakeEngine(["x"])) == "fake"


@pytest.mark.slow
def test_monte_carlo_with_a_real_tiny_model(tmp_path, store, traj):
    pytest.importorskip("torch", reason="the HF engine needs rlvr[torch]")
    from rl.engines.hf import HFEngine
    from rl.tiny import make_tiny_model

    path = make_tiny_model(tmp_path / "tiny", hidden_size=32, num_layers=2)
    engine = HFEngine.from_pretrained(path)
    result = label_trajectory(
        store, traj.id, engine, MonteCarloConfig(k=2, max_tokens=8, seed=0, workers=0)
    )
    assert len(result.events) + len(result.unlabelled_steps) == 3
    for event in result.events:
        assert event.annotator_id == f"hf:{path}" and 0.0 <= event.value <= 1.0
        assert event.meta["engine"] == "hf" and event.meta["verifier"] == "math@2"
    assert all(0.0 <= e.value <= 1.0 for s in store.steps(traj.id) for e in store.events(s.id))

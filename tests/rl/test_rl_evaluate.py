"""``rlvr eval`` / :func:`rl.evaluate.evaluate`: every task once, N samples in = N verdict lines
out, pass@k."""

from __future__ import annotations

import json
import math

import pytest

import envs
from rl.cli import main
from rl.errors import ConfigError
from rl.evaluate import EvalConfig, evaluate, mean_ci95, paired_gain_ci95, pass_at_k, task_indices

TASKS = [{"id": f"t{i}", "prompt": f"{i}=", "reference": {"answer": str(i % 10)}} for i in range(7)]


@pytest.fixture
def digit_env():
    envs.register_env("rlvrtest/EvalDigit-v0", verifier="math@2", tasks=TASKS, replace=True)
    return "rlvrtest/EvalDigit-v0"


def config(model, env, **changes):
    base = dict(
        model=model, env=env, max_new_tokens=2, batch_size=3, chat_template=False, progress=False
    )
    return EvalConfig(**{**base, **changes})


def test_pass_at_k_is_the_unbiased_estimator():
    assert pass_at_k(10, 0, 1) == 0.0 and pass_at_k(10, 10, 5) == 1.0
    assert pass_at_k(10, 3, 1) == pytest.approx(0.3)
    assert pass_at_k(5, 2, 2) == pytest.approx(1 - math.comb(3, 2) / math.comb(5, 2))
    with pytest.raises(ValueError, match="needs at least 4 samples"):
        pass_at_k(3, 1, 4)


def test_intervals_and_paired_gain():
    mean, (lo, hi) = mean_ci95([1.0] * 30 + [0.0] * 70)
    assert mean == pytest.approx(0.3) and lo < 0.3 < hi and hi - lo < 0.2
    before = {f"t{i}": 0.0 for i in range(50)}
    after = {f"t{i}": float(i < 25) for i in range(50)} | {"only-after": 1.0}
    gain, (glo, ghi) = paired_gain_ci95(before, after)  # paired by id: the extra task is left out
    assert gain == 0.5 and 0 < glo < 0.5 < ghi
    assert mean_ci95([1.0] * 5)[1][0] > 0.5 and mean_ci95([0.0] * 5)[1] == (
        0.0,
        pytest.approx(0.434, abs=1e-3),
    )
    with pytest.raises(ValueError, match="tasks scored in both runs"):
        paired_gain_ci95({"a": 1.0}, {"b": 1.0})


def test_the_same_seed_picks_the_same_tasks():
    assert task_indices(100, 10, 3) == task_indices(100, 10, 3) != task_indices(100, 10, 4)
    assert len(set(task_indices(100, 10, 3))) == 10 and task_indices(5, 10, 0) == [0, 1, 2, 3, 4]


@pytest.mark.parametrize(
    "changes, message",
    [
        (
            {"n": 4},
            r"n=4 samples at temperature 0 are all the same greedy completion; set temperature > 0",
        ),
        (
            {"n": 2, "temperature": 0.8, "ks": (1, 3)},
            r"pass@k needs 1 <= k <= n=2; got ks=\[1, 3\]",
        ),
        ({"engine": "tgi"}, r"engine='tgi' is not one of"),
        ({"tasks": 0}, r"tasks=0 must be >= 1"),
    ],
)
def test_bad_settings_say_the_fix(changes, message):
    with pytest.raises(ConfigError, match=message):
        EvalConfig(**changes)


def test_every_sample_gets_a_verdict_line_with_provenance(tiny_model_path, digit_env, tmp_path):
    out = tmp_path / "v.jsonl"
    result = evaluate(
        config(tiny_model_path, digit_env, n=3, ks=(1, 3), temperature=1.0), output=out
    )
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(lines) == 7 * 3 == result.samples and len(result.scores) == 7
    # each task once
    assert sorted({line["task_id"] for line in lines}) == sorted(t["id"] for t in TASKS)
    for line in lines:
        v = line["verdict"]
        assert (v["verifier"], v["verifier_version"]) == ("math", 2) and v[
            "test_case_hash"
        ].startswith("sha256:")
        assert line["passed"] == (v["status"] == "pass") and line["sampling"]["n"] == 3
    passes = {s.task_id: s.passed for s in result.scores}
    assert all(passes[t] == sum(ln["passed"] for ln in lines if ln["task_id"] == t) for t in passes)
    assert result.pass_at[1] == pytest.approx(sum(ln["passed"] for ln in lines) / 21)
    assert 0 <= result.pass_at[1] <= result.pass_at[3] <= 1 and result.ungraded == 0


def test_same_seed_same_tasks_and_completions(tiny_model_path, digit_env, tmp_path):
    cfg = config(tiny_model_path, digit_env, n=2, temperature=1.0, tasks=4, seed=11)
    first, second = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    evaluate(cfg, output=first)
    evaluate(cfg, output=second)
    assert first.read_text() == second.read_text() and len(first.read_text().splitlines()) == 8


def test_rlvr_eval_prints_a_summary_and_writes_files(tiny_model_path, digit_env, tmp_path, capsys):
    out, summary = tmp_path / "v.jsonl", tmp_path / "s.json"
    code = main(
        [
            "eval",
            "--model",
            tiny_model_path,
            "--env",
            digit_env,
            "--max-new-tokens",
            "2",
            "--tasks",
            "5",
            "--no-progress",
            "--out",
            str(out),
            "--summary",
            str(summary),
        ]
    )
    assert code == 0
    printed = capsys.readouterr().out
    assert "pass@1" in printed and digit_env in printed
    assert len(out.read_text().splitlines()) == 5
    assert json.loads(summary.read_text())["tasks"] == 5


def test_rlvr_eval_refuses_a_missing_model(tmp_path, capsys):
    assert main(["eval", "--model", str(tmp_path / "nope")]) == 2
    assert "does not exist" in capsys.readouterr().err
    (tmp_path / "m.gguf").write_bytes(b"GGUF")
    assert main(["eval", "--model", str(tmp_path / "m.gguf")]) == 2
    assert "convert it first: rlvr model convert" in capsys.readouterr().err
    assert main(["eval", "--model", str(tmp_path), "--vllm-kwargs", "[1]"]) == 2
    assert "--vllm-kwargs takes a JSON object" in capsys.readouterr().err


def test_an_env_without_a_task_list_is_refused(tiny_model_path):
    import gymnasium
    from rl_test_envs import DigitEnv

    gymnasium.register("rlvrtest/NoTasks-v0", entry_point=DigitEnv)
    with pytest.raises(ConfigError, match="exposes no task list"):
        evaluate(config(tiny_model_path, "rlvrtest/NoTasks-v0", env_modules=()))

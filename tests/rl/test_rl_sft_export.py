"""``rlvr export sft``: best-of-n passing completions with lineage, the quarantine gate, and the
manifest."""

from __future__ import annotations

import json

import pytest

import envs
from envs.quarantine import IsolationList
from rl.cli import main as rlvr
from rl.rollout_records import read_records
from rl.sft_export import FILTERS, SFTExportConfig, export_sft

SAMPLING = {"n": 4, "temperature": 0.7, "top_p": 1.0, "max_tokens": 64}


@pytest.fixture(autouse=True)
def empty_default_list(tmp_path, monkeypatch):
    """The default isolation list is an empty folder unless a test names one."""
    monkeypatch.setenv("RLVR_QUARANTINE_DIR", str(tmp_path / "default-list"))


def _verdict(status, spec="math@2", tch="sha256:t1"):
    name, version = spec.split("@")
    return {
        "status": status,
        "score": float(status == "pass"),
        "verifier": name,
        "verifier_version": int(version),
        "test_case_hash": tch,
    }


def _comp(text, status, reward=None, graded=True, turns=1, tokens=None):
    reward = (1.0 if status == "pass" else 0.0) if reward is None and graded else reward
    return {
        "text": text,
        "reward": reward if graded else None,
        "graded": graded,
        "token_ids": list(range(tokens or len(text))),
        "verdicts": [_verdict(status)] * turns if graded else [_verdict("error")],
    }


def _record(task_id, prompt, answer, comps, step=0, group=0):
    return {
        "step": step,
        "group": group,
        "seed": 11,
        "prompt": prompt,
        "task_id": task_id,
        "task_index": 0,
        "reference": {"answer": answer},
        "messages": [{"role": "user", "content": prompt}],
        "model": "tiny-7m",
        "completions": comps,
        "rewards": [c.get("reward") if isinstance(c, dict) else None for c in comps],
        "sampling": SAMPLING,
        "verifiers": ["math@2"],
    }


RECORDS = [
    _record(
        "q1",
        "What is 2 + 3?",
        "5",
        [
            _comp("2 + 3 = 5, so \\boxed{5}", "pass", tokens=9),
            _comp("It is \\boxed{5}", "pass", tokens=5),  # best: same reward, shorter
            _comp(
                "it is   \\boxed{5}", "pass", tokens=6
            ),  # a normalised duplicate of the one above
            _comp("\\boxed{6}", "fail"),
        ],
    ),
    _record(
        "q2",
        "What is 4 * 4?",
        "16",
        [
            _comp(
                "\\boxed{16}", "pass", graded=False
            ),  # ungraded: never taken, even if it looks right
            _comp("\\boxed{15}", "fail"),
            _comp("   ", "pass"),  # empty text
            _comp("Call the tool, then \\boxed{16}", "pass", turns=2),  # multi-turn
        ],
        step=1,
        group=0,
    ),
]


def _write(path, rows):
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def test_best_of_n_keeps_one_passing_completion_per_prompt_with_its_lineage(tmp_path):
    result = export_sft([_write(tmp_path / "rollouts.jsonl", RECORDS)], tmp_path / "sft.jsonl")
    rows = [json.loads(line) for line in (tmp_path / "sft.jsonl").read_text().splitlines()]
    assert len(rows) == 1
    assert rows[0]["messages"] == [
        {"role": "user", "content": "What is 2 + 3?"},
        {"role": "assistant", "content": "It is \\boxed{5}"},
    ]
    lineage = rows[0]["lineage"]
    assert lineage == {
        "run": tmp_path.name,
        "source": str(tmp_path / "rollouts.jsonl"),
        "step": 0,
        "group": 0,
        "sample": 1,
        "prompt_id": "q1",
        "seed": 11,
        "verifier": "math@2",
        "test_case_hash": "sha256:t1",
        "reward": 1.0,
        "model": "tiny-7m",
        "env": None,
        "sampling": SAMPLING,
    }
    m = result.manifest
    assert m["generated"] == 8 and m["retained"] == 1 and m["effective_sample_rate"] == 0.125
    assert m["removed"] == {
        "malformed": 0,
        "ungraded": 1,
        "not_passing": 2,
        "multi_turn": 1,
        "empty": 1,
        "duplicate": 1,
        "quarantined": 0,
        "over_cap": 1,
    }
    assert m["generated"] == m["retained"] + sum(m["removed"].values())
    assert list(m["removed"]) == list(FILTERS) and "no isolation list" in m["quarantine"]["note"]
    assert json.loads((tmp_path / "sft.jsonl.manifest.json").read_text()) == m


def test_a_cap_above_one_keeps_the_best_in_order_and_the_manifest_still_adds_up(tmp_path):
    result = export_sft(
        [_write(tmp_path / "r.jsonl", RECORDS)],
        tmp_path / "sft.jsonl",
        SFTExportConfig(max_per_prompt=4, dedup="exact"),
    )
    texts = [r["messages"][-1]["content"] for r in result.rows]
    assert texts == ["2 + 3 = 5, so \\boxed{5}", "It is \\boxed{5}", "it is   \\boxed{5}"]
    m = result.manifest
    assert m["removed"]["duplicate"] == 0 and m["removed"]["over_cap"] == 0
    assert m["generated"] == m["retained"] + sum(m["removed"].values())


def test_min_reward_selects_by_reward_instead_of_the_verdict(tmp_path):
    records = [
        _record("q", "p?", "1", [_comp("a", "fail", reward=0.6), _comp("b", "pass", reward=0.4)])
    ]
    result = export_sft(
        [_write(tmp_path / "r.jsonl", records)],
        tmp_path / "o.jsonl",
        SFTExportConfig(min_reward=0.5),
    )
    assert [r["messages"][-1]["content"] for r in result.rows] == ["a"]


def test_the_quarantine_gate_removes_prompts_and_solutions_that_match_isolated_items(tmp_path):
    iso = IsolationList(tmp_path / "iso")
    iso.add(
        [
            {"id": "ev-1", "prompt": "what is 2+3 ?", "reference": {"answer": "5"}},
            {
                "id": "ev-2",
                "prompt": "Name the largest planet of the solar system, one word.",
                "reference": {"answer": "jupiter"},
                "solution": "The largest planet in our solar system is Jupiter, a gas giant. "
                "\\boxed{Jupiter}",
            },
        ],
        name="held_out",
    )
    records = RECORDS + [
        _record(
            "q3",
            "Which planet is the biggest? Answer in one word.",
            "Jupiter",
            [
                _comp(
                    "The largest planet in our solar system is Jupiter, a gas giant. "
                    "\\boxed{Jupiter}",
                    "pass",
                ),
                _comp("Jupiter, \\boxed{Jupiter}", "pass", tokens=40),
            ],
        )
    ]
    result = export_sft(
        [_write(tmp_path / "r.jsonl", records)],
        tmp_path / "sft.parquet",
        SFTExportConfig(max_per_prompt=2),
        quarantine=iso.folder,
    )
    assert [r["lineage"]["prompt_id"] for r in result.rows] == ["q3"]
    assert [r["messages"][-1]["content"] for r in result.rows] == ["Jupiter, \\boxed{Jupiter}"]
    m = result.manifest
    # q1's two survivors (prompt side) + q3's copied solution (answer side)
    assert m["removed"]["quarantined"] == 3
    sides = {(h["isolated_id"], h["side"]) for h in m["quarantine"]["hits"]}
    assert sides == {("ev-1", "prompt"), ("ev-2", "answer")}
    assert m["quarantine"]["sets"][0]["name"] == "held_out"
    assert m["generated"] == m["retained"] + sum(m["removed"].values())
    import datasets

    loaded = datasets.load_dataset(
        "parquet", data_files=str(tmp_path / "sft.parquet"), split="train"
    )
    assert (
        loaded[0]["messages"][-1]["role"] == "assistant"
        and loaded[0]["lineage"]["verifier"] == "math@2"
    )


def test_the_rows_are_a_conversational_dataset_for_trl(tmp_path):
    import datasets
    from trl.data_utils import is_conversational

    export_sft([_write(tmp_path / "r.jsonl", RECORDS)], tmp_path / "m.jsonl")
    export_sft(
        [_write(tmp_path / "r.jsonl", RECORDS)],
        tmp_path / "pc.jsonl",
        SFTExportConfig(format="prompt-completion"),
    )
    for name in ("m.jsonl", "pc.jsonl"):
        ds = datasets.load_dataset("json", data_files=str(tmp_path / name), split="train")
        assert is_conversational(ds[0]), name
    assert set(json.loads((tmp_path / "pc.jsonl").read_text())) == {
        "prompt",
        "completion",
        "lineage",
    }


def test_rlvr_eval_output_exports_too(tmp_path):
    line = {
        "task_id": "h-3",
        "task_index": 3,
        "sample": 0,
        "completion": "\\boxed{9}",
        "finish_reason": "stop",
        "completion_tokens": 4,
        "passed": True,
        "graded": True,
        "reward": 1.0,
        "verdict": _verdict("pass"),
        "reference": {"answer": "9"},
        "messages": [{"role": "user", "content": "4 + 5?"}],
        "model": "m",
        "engine": "hf",
        "env": "rlvr/ArithHeldout-v0",
        "env_kwargs": {},
        "seed": 3,
        "sampling": SAMPLING,
    }
    result = export_sft(
        [
            _write(
                tmp_path / "eval.jsonl",
                [
                    line,
                    {
                        **line,
                        "sample": 1,
                        "passed": False,
                        "verdict": _verdict("fail"),
                        "reward": 0.0,
                    },
                ],
            )
        ],
        tmp_path / "o.jsonl",
    )
    assert len(result.rows) == 1 and result.rows[0]["lineage"]["env"] == "rlvr/ArithHeldout-v0"
    assert (
        result.rows[0]["lineage"]["step"] is None and result.manifest["inputs"][0]["kind"] == "eval"
    )


def test_unreadable_lines_and_completions_are_counted_not_lost(tmp_path, capsys):
    good = _record("q9", "What is 9 - 1?", "8", [_comp("\\boxed{8}", "pass"), "not an object"])
    path = tmp_path / "r.jsonl"
    path.write_text(json.dumps(good) + "\n{broken\n")
    assert rlvr(["export", "sft", str(path), "-o", str(tmp_path / "o.parquet")]) == 0
    manifest = json.loads((tmp_path / "o.parquet.manifest.json").read_text())
    assert (
        manifest["generated"] == 3
        and manifest["retained"] == 1
        and manifest["removed"]["malformed"] == 2
    )
    assert "r.jsonl:2: not a JSON line" in capsys.readouterr().err


def test_an_explicit_list_must_hold_sets_and_runs_group_prompts_by_their_text(tmp_path):
    with pytest.raises(Exception, match="holds no sets"):
        export_sft(
            [_write(tmp_path / "r.jsonl", RECORDS)],
            tmp_path / "o.jsonl",
            quarantine=tmp_path / "empty",
        )
    run_a = [_record("0", "Capital of France?", "Paris", [_comp("\\boxed{Paris}", "pass")])]
    run_b = [_record("0", "Capital of Italy?", "Rome", [_comp("\\boxed{Rome}", "pass")])]
    (tmp_path / "a").mkdir(), (tmp_path / "b").mkdir()
    _write(tmp_path / "b" / "rollouts.jsonl", run_b)
    result = export_sft(
        [_write(tmp_path / "a" / "rollouts.jsonl", run_a), tmp_path / "b"], tmp_path / "o.jsonl"
    )
    # same task id, different prompts: both kept
    assert [r["lineage"]["run"] for r in result.rows] == ["a", "b"]
    assert result.manifest["prompts"] == 2


def test_bad_inputs_are_refused_with_the_reason(tmp_path, capsys):
    (tmp_path / "x.jsonl").write_text('{"foo": 1}\n')
    assert rlvr(["export", "sft", str(tmp_path / "x.jsonl"), "-o", str(tmp_path / "o.jsonl")]) == 2
    assert "neither rollout records" in capsys.readouterr().err
    assert rlvr(["export", "sft", str(tmp_path / "missing"), "-o", str(tmp_path / "o.jsonl")]) == 2
    assert rlvr(["export", "sft", str(tmp_path / "x.jsonl"), "-o", str(tmp_path / "o.csv")]) == 2
    assert "name a .jsonl or .parquet file" in capsys.readouterr().err


# -- through a real (tiny) training run ------------------------------------------------------------
TASKS = [
    {"id": "clean", "prompt": "1=", "reference": {"answer": "7"}},
    {"id": "leaked", "prompt": "2=", "reference": {"answer": "7"}},
]


@pytest.fixture
def gated_env(tmp_path):
    envs.register_env("rlvrtest/SftDigit-v0", verifier="math@1", tasks=TASKS, replace=True)
    iso = IsolationList(tmp_path / "iso")
    iso.add([{"id": "eval-2", "prompt": "2=", "reference": {"answer": "7"}}], name="digits_eval")
    return "rlvrtest/SftDigit-v0", str(iso.folder)


def _train(model, out, env_id, *flags):
    return rlvr(
        [
            "train",
            "--env",
            env_id,
            "--model",
            model,
            "--steps",
            "2",
            "--group-size",
            "4",
            "--prompts-per-step",
            "2",
            "--max-new-tokens",
            "2",
            "--lr",
            "1e-3",
            "--output-dir",
            str(out),
            "--progress",
            "false",
            "--tensorboard",
            "false",
            "--grading-workers",
            "1",
            *flags,
        ]
    )


@pytest.mark.slow
def test_train_refuses_or_drops_tasks_in_the_isolation_list_and_exports_sft(
    tiny_model_path, tmp_path, gated_env, capsys
):
    env_id, folder = gated_env
    assert _train(tiny_model_path, tmp_path / "refused", env_id, "--quarantine", folder) == 2
    err = capsys.readouterr().err
    assert (
        "leaked ~ digits_eval:eval-2 [prompt, exact, 1.0]" in err
        and "--on-contamination drop" in err
    )
    out = tmp_path / "run"
    assert (
        _train(tiny_model_path, out, env_id, "--quarantine", folder, "--on-contamination", "drop")
        == 0
    )
    report = json.loads((out / "quarantine_report.json").read_text())
    assert (
        report["hit_tasks"] == 1
        and report["hits"][0]["task_id"] == "leaked"
        and report["kept"] == 1
    )
    records = read_records(out / "rollouts.jsonl")
    assert {r["task_id"] for r in records} == {"clean"}
    assert (
        records[0]["reference"] == {"answer": "7"} and records[0]["messages"][-1]["content"] == "1="
    )
    assert records[0]["model"] == tiny_model_path
    code = rlvr(
        [
            "export",
            "sft",
            str(out / "rollouts.jsonl"),
            "-o",
            str(tmp_path / "sft.jsonl"),
            "--quarantine",
            folder,
            "--max-per-prompt",
            "3",
        ]
    )
    assert code == 0
    manifest = json.loads((tmp_path / "sft.jsonl.manifest.json").read_text())
    assert manifest["generated"] == 16 and manifest["generated"] == manifest["retained"] + sum(
        manifest["removed"].values()
    )
    for line in (tmp_path / "sft.jsonl").read_text().splitlines():
        row = json.loads(line)
        assert row["lineage"]["prompt_id"] == "clean" and row["lineage"]["verifier"] == "math@1"
        assert row["lineage"]["model"] == tiny_model_path and row["messages"][0] == {
            "role": "user",
            "content": "1=",
        }

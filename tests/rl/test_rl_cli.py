"""``rlvr train`` from flags and from a config file, through the real CLI root."""

from __future__ import annotations

import pytest

import envs
from rl.checkpoint import latest_checkpoint, read_state
from rl.cli import main
from rl.metrics import read_metrics

TASKS = [{"id": "a", "prompt": "1=", "reference": {"answer": "7"}}]


@pytest.fixture
def digit_env():
    envs.register_env("rlvrtest/CliDigit-v0", verifier="math@1", tasks=TASKS, replace=True)
    return "rlvrtest/CliDigit-v0"


def test_train_from_flags(tiny_model_path, tmp_path, digit_env, capsys):
    code = main(
        [
            "train",
            "--env",
            digit_env,
            "--model",
            tiny_model_path,
            "--loss",
            "dr_grpo",
            "--steps",
            "2",
            "--group-size",
            "4",
            "--prompts-per-step",
            "1",
            "--max-new-tokens",
            "1",
            "--lr",
            "1e-3",
            "--output-dir",
            str(tmp_path),
            "--progress",
            "false",
            "--tensorboard",
            "false",
            "--grading-workers",
            "1",
        ]
    )
    assert code == 0
    assert "done: 2 steps" in capsys.readouterr().out
    assert len(read_metrics(tmp_path / "metrics.jsonl")) == 2
    state = read_state(latest_checkpoint(tmp_path))
    assert state["config"]["loss"] == "dr_grpo" and state["verifiers"] == ["math@1"]


def test_train_from_config_file_with_override_and_resume(tiny_model_path, tmp_path, digit_env):
    cfg = tmp_path / "run.toml"
    cfg.write_text(
        f'env = "{digit_env}"\nmodel = "{tiny_model_path}"\nsteps = 1\ngroup_size = 2\n'
        'prompts_per_step = 1\n'
        f'max_new_tokens = 1\noutput_dir = "{tmp_path / "out"}"\nprogress = false\n'
        'tensorboard = false\n'
    )
    assert main(["train", "--config", str(cfg), "--loss", "gspo"]) == 0
    with pytest.warns(UserWarning, match=r"resuming .* with changed settings \['loss'\]"):
        assert main(["train", "--config", str(cfg), "--steps", "2", "--resume"]) == 0
    rows = read_metrics(tmp_path / "out" / "metrics.jsonl")
    assert [r["step"] for r in rows] == [0, 1]
    with pytest.warns(UserWarning, match=r"changed settings \['loss'\]"):
        assert (
            main(["train", "--config", str(cfg), "--steps", "2", "--resume", "--loss", "gspo"]) == 0
        )
    # already at step 2: nothing trained
    assert len(read_metrics(tmp_path / "out" / "metrics.jsonl")) == 2
    assert read_state(latest_checkpoint(tmp_path / "out"))["config"]["loss"] == "grpo"


def test_bad_flag_value_exits_2_with_the_fix(tiny_model_path, tmp_path, capsys):
    assert (
        main(
            [
                "train",
                "--model",
                tiny_model_path,
                "--group-size",
                "1",
                "--output-dir",
                str(tmp_path),
            ]
        )
        == 2
    )
    assert "set group_size >= 2" in capsys.readouterr().err


@pytest.mark.parametrize(
    "flags, message",
    [
        (
            ["--env", "nope/Nope-v0"],
            r"environment 'nope/Nope-v0' is not registered .* rlvr's ids are \['rlvr/Arith-v0'",
        ),
        (["--env", "rlvr/Math-v9"], r"environment 'rlvr/Math-v9' is not registered"),
        (
            ["--env-modules", "no_such_module"],
            r"env_modules names 'no_such_module', which cannot be imported",
        ),
        (
            ["--env-kwargs", '{"bogus": 1}'],
            r"cannot be made with env_kwargs \['bogus'\].*fix env_kwargs",
        ),
        (["--group-size", "abc"], r"group_size takes an integer, got 'abc'"),
    ],
)
def test_bad_environment_settings_exit_2_with_the_fix(
    tiny_model_path, tmp_path, capsys, flags, message
):
    import re

    code = main(
        [
            "train",
            "--model",
            tiny_model_path,
            "--steps",
            "1",
            "--output-dir",
            str(tmp_path),
            "--progress",
            "false",
            "--tensorboard",
            "false",
            "--grading-workers",
            "1",
            *flags,
        ]
    )
    err = capsys.readouterr().err
    assert code == 2 and re.search(message, err), err
    assert "Traceback" not in err


def test_rlvr_train_on_the_builtin_math_env(tmp_path, capsys):
    """The command of the issue, on the real rlvr/Math-v0 (a random tiny model: rewards ~0, pipeline
    checked)."""
    from rl.tiny import make_tiny_model

    model = make_tiny_model(tmp_path / "model", hidden_size=32, num_layers=2)
    code = main(
        [
            "train",
            "--env",
            "rlvr/Math-v0",
            "--model",
            model,
            "--loss",
            "grpo",
            "--steps",
            "1",
            "--group-size",
            "2",
            "--prompts-per-step",
            "2",
            "--max-new-tokens",
            "4",
            "--output-dir",
            str(tmp_path / "run"),
            "--progress",
            "false",
            "--tensorboard",
            "false",
            "--record-format",
            "parquet",
        ]
    )
    assert code == 0, capsys.readouterr().err
    row = read_metrics(tmp_path / "run" / "metrics.jsonl")[0]
    assert sum(v for k, v in row.items() if k.startswith("status/")) == 4
    assert "reward_mean/math@1" in row


def _children(pid: int) -> set[int]:
    import os

    kids = set()
    for d in os.listdir("/proc"):
        try:
            if (
                d.isdigit()
                and int(open(f"/proc/{d}/stat").read().rsplit(")", 1)[1].split()[1]) == pid
            ):
                kids.add(int(d))
        except OSError:
            continue
    return kids


def _alive(pid: int) -> bool:
    """Whether process ``pid`` still runs (a zombie, awaiting its parent, does not)."""
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def test_ctrl_c_exits_130_keeps_finished_steps_and_stops_the_grading_workers(tmp_path, wait_until):
    import signal
    import subprocess
    import sys

    from rl.tiny import make_tiny_model

    model = make_tiny_model(tmp_path / "model", hidden_size=32, num_layers=2)
    out = tmp_path / "run"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "rl.cli",
            "train",
            "--env",
            "rlvr/Math-v0",
            "--model",
            model,
            "--steps",
            "100000",
            "--group-size",
            "2",
            "--prompts-per-step",
            "1",
            "--max-new-tokens",
            "2",
            "--grading-workers",
            "1",
            "--output-dir",
            str(out),
            "--progress",
            "false",
            "--tensorboard",
            "false",
        ],
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        metrics = out / "metrics.jsonl"
        finished = wait_until(
            lambda: proc.poll() is not None or (metrics.exists() and metrics.read_text()),
            timeout_s=120,
            interval_s=0.1,
        )
        assert finished and proc.poll() is None, (
            f"no step finished in 120 s: {proc.stderr.read()[-2000:]}"
        )
        workers = _children(proc.pid)
        assert workers, "the run should have a grading worker"
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert proc.returncode == 130, err
    assert "interrupted" in err and "--resume" in err and "Traceback" not in err
    assert read_metrics(out / "metrics.jsonl")  # finished steps are kept
    assert wait_until(lambda: not [w for w in workers if _alive(w)], timeout_s=30), (
        "a grading worker outlived the run"
    )


def test_rlvr_version_names_the_installed_distribution(capsys):
    from importlib import metadata

    with pytest.raises(SystemExit) as done:
        main(["--version"])
    assert done.value.code == 0
    assert capsys.readouterr().out.strip() == f"rlvr {metadata.version('rlvr')}"

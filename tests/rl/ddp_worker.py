"""One rank of the 2-rank tests in ``test_rl_distributed.py`` (started there with ``torchrun``; CPU,
gloo).

``grads MODEL OUT``: one trainer step per case (every loss; hybrid SFT); each rank saves its own
groups and the summed gradients the optimiser saw, so the test can replay the union of the groups in
one process and compare. ``train MODEL OUT RUN STEPS [--resume]``: one ``rlvr train`` run in
``OUT/RUN`` (one per process, as a user starts them); each rank saves a hash of its final weights
and how many checkpoints it wrote.
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path

import gymnasium
import torch

ENV_ID = "rlvrtest/Parity-v0"
CASES = {
    "grpo": {"beta": 0.05},
    "dapo": {"max_grad_norm": 1e-3},
    "dr_grpo": {},
    "gspo": {},
    "p3o": {"micro_batch_size": 4},
    "sft": {"sft_gate": 0.5},
}
"""Settings of each gradient case; ``sft`` (hybrid SFT on groups the policy cannot solve) trains
with GRPO. Only ``dapo`` clips (below the gradient's norm: clipping after the sum is tested);
clipping elsewhere would hide a gradient of the wrong scale."""


def grads_config(model: str, out: Path, case: str):
    from rl.config import LOSS_NAMES, GRPOConfig

    base = dict(
        model=model,
        loss=case if case in LOSS_NAMES else "grpo",
        group_size=4,
        prompts_per_step=4,
        micro_batch_size=3,
        max_new_tokens=3,
        steps=1,
        lr=1e-2,
        output_dir=str(out / case),
        progress=False,
        tensorboard=False,
        record_format="none",
        max_grad_norm=None,
    )
    return GRPOConfig(**{**base, **CASES[case]})


def grads_envs(case: str, count: int) -> list:
    """Parity (about half of every group passes) for the RL cases; for ``sft``, a task the tiny
    policy fails, whose reset carries a demonstration."""
    from rl_test_envs import DigitEnv, ParityEnv

    return [
        DigitEnv(gold=("7",), prompts=("1=", "2=")) if case == "sft" else ParityEnv()
        for _ in range(count)
    ]


def capture_step(trainer, groups=None) -> dict:
    """Run one ``train_step``; returns the groups it collected, the gradients at each optimiser
    step, its metrics."""
    seen: dict = {"grads": []}
    collect, step = trainer._collect, trainer.optimizer.step

    def collect_and_keep():
        out = collect() if groups is None else (groups, 0)
        seen["groups"] = out[0]
        return out

    def step_and_keep(*args, **kwargs):
        seen["grads"].append(
            [None if p.grad is None else p.grad.detach().clone() for p in trainer._params]
        )
        return step(*args, **kwargs)

    trainer._collect, trainer.optimizer.step = collect_and_keep, step_and_keep
    seen["metrics"] = trainer.train_step()
    return seen


def weights_hash(model) -> str:
    digest = hashlib.sha256()
    for name, tensor in model.state_dict().items():
        digest.update(name.encode())
        digest.update(tensor.detach().cpu().contiguous().numpy().tobytes())
    return digest.hexdigest()


def run_grads(model: str, out: Path) -> None:
    from rl import distributed as dist
    from rl.trainer import GRPOTrainer

    for case in CASES:
        cfg = grads_config(model, out, case)
        trainer = GRPOTrainer(cfg, envs=grads_envs(case, cfg.batch_episodes))
        seen = capture_step(trainer)
        trainer.close()
        torch.save(seen, out / f"grads-{case}-rank{dist.rank()}.pt")
    dist.shutdown()  # the trainer joined the group; whoever runs trainers from Python leaves it


def run_train(model: str, out: Path, run: str, steps: str, *resume: str) -> None:
    from rl import checkpoint, cli
    from rl import distributed as dist
    from rl import trainer as trainer_module

    saves = {"n": 0}
    save = checkpoint.save_checkpoint

    def counted_save(*args, **kwargs):
        saves["n"] += 1
        return save(*args, **kwargs)

    trainer_module.ckpt.save_checkpoint = counted_save
    train = trainer_module.GRPOTrainer.train

    def train_and_hash(self):
        history = train(self)
        name = Path(self.cfg.output_dir).name
        report = {
            "hash": weights_hash(self.policy),
            "saves": saves["n"],
            "steps": self.step,
            "world": self.world,
            "history": [m["reward_mean"] for m in history],
        }
        (out / f"{name}-{self.cfg.steps}-rank{self.rank}.json").write_text(json.dumps(report))
        return history

    trainer_module.GRPOTrainer.train = train_and_hash
    flags = [
        "--model",
        model,
        "--env",
        ENV_ID,
        "--quarantine",
        "off",
        "--grading-workers",
        "0",
        "--group-size",
        "4",
        "--prompts-per-step",
        "4",
        "--micro-batch-size",
        "4",
        "--max-new-tokens",
        "3",
        "--lr",
        "1e-2",
        "--mu",
        "2",
        "--progress",
        "false",
        "--tensorboard",
        "false",
        "--device",
        "cpu",
        "--checkpoint-every",
        "1",
    ]
    argv = ["train", *flags, "--steps", steps, "--output-dir", str(out / run), *resume]
    code = cli.main(argv)
    assert code == 0, f"rlvr {' '.join(argv)} exited {code}"
    assert not dist.active()  # rlvr train left the process group it joined


if __name__ == "__main__":
    gymnasium.register(ENV_ID, entry_point="rl_test_envs:ParityEnv")
    torch.set_num_threads(1)
    mode, model_path, out_dir, *rest = sys.argv[1:]
    {"grads": run_grads, "train": run_train}[mode](model_path, Path(out_dir), *rest)

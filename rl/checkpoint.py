"""Checkpoints that carry their config and the verifier versions in use, and resume to the same
state.

Layout of ``<output_dir>/checkpoints/step-00000010/``: the policy (``save_pretrained``) and
tokenizer, ``optimizer.pt``, ``rng.pt`` (torch/python/numpy RNG states) and ``state.json``
(``step``, ``config``, ``verifiers`` = the ``name@version`` specs that graded the run).

>>> path = latest_checkpoint("runs/grpo")       # doctest: +SKIP
>>> read_state(path)["verifiers"]              # doctest: +SKIP
['math@1']
"""

from __future__ import annotations

import json
import random
import shutil
from pathlib import Path
from typing import Any, Mapping

from .errors import CheckpointError


def save_checkpoint(
    output_dir: str | Path,
    step: int,
    model: Any,
    tokenizer: Any,
    optimizer: Any,
    config: Mapping[str, Any],
    verifiers: list[str],
    keep: int = 2,
) -> Path:
    """Write the checkpoint for the state *after* ``step`` steps; keep only the newest ``keep``."""
    import numpy as np
    import torch

    root = Path(output_dir) / "checkpoints"
    path = root / f"step-{step:08d}"
    tmp = root / f".tmp-step-{step:08d}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    model.save_pretrained(tmp)
    tokenizer.save_pretrained(tmp)
    torch.save(optimizer.state_dict(), tmp / "optimizer.pt")
    torch.save(
        {
            "torch": torch.get_rng_state(),
            "python": random.getstate(),
            "numpy": np.random.get_state(),
        },
        tmp / "rng.pt",
    )
    state = {"step": step, "config": dict(config), "verifiers": sorted(verifiers)}
    (tmp / "state.json").write_text(json.dumps(state, indent=2, sort_keys=True))
    shutil.rmtree(path, ignore_errors=True)
    tmp.rename(path)
    for old in sorted(root.glob("step-*"))[:-keep] if keep > 0 else []:
        shutil.rmtree(old, ignore_errors=True)
    return path


def latest_checkpoint(output_dir: str | Path) -> Path | None:
    """The newest complete checkpoint under ``output_dir``, or None."""
    found = sorted((Path(output_dir) / "checkpoints").glob("step-*"))
    return found[-1] if found else None


def read_state(path: str | Path) -> dict[str, Any]:
    """``state.json`` of a checkpoint (step, config, verifiers)."""
    file = Path(path) / "state.json"
    if not file.exists():
        raise CheckpointError(
            f"{path} is not a checkpoint (no state.json); pass a step-* directory"
        )
    return json.loads(file.read_text())


def restore(path: str | Path, model: Any, optimizer: Any) -> dict[str, Any]:
    """Load weights, optimizer and RNG states from ``path`` into a live run; returns the state
    dict."""
    import numpy as np
    import torch
    from transformers import AutoModelForCausalLM

    state = read_state(path)
    saved = AutoModelForCausalLM.from_pretrained(
        path, local_files_only=True, dtype=next(model.parameters()).dtype
    )
    model.load_state_dict(saved.state_dict())
    optimizer.load_state_dict(torch.load(Path(path) / "optimizer.pt", weights_only=False))
    rng = torch.load(Path(path) / "rng.pt", weights_only=False)
    torch.set_rng_state(rng["torch"])
    random.setstate(rng["python"])
    np.random.set_state(rng["numpy"])
    return state

"""Training on several ranks (``torchrun``): the few collectives the trainer needs, and a
single-process no-op path.

Under ``torchrun --nproc-per-node N`` every process sees ``RANK``, ``WORLD_SIZE`` and
``LOCAL_RANK``; :func:`init` then joins the process group (``nccl`` when the device is CUDA,
``gloo`` on CPU) and pins CUDA rank ``k`` to GPU ``LOCAL_RANK``. Without those variables (a plain
``python``/``rlvr train``) there is one rank, and every helper here returns its input or does
nothing, so single-process runs are untouched.

The trainer's contract on N ranks: each rank samples and grades its share of the prompts, the batch
is gathered so every rank knows the global counts the loss divides by, each rank backpropagates only
its own episodes, and :func:`all_reduce_grads` sums the gradients: the sum equals the single-process
gradient on the union of the episodes. Only rank 0 (:func:`is_main`) writes logs, records and
checkpoints.

>>> init()                      # doctest: +SKIP
>>> rank(), world_size(), is_main()
(0, 1, True)
>>> all_gather_object([1, 2])
[[1, 2]]
"""

from __future__ import annotations

import os
from typing import Any, Iterable, TypeVar

T = TypeVar("T")

# gradients are summed in flat buckets of about this many elements (64 MiB in fp32)
_BUCKET_ELEMENTS = 1 << 24


def launched() -> bool:
    """Whether this process was started by ``torchrun`` (or another launcher that sets
    ``WORLD_SIZE``) with more than one rank."""
    return int(os.environ.get("WORLD_SIZE", "1")) > 1


def active() -> bool:
    """Whether a process group with more than one rank is up."""
    import torch.distributed as dist

    return dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1


def init(device: str = "auto") -> bool:
    """Join the process group that ``torchrun`` describes; returns True when this call created it.

    A no-op (False) outside ``torchrun`` or when the group is already up (a caller that set it up
    keeps it). ``device`` (``cpu``, ``cuda`` or ``auto``) picks the backend: ``nccl`` for CUDA,
    ``gloo`` for CPU.
    """
    import torch
    import torch.distributed as dist

    if not launched() or (dist.is_available() and dist.is_initialized()):
        return False
    from .errors import ConfigError

    if not dist.is_available():
        raise ConfigError(
            f"WORLD_SIZE={os.environ['WORLD_SIZE']} but this torch build has no torch.distributed; "
            "run a single process, or install a torch with distributed support"
        )
    cuda = device == "cuda" or (device == "auto" and torch.cuda.is_available())
    if cuda:
        torch.cuda.set_device(local_rank())
    dist.init_process_group(backend="nccl" if cuda else "gloo")
    return True


def shutdown(wait: bool = True) -> None:
    """Leave the process group (safe to call without one).

    With ``wait`` the ranks meet at a barrier first: a rank that tore its connections down while a
    peer still received its last message (gloo sends asynchronously) would abort that peer. Pass
    ``wait=False`` on an error path, where the other ranks may never arrive."""
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        if wait:
            dist.barrier()
        dist.destroy_process_group()


def rank() -> int:
    """This process's rank in the group (0 without one)."""
    return _dist().get_rank() if active() else 0


def world_size() -> int:
    """Ranks in the group (1 without one)."""
    return _dist().get_world_size() if active() else 1


def local_rank() -> int:
    """This process's index on its machine (``LOCAL_RANK``; 0 without a launcher): its GPU."""
    return int(os.environ.get("LOCAL_RANK", "0"))


def is_main() -> bool:
    """Whether this is rank 0, the one that logs, records and checkpoints."""
    return rank() == 0


def device_for(device: str) -> str:
    """The device of this rank: ``cuda`` becomes ``cuda:<LOCAL_RANK>`` on several ranks; others
    unchanged."""
    return f"cuda:{local_rank()}" if device == "cuda" and launched() else device


def barrier() -> None:
    """Wait for every rank (no-op on one)."""
    if active():
        _dist().barrier()


def all_reduce_sum(tensor: Any) -> Any:
    """``tensor`` summed over ranks, in place (returned as is on one rank)."""
    if active():
        _dist().all_reduce(tensor, op=_dist().ReduceOp.SUM)
    return tensor


def all_reduce_max(tensor: Any) -> Any:
    """``tensor`` maximised over ranks, in place (returned as is on one rank)."""
    if active():
        _dist().all_reduce(tensor, op=_dist().ReduceOp.MAX)
    return tensor


def broadcast_object(obj: T, src: int = 0) -> T:
    """Rank ``src``'s ``obj`` on every rank (picklable objects; returned as is on one rank)."""
    if not active():
        return obj
    box = [obj]
    _dist().broadcast_object_list(box, src=src)
    return box[0]


def all_gather_object(obj: T) -> list[T]:
    """Every rank's ``obj``, in rank order, on every rank (``[obj]`` on one rank)."""
    if not active():
        return [obj]
    out: list[Any] = [None] * world_size()
    _dist().all_gather_object(out, obj)
    return out


def broadcast_parameters(module: Any, src: int = 0) -> None:
    """Copy rank ``src``'s parameters and buffers into ``module`` on every rank (ranks start
    identical)."""
    if not active():
        return
    for tensor in [*module.parameters(), *module.buffers()]:
        _dist().broadcast(tensor.data, src=src)


def all_reduce_grads(params: Iterable[Any]) -> None:
    """Sum ``.grad`` over ranks, in place, in flat buckets (no-op on one rank).

    A parameter that no rank gave a gradient keeps ``grad = None`` (so the optimiser skips it
    exactly as it would in one process); one that only some ranks touched counts zeros from the
    others.
    """
    if not active():
        return
    import torch

    params = [p for p in params if p.requires_grad]
    present = torch.tensor(
        [p.grad is not None for p in params],
        dtype=torch.float32,
        device=params[0].device if params else "cpu",
    )
    all_reduce_sum(present)
    touched = [p for p, n in zip(params, present.tolist()) if n > 0]
    for p in touched:
        if p.grad is None:
            p.grad = torch.zeros_like(p)
    for bucket in _buckets(touched):
        flat = torch.cat([p.grad.reshape(-1) for p in bucket])
        all_reduce_sum(flat)
        offset = 0
        for p in bucket:
            p.grad.copy_(flat[offset : offset + p.grad.numel()].view_as(p.grad))
            offset += p.grad.numel()


def _buckets(params: list[Any]) -> list[list[Any]]:
    """Consecutive runs of parameters of one device and dtype, each up to ``_BUCKET_ELEMENTS``
    elements."""
    out: list[list[Any]] = []
    size = 0
    for p in params:
        last = out[-1] if out else None
        if (
            last is None
            or size + p.numel() > _BUCKET_ELEMENTS
            or (last[0].device, last[0].dtype) != (p.device, p.dtype)
        ):
            out.append([p])
            size = p.numel()
        else:
            last.append(p)
            size += p.numel()
    return out


def _dist() -> Any:
    import torch.distributed as dist

    return dist


__all__ = [
    "active",
    "all_gather_object",
    "all_reduce_grads",
    "all_reduce_max",
    "all_reduce_sum",
    "barrier",
    "broadcast_object",
    "broadcast_parameters",
    "device_for",
    "init",
    "is_main",
    "launched",
    "local_rank",
    "rank",
    "shutdown",
    "world_size",
]

"""Registering environments: one call names a verifier and a task source.

>>> import envs
>>> envs.register_env("mylab/Echo-v0", verifier="json_schema@1",
...                   tasks=[{"id": "t", "prompt": "JSON please", "reference": {"schema": {}}}])
>>> import gymnasium
>>> gymnasium.make("mylab/Echo-v0").unwrapped.config.verifier
'json_schema@1'
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import gymnasium as gym

from .errors import EnvConfigError
from .grading import pin_verifier
from .tasks import Columns

#: Entry points by environment kind.
ENTRY_POINTS = {
    "single_turn": "envs.core:VerifierEnv",
    "multi_turn_tools": "envs.tool_env:ToolCallEnv",
}


def register_env(
    env_id: str,
    *,
    verifier: str,
    tasks: Any,
    columns: Columns | None = None,
    kind: str = "single_turn",
    replace: bool = False,
    **settings: Any,
) -> None:
    """Register ``env_id`` (``"namespace/Name-vN"``) as a text environment over ``verifier``.

    Args:
        env_id: gymnasium id; a new verifier version or task set deserves a new ``-vN``.
        verifier: exact ``name@version`` (a bare name is refused: the pin is part of the id).
        tasks: any task source :func:`envs.tasks.load_tasks` accepts (``"bundled:math"``, a path,
            a ``datasets.Dataset``, a list of dicts, or an iterator of dicts, which is read into a
            list now); it is loaded when the environment is made.
        columns: column mapping for ``tasks``.
        kind: ``"single_turn"`` or ``"multi_turn_tools"``.
        replace: re-register an existing id (for notebooks and tests).
        **settings: environment settings (``system_prompt``, ``timeout_s``, ``max_turns``, ...).
    """
    if kind not in ENTRY_POINTS:
        raise EnvConfigError(
            f"unknown environment kind {kind!r}; use one of {sorted(ENTRY_POINTS)}"
        )
    spec = pin_verifier(verifier)
    if env_id in gym.registry and not replace:
        raise EnvConfigError(
            f"{env_id} is already registered; bump its version (-vN) or pass replace=True"
        )
    if env_id in gym.registry:
        del gym.registry[env_id]
    # a generator can be read once and not copied: gymnasium.make deep-copies kwargs
    if isinstance(tasks, Iterator):
        tasks = list(tasks)
    kwargs = {"tasks": tasks, "verifier": spec, "columns": columns, **settings}
    gym.register(
        id=env_id, entry_point=ENTRY_POINTS[kind], kwargs=kwargs, disable_env_checker=False
    )


def registered_ids(namespace: str | None = "rlvr") -> list[str]:
    """Ids registered in ``namespace`` (all text environments when ``None``), sorted."""
    ids = []
    for env_id, spec in gym.registry.items():
        if spec.entry_point in ENTRY_POINTS.values() and (
            namespace is None or spec.namespace == namespace
        ):
            ids.append(env_id)
    return sorted(ids)

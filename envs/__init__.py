"""Gymnasium environments over rlvr verifiers.

Importing ``envs`` registers the built-in environments under the ``rlvr`` namespace:

==========================  ============================  ===========================
id                          verifier (pinned)             tasks
==========================  ============================  ===========================
``rlvr/Math-v1``            ``math@2``                    ``bundled:math``
``rlvr/Code-v1``            ``code@2``                    ``bundled:code``
``rlvr/JsonSchema-v1``      ``json_schema@2``             ``bundled:json``
``rlvr/XmlSchema-v0``       ``xml_schema@1``              ``bundled:xml``
``rlvr/ToolCall-v1``        ``tool_call@2`` (multi-turn)  ``bundled:tools``
``rlvr/ToolCallSingle-v1``  ``tool_call@2``               ``bundled:tools``
``rlvr/Arith-v0``           ``math@2``                    ``bundled:arith`` (train split)
``rlvr/ArithHeldout-v0``    ``math@2``                    ``bundled:arith_heldout``
==========================  ============================  ===========================

``rlvr/Arith-v0`` and ``rlvr/ArithHeldout-v0`` are the two splits of one generated arithmetic set
(no problem in common) that a small instruct model can learn from: train on the first, evaluate
on the second (``rlvr eval``).

The ``-v0`` ids stay registered with the versions they pinned (``math@1``, ``code@1``,
``json_schema@1``, ``tool_call@1``), so a run can be repeated exactly; new runs should use the
``-v1`` ids. ``rlvr/ToolCall-v1`` also counts every call tried on a task that expects none
(``expected_calls: []``), failed calls included.

>>> import gymnasium, envs
>>> env = gymnasium.make("rlvr/JsonSchema-v1")
>>> obs, info = env.reset(seed=0)
>>> sorted(obs)
['messages', 'text']
>>> env.close()
"""

from .bundled import BUNDLED, bundled_path, datasets_dir
from .core import EnvConfig, TaskEnv, VerifierEnv, render_text
from .errors import EnvConfigError, EnvError, EnvStateError, TaskSourceError
from .grading import Grader, pin_verifier
from .group import GroupResult, grade_group, make_group, reset_group
from .registration import register_env, registered_ids
from .spaces import ChatMessages, UnicodeText
from .tasks import Columns, Task, TaskList, TaskSource, load_tasks
from .tool_env import ToolCallEnv
from .wrappers import CombinedReward, FormatReward, OverlongPenalty, overlong_penalty

#: Built-in environments: id -> (verifier pin, task source, kind, settings).
BUILTIN_ENVS = {
    "rlvr/Math-v0": ("math@1", "bundled:math", "single_turn", {}),
    "rlvr/Code-v0": ("code@1", "bundled:code", "single_turn", {"timeout_s": 60.0}),
    "rlvr/JsonSchema-v0": ("json_schema@1", "bundled:json", "single_turn", {}),
    "rlvr/XmlSchema-v0": ("xml_schema@1", "bundled:xml", "single_turn", {}),
    "rlvr/ToolCall-v0": (
        "tool_call@1",
        "bundled:tools",
        "multi_turn_tools",
        {"strict_no_call": False},
    ),
    "rlvr/ToolCallSingle-v0": ("tool_call@1", "bundled:tools", "single_turn", {}),
    "rlvr/Math-v1": ("math@2", "bundled:math", "single_turn", {}),
    "rlvr/Code-v1": ("code@2", "bundled:code", "single_turn", {"timeout_s": 60.0}),
    "rlvr/JsonSchema-v1": ("json_schema@2", "bundled:json", "single_turn", {}),
    "rlvr/ToolCall-v1": ("tool_call@2", "bundled:tools", "multi_turn_tools", {}),
    "rlvr/ToolCallSingle-v1": ("tool_call@2", "bundled:tools", "single_turn", {}),
    "rlvr/Arith-v0": ("math@2", "bundled:arith", "single_turn", {}),
    "rlvr/ArithHeldout-v0": ("math@2", "bundled:arith_heldout", "single_turn", {}),
}

for _env_id, (_verifier, _tasks, _kind, _settings) in BUILTIN_ENVS.items():
    register_env(_env_id, verifier=_verifier, tasks=_tasks, kind=_kind, replace=True, **_settings)

__all__ = [
    "BUILTIN_ENVS",
    "BUNDLED",
    "ChatMessages",
    "Columns",
    "CombinedReward",
    "EnvConfig",
    "EnvConfigError",
    "EnvError",
    "EnvStateError",
    "FormatReward",
    "Grader",
    "GroupResult",
    "OverlongPenalty",
    "Task",
    "TaskEnv",
    "TaskList",
    "TaskSource",
    "TaskSourceError",
    "ToolCallEnv",
    "UnicodeText",
    "VerifierEnv",
    "bundled_path",
    "datasets_dir",
    "grade_group",
    "load_tasks",
    "make_group",
    "overlong_penalty",
    "pin_verifier",
    "register_env",
    "registered_ids",
    "render_text",
    "reset_group",
]

"""The record batch grading takes and its executors carry: a response, its reference, a verifier.

:func:`verifiers.grade_batch` takes :class:`GradeItem` s; an executor receives each one wrapped in
a :class:`~verifiers.executor.Job` with its position in the batch.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .base import Verifier

#: What grades an item: a spec such as ``"math@2"`` (resolved in the worker) or a verifier instance.
VerifierRef = str | Verifier


@dataclass(frozen=True)
class GradeItem:
    """One response to grade against one reference with one verifier (spec or instance).

    The types say what a gradable item holds; an item that breaks them (a response that is not
    text, a reference that is not an object, a name no verifier has) gets an ``error`` verdict
    saying so, never an exception that stops the batch.

    >>> GradeItem("4", {"answer": "4"}, "math@2", id="q1").verifier
    'math@2'
    """

    response: str
    """The model output to grade."""
    reference: Mapping[str, Any]
    """The test material, in the verifier's reference format."""
    verifier: VerifierRef
    """A spec such as ``"math@2"`` or a verifier instance (its class must be importable where
    it grades)."""
    id: object = None
    """The caller's name for the item (a JSON value for ``rlvr grade``); never sent to a worker."""

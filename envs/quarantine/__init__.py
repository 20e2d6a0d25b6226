"""Benchmark quarantine: keep evaluation sets out of training data.

Register evaluation sets, held-out splits and private test sets in an :class:`IsolationList`; check
training tasks against it (normalised exact hashes, MinHash/LSH near-duplicates on the prompt and
the answer side, structural checks for math and code); gate environments and training with a
:class:`QuarantineGate` that refuses or drops hit tasks and reports every hit with its matching
item.

>>> import tempfile
>>> iso = IsolationList(tempfile.mkdtemp())
>>> _ = iso.add("bundled:arith_heldout")
>>> iso.check("bundled:arith").clean  # the bundled train split shares no problem with it
True

Command line: ``rlvr quarantine add|list|remove|check``.
"""

from .features import Fingerprint, fingerprint
from .gate import ACTIONS, QuarantineGate, as_gate, gate_tasks
from .isolation import IsolatedSet, IsolationList, default_dir
from .matching import Matcher, Thresholds
from .report import Hit, QuarantineReport

__all__ = [
    "ACTIONS",
    "Fingerprint",
    "Hit",
    "IsolatedSet",
    "IsolationList",
    "Matcher",
    "QuarantineGate",
    "QuarantineReport",
    "Thresholds",
    "as_gate",
    "default_dir",
    "fingerprint",
    "gate_tasks",
]

"""What a quarantine check found: one :class:`Hit` per (training task, isolated task) pair that
matched.

>>> why = "same answer '8' and numbers ['3', '5']"
>>> hit = Hit("t7", "gsm8k_test", "q12", "answer", "structural", 1.0, why)
>>> str(hit)
"t7 ~ gsm8k_test:q12 [answer, structural, 1.0] same answer '8' and numbers ['3', '5']"
>>> report = QuarantineReport(source="train.jsonl", checked=10, hits=(hit,), action="drop")
>>> report.hit_ids, report.kept
(('t7',), 9)
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Mapping


@dataclass(frozen=True)
class Hit:
    """A training task that matches an isolated (evaluation) task, and how it matched."""

    task_id: str
    """Id of the training task."""
    isolated_set: str
    """Name of the isolation-list set holding the matching item."""
    isolated_id: str
    """Id of the matching isolated item."""
    side: str
    """``prompt`` or ``answer`` (reference answer, solution or test cases)."""
    method: str
    """``exact``, ``minhash`` or ``structural``."""
    similarity: float
    """Jaccard similarity that matched (1.0 for exact matches)."""
    detail: str = ""
    """What a structural match shared."""

    def __str__(self) -> str:
        tail = f" {self.detail}" if self.detail else ""
        return (
            f"{self.task_id} ~ {self.isolated_set}:{self.isolated_id} "
            f"[{self.side}, {self.method}, {self.similarity}]{tail}"
        )


@dataclass(frozen=True)
class QuarantineReport:
    """The outcome of checking one training source against an isolation list."""

    source: str
    """Name of the training source that was checked."""
    checked: int
    """Training tasks checked."""
    hits: tuple[Hit, ...] = ()
    """Every hit, grouped by training task in source order."""
    action: str = "report"
    """What the gate did with hit tasks: ``report`` (nothing), ``drop`` or ``refuse``."""
    isolation: Mapping[str, Any] = field(default_factory=dict)
    """The isolation list checked against: folder, sets with their counts and sha256, thresholds."""
    same_as: str = ""
    """Name of the isolated set whose content equals the whole training source ("" when none
    does)."""

    @property
    def hit_ids(self) -> tuple[str, ...]:
        """Ids of the training tasks with at least one hit, in source order."""
        return tuple(dict.fromkeys(h.task_id for h in self.hits))

    @property
    def kept(self) -> int:
        """Tasks left once hit tasks are removed."""
        return self.checked - len(self.hit_ids)

    @property
    def clean(self) -> bool:
        return not self.hits

    def by_side(self) -> dict[str, int]:
        """Training tasks hit, counted by the side that matched (a task can count under both)."""
        counts: dict[str, set[str]] = {"prompt": set(), "answer": set()}
        for hit in self.hits:
            counts.setdefault(hit.side, set()).add(hit.task_id)
        return {side: len(ids) for side, ids in counts.items()}

    def summary(self, limit: int = 10) -> str:
        """A few lines for a terminal or an error message: counts, then up to ``limit`` hits."""
        sides = ", ".join(f"{n} on the {side} side" for side, n in self.by_side().items())
        head = (
            f"{self.source}: {len(self.hit_ids)} of {self.checked} tasks match the isolation list"
            + (f" ({sides})" if self.hits else "")
        )
        lines = [head] + [f"  {hit}" for hit in self.hits[:limit]]
        if len(self.hits) > limit:
            lines.append(f"  ... and {len(self.hits) - limit} more hits")
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "checked": self.checked,
            "same_as": self.same_as or None,
            "hit_tasks": len(self.hit_ids),
            "kept": self.kept,
            "action": self.action,
            "by_side": self.by_side(),
            "isolation": dict(self.isolation),
            "hits": [asdict(h) for h in self.hits],
        }

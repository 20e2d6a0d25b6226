"""Rejection-sampling SFT data from recorded rollouts: best-of-n passing completions, with lineage.

Reads the trainer's rollout records (``rollouts.jsonl`` or a ``rollouts/`` Parquet folder) or
``rlvr eval`` output, keeps the passing completions of each prompt (best first: highest reward, then
shortest, then earliest; identical texts once; at most ``max_per_prompt``), passes them through the
quarantine gate (prompt *and* completion are checked against the isolation list: a completion that
reproduces an evaluation solution is caught too), and writes chat-format rows TRL and ``datasets``
read::

    {"messages": [{"role": "user", "content": ...}, {"role": "assistant", "content": ...}],
     "lineage": {"run", "step", "prompt_id", "verifier", "test_case_hash", "sampling", "model",
                 ...}}

A manifest beside the output counts what was generated, what each filter removed and what was kept
(``generated == retained + sum(removed)``).

>>> cfg = SFTExportConfig(max_per_prompt=2)
>>> cfg.max_per_prompt, cfg.dedup
(2, 'normalised')
"""

from __future__ import annotations

import hashlib
import json
import re
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Sequence

from verifiers.hashing import json_line

from .errors import ConfigError, require
from .sft_sources import Candidate, candidates_from_rows, read_source

#: The filters in the order they run; the manifest counts what each removed.
FILTERS = (
    "malformed",
    "ungraded",
    "not_passing",
    "multi_turn",
    "empty",
    "duplicate",
    "quarantined",
    "over_cap",
)
FORMATS = ("messages", "prompt-completion")


@dataclass(frozen=True)
class SFTExportConfig:
    """How completions are chosen and written."""

    max_per_prompt: int = 1
    """Completions kept per prompt (1 = best-of-n)."""
    min_reward: float | None = None
    """``None``: keep completions whose final verdict passed; a number: keep graded ones with
    reward >= it."""
    dedup: str = "normalised"
    """``normalised`` (whitespace and case folded) or ``exact``: equal completions of a prompt are
    kept once."""
    format: str = "messages"
    """``messages`` (one conversation per row) or ``prompt-completion`` (TRL's conversational
    prompt/completion)."""
    run: str | None = None
    """Run name for the lineage (default: the name of the folder holding the input)."""

    def __post_init__(self) -> None:
        if (
            isinstance(self.max_per_prompt, bool)
            or not isinstance(self.max_per_prompt, int)
            or self.max_per_prompt < 1
        ):
            raise ConfigError(f"max_per_prompt={self.max_per_prompt!r} must be an int >= 1")
        if self.dedup not in ("normalised", "exact"):
            raise ConfigError(f"dedup={self.dedup!r}: choose 'normalised' or 'exact'")
        if self.format not in FORMATS:
            raise ConfigError(f"format={self.format!r}: choose one of {FORMATS}")


@dataclass
class ExportResult:
    """What :func:`export_sft` wrote and the manifest it saved beside it."""

    rows: list[dict[str, Any]]
    manifest: dict[str, Any]
    quarantine_report: Any = None
    removed: dict[str, int] = field(default_factory=dict)


def export_sft(
    inputs: Sequence[str | Path],
    output: str | Path,
    config: SFTExportConfig | None = None,
    *,
    quarantine: Any = "auto",
) -> ExportResult:
    """Export SFT rows from ``inputs`` to ``output`` (``.jsonl`` or ``.parquet``) and
    ``<output>.manifest.json``.

    ``quarantine``: an isolation-list folder, an :class:`envs.quarantine.IsolationList`, or
    ``"auto"`` (the default folder); it is always applied (an empty list is recorded as such in the
    manifest).
    """
    config = config or SFTExportConfig()
    output = Path(output)
    if output.suffix not in (".jsonl", ".parquet"):
        raise ConfigError(f"output {output}: name a .jsonl or .parquet file")
    candidates, sources = _read_inputs(inputs, config)
    kept, removed, report, isolation = select(candidates, config, quarantine)
    rows = [_row(c, config) for c in kept]
    _write_rows(rows, output)
    manifest = _manifest(candidates, kept, removed, sources, config, output, report, isolation)
    Path(f"{output}.manifest.json").write_text(
        json.dumps(manifest, indent=2, ensure_ascii=False) + "\n"
    )
    return ExportResult(rows, manifest, report, removed)


# -- selection -------------------------------------------------------------------------------------
def select(candidates: Sequence[Candidate], config: SFTExportConfig, quarantine: Any = "auto"):
    """Run the filters; returns ``(kept, removed counts by filter, quarantine report, isolation
    list)``."""
    removed = {name: 0 for name in FILTERS}
    survivors = []
    for c in candidates:
        reason = _first_failing_filter(c, config)
        if reason:
            removed[reason] += 1
        else:
            survivors.append(c)
    survivors = _dedup(survivors, config, removed)
    survivors, report, isolation = _quarantine(survivors, quarantine, removed)
    kept = _cap(survivors, config, removed)
    return kept, removed, report, isolation


def _first_failing_filter(c: Candidate, config: SFTExportConfig) -> str:
    if c.malformed:
        return "malformed"
    if not c.graded:
        return "ungraded"
    ok = (
        c.passed
        if config.min_reward is None
        else (c.reward is not None and c.reward >= config.min_reward)
    )
    if not ok:
        return "not_passing"
    if c.turns > 1:
        # the completion spans environment turns a single assistant message cannot hold
        return "multi_turn"
    if not c.completion.strip():
        return "empty"
    return ""


def _dedup(
    candidates: list[Candidate], config: SFTExportConfig, removed: dict[str, int]
) -> list[Candidate]:
    seen: set[tuple[str, str]] = set()
    out = []
    for c in candidates:
        text = (
            c.completion if config.dedup == "exact" else " ".join(c.completion.split()).casefold()
        )
        if (c.prompt_key, text) in seen:
            removed["duplicate"] += 1
            continue
        seen.add((c.prompt_key, text))
        out.append(c)
    return out


def _quarantine(candidates: list[Candidate], quarantine: Any, removed: dict[str, int]):
    from envs.quarantine import IsolationList, default_dir
    from envs.tasks import Task, TaskList

    explicit = quarantine not in (None, "auto")
    isolation = (
        quarantine
        if isinstance(quarantine, IsolationList)
        else IsolationList(quarantine if explicit else default_dir())
    )
    if explicit and not isolation.sets():
        raise ConfigError(
            f"the isolation list in {isolation.folder} holds no sets; register evaluation sets "
            f"with `rlvr quarantine add FILE --dir {isolation.folder}` (or leave --quarantine "
            "unset to "
            "use the default list)"
        )
    if not candidates or not isolation.sets():
        return candidates, None, isolation
    tasks = TaskList(
        [
            Task(_sample_id(i, c), c.messages or "", dict(c.reference or {}), c.completion)
            for i, c in enumerate(candidates)
        ],
        name="sft-candidates",
    )
    report = isolation.check(tasks, action="drop")
    hit = {int(task_id.split("|", 1)[0]) for task_id in report.hit_ids}
    removed["quarantined"] += len(hit)
    return [c for i, c in enumerate(candidates) if i not in hit], report, isolation


def _sample_id(i: int, c: Candidate) -> str:
    """``index|run|step|prompt id|sample``: unique, and readable in the quarantine report."""
    lin = c.lineage
    return (
        f"{i}|{lin['run']}|step={lin['step']}|{lin['prompt_id'] or c.prompt_key}"
        f"|sample={lin['sample']}"
    )


def _cap(
    candidates: list[Candidate], config: SFTExportConfig, removed: dict[str, int]
) -> list[Candidate]:
    by_prompt: dict[str, list[Candidate]] = defaultdict(list)
    for c in candidates:
        by_prompt[c.prompt_key].append(c)
    kept = []
    for group in by_prompt.values():
        ranked = sorted(
            group, key=lambda c: (-(c.reward if c.reward is not None else 0.0), c.chars, c.order)
        )
        kept.extend(ranked[: config.max_per_prompt])
        removed["over_cap"] += max(0, len(ranked) - config.max_per_prompt)
    return sorted(kept, key=lambda c: c.order)


# -- reading ---------------------------------------------------------------------------------------
def _read_inputs(inputs: Sequence[str | Path], config: SFTExportConfig):
    if not inputs:
        raise ConfigError(
            "no inputs: give rollout records (rollouts.jsonl or rollouts/) or rlvr eval output"
        )
    candidates: list[Candidate] = []
    sources = []
    for path in map(Path, inputs):
        if not path.exists():
            raise ConfigError(f"{path} does not exist")
        kind, rows = read_source(path)
        if kind == "unknown":
            raise ConfigError(
                f"{path}: neither rollout records (lines with 'completions') nor rlvr eval output "
                "(lines with 'completion')"
            )
        run = config.run or (path.parent.name if path.is_file() else path.name) or str(path)
        found = candidates_from_rows(rows, run, str(path), start=len(candidates))
        candidates.extend(found)
        sources.append(
            {
                "path": str(path),
                "kind": kind,
                "sha256": _sha256(path),
                "rows": len(rows),
                "completions": len(found),
                "malformed": [c.malformed for c in found if c.malformed][:20],
            }
        )
    return candidates, sources


# -- writing ---------------------------------------------------------------------------------------
def _row(c: Candidate, config: SFTExportConfig) -> dict[str, Any]:
    answer = {"role": "assistant", "content": c.completion}
    if config.format == "messages":
        return {"messages": [dict(m) for m in c.messages] + [answer], "lineage": dict(c.lineage)}
    return {
        "prompt": [dict(m) for m in c.messages],
        "completion": [answer],
        "lineage": dict(c.lineage),
    }


def _write_rows(rows: list[dict[str, Any]], output: Path) -> None:
    output.parent.mkdir(parents=True, exist_ok=True)
    tmp = output.with_name(f".{output.name}.partial")
    if output.suffix == ".parquet":
        require("pyarrow", "parquet")
        import pyarrow as pa
        import pyarrow.parquet as pq

        pq.write_table(pa.Table.from_pylist(rows), tmp)
    else:
        with tmp.open("w", encoding="utf-8") as fh:
            for row in rows:
                fh.write(json_line(row))
    tmp.replace(output)


def _manifest(
    candidates, kept, removed, sources, config, output, report, isolation
) -> dict[str, Any]:
    prompts = {c.prompt_key for c in candidates}
    generated = len(candidates)
    return {
        "created_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "output": {
            "path": str(output),
            "format": config.format,
            "rows": len(kept),
            "sha256": _sha256(output),
        },
        "inputs": sources,
        "generated": generated,
        "retained": len(kept),
        "effective_sample_rate": round(len(kept) / generated, 6) if generated else 0.0,
        "removed": removed,
        "prompts": len(prompts),
        "prompts_retained": len({c.prompt_key for c in kept}),
        "settings": {
            "max_per_prompt": config.max_per_prompt,
            "min_reward": config.min_reward,
            "dedup": config.dedup,
            "selection": "passing; highest reward, then shortest, then earliest",
        },
        "quarantine": _quarantine_summary(report, isolation),
    }


def _quarantine_summary(report: Any, isolation: Any) -> dict[str, Any]:
    described = isolation.describe()
    if not described["sets"]:
        described["note"] = (
            f"no isolation list in {described['folder']}: nothing was checked (rlvr quarantine add)"
        )
    if report is not None:
        described["hits"] = [
            {
                "sample": h.task_id,
                "isolated_set": h.isolated_set,
                "isolated_id": h.isolated_id,
                "side": h.side,
                "method": h.method,
                "similarity": h.similarity,
            }
            for h in report.hits
        ]
    return described


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
    for part in files:
        digest.update(re.sub(r"\s", "", part.name).encode())
        digest.update(part.read_bytes())
    return "sha256:" + digest.hexdigest()

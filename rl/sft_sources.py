"""Reading recorded completions for the SFT export: trainer rollout records and ``rlvr eval``
output.

Each completion becomes a :class:`Candidate` with what selection and lineage need. A line that
cannot be read (bad JSON, a completion that is not an object) becomes a ``malformed`` candidate that
the export counts, so N completions in are N accounted for in the manifest.

>>> verdict = {"status": "pass", "verifier": "math", "verifier_version": 2}
>>> completion = {"text": "2", "graded": True, "reward": 1.0, "verdicts": [verdict]}
>>> rows = [{"step": 3, "prompt": "1+1?", "task_id": "t", "completions": [completion]}]
>>> candidates = candidates_from_rows(rows, "run", "r.jsonl")
>>> [(c.completion, c.passed, c.lineage["verifier"]) for c in candidates]
[('2', True, 'math@2')]
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Mapping

from .errors import ConfigError
from .rollout_records import read_records

#: Sampling parameters kept in the lineage, each with the one type it is written as.
LINEAGE_SAMPLING = {"n": "int", "temperature": "float", "top_p": "float", "max_tokens": "int"}


@dataclass(frozen=True)
class Candidate:
    """One recorded completion."""

    prompt_key: str
    """Identifies the prompt: a hash of its messages (or text), so runs and eval files group
    alike."""
    messages: tuple[Mapping[str, Any], ...]
    completion: str
    reward: float | None
    passed: bool
    graded: bool
    turns: int
    """Graded turns (verdicts); more than one is a multi-turn episode."""
    order: int
    """Position among all candidates read (ties in selection go to the earliest)."""
    reference: Mapping[str, Any] | None
    lineage: Mapping[str, Any] = field(default_factory=dict)
    malformed: str = ""
    """Why the input could not be read ("" when it could)."""

    @property
    def chars(self) -> int:
        return len(self.completion)


def read_source(path: Path) -> tuple[str, list[Any]]:
    """``(kind, rows)`` of one input: a records file or folder (a run folder finds its records), or
    eval output.

    A JSONL line that is not JSON is kept as a :class:`BadLine` row, so it is counted, not lost.
    """
    if path.is_dir():
        if (path / "rollouts.jsonl").is_file():
            return read_source(path / "rollouts.jsonl")
        folder = path / "rollouts" if (path / "rollouts").is_dir() else path
        rows = read_records(folder)
        if not rows:
            raise ConfigError(
                f"{path}: no rollout records (rollouts.jsonl or rollouts/step-*.parquet) found"
            )
        return "records", rows
    rows: list[Any] = []
    with path.open(encoding="utf-8", errors="surrogateescape") as fh:
        for n, line in enumerate(fh, 1):
            if line.strip():
                try:
                    rows.append(json.loads(line))
                except ValueError as exc:
                    rows.append(BadLine(n, f"not a JSON line ({exc})"))
    kinds = {_kind(r) for r in rows} - {"bad"}
    return (kinds.pop() if len(kinds) == 1 else "mixed" if kinds else "unknown"), rows


@dataclass(frozen=True)
class BadLine:
    """A line of an input file that could not be parsed."""

    line: int
    why: str


def candidates_from_rows(
    rows: Iterable[Any], run: str, source: str, start: int = 0
) -> list[Candidate]:
    """Every completion of ``rows`` (records and eval lines may be mixed), in order."""
    out: list[Candidate] = []
    for n, row in enumerate(rows, 1):
        kind = _kind(row)
        if kind == "records":
            out += [
                _from_completion(row, k, comp, run, source, start + len(out) + k)
                for k, comp in enumerate(row.get("completions") or ())
            ]
        elif kind == "eval":
            out.append(_from_eval_line(row, run, source, start + len(out)))
        else:
            why = (
                row.why
                if isinstance(row, BadLine)
                else "neither a record (completions) nor an eval line (completion)"
            )
            line = row.line if isinstance(row, BadLine) else n
            out.append(_malformed(f"{source}:{line}: {why}", start + len(out), run, source))
    return out


def _kind(row: Any) -> str:
    if isinstance(row, Mapping) and isinstance(row.get("completions"), list):
        return "records"
    if isinstance(row, Mapping) and "completion" in row:
        return "eval"
    return "bad"


def _from_completion(
    record: Mapping[str, Any], k: int, comp: Any, run: str, source: str, order: int
) -> Candidate:
    if not isinstance(comp, Mapping) or not isinstance(comp.get("text", ""), str):
        return _malformed(
            f"{source}: step {record.get('step')} group {record.get('group')} completion {k} is "
            "not "
            "an object with a text",
            order,
            run,
            source,
        )
    verdicts = comp.get("verdicts") if isinstance(comp.get("verdicts"), list) else []
    last = verdicts[-1] if verdicts else None
    return Candidate(
        prompt_key=_prompt_key(record),
        messages=_messages(record),
        completion=comp.get("text") or "",
        reward=_number(comp.get("reward")),
        passed=_passed(last),
        graded=bool(comp.get("graded", last is not None)),
        turns=len(verdicts),
        order=order,
        reference=_mapping(record.get("reference")),
        lineage=_lineage(run, source, record, record.get("step"), k, last, comp.get("reward")),
    )


def _from_eval_line(line: Mapping[str, Any], run: str, source: str, order: int) -> Candidate:
    verdicts = (
        line.get("verdicts")
        if isinstance(line.get("verdicts"), list)
        else ([line["verdict"]] if isinstance(line.get("verdict"), Mapping) else [])
    )
    last = verdicts[-1] if verdicts else None
    completion = line.get("completion")
    return Candidate(
        prompt_key=_prompt_key(line),
        messages=_messages(line),
        completion=completion if isinstance(completion, str) else "",
        reward=_number(line.get("reward")),
        passed=_passed(last),
        graded=bool(line.get("graded", last is not None)),
        turns=len(verdicts),
        order=order,
        reference=_mapping(line.get("reference")),
        lineage=_lineage(run, source, line, None, line.get("sample"), last, line.get("reward")),
        malformed=""
        if isinstance(completion, str)
        else f"{source}: line {order}: completion is not text",
    )


def _malformed(why: str, order: int, run: str, source: str) -> Candidate:
    return Candidate(
        prompt_key=f"malformed:{order}",
        messages=(),
        completion="",
        reward=None,
        passed=False,
        graded=False,
        turns=0,
        order=order,
        reference=None,
        lineage=_lineage(run, source, {}, None, None, None, None),
        malformed=why,
    )


def _messages(row: Mapping[str, Any]) -> tuple[Mapping[str, Any], ...]:
    messages = row.get("messages")
    if isinstance(messages, list) and messages and all(isinstance(m, Mapping) for m in messages):
        return tuple(
            {"role": str(m.get("role") or "user"), "content": _text(m.get("content"))}
            for m in messages
        )
    prompt = row.get("prompt")
    return ({"role": "user", "content": prompt},) if isinstance(prompt, str) and prompt else ()


def _prompt_key(row: Mapping[str, Any]) -> str:
    """A hash of the prompt's messages (or text): the same prompt groups alike across runs and eval
    files."""
    shown = [(m["role"], m["content"]) for m in _messages(row)]
    text = json.dumps(shown, ensure_ascii=True) if shown else f"id:{row.get('task_id')}"
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:20]


def _lineage(
    run: str, source: str, row: Mapping[str, Any], step: Any, sample: Any, verdict: Any, reward: Any
) -> dict[str, Any]:
    """Lineage with one type per field (Parquet needs it): ints, floats or strings, or None."""
    verdict = verdict if isinstance(verdict, Mapping) else {}
    spec = (
        f"{verdict['verifier']}@{verdict.get('verifier_version')}"
        if verdict.get("verifier")
        else None
    )
    sampling = row.get("sampling") if isinstance(row.get("sampling"), Mapping) else {}
    return {
        "run": run,
        "source": source,
        "step": _int(step),
        "group": _int(row.get("group")),
        "sample": _int(sample),
        "prompt_id": _str(row.get("task_id")),
        "seed": _int(row.get("seed")),
        "verifier": spec,
        "test_case_hash": _str(verdict.get("test_case_hash")),
        "reward": _number(reward),
        "model": _str(row.get("model")) or None,
        "env": _str(row.get("env")),
        "sampling": {
            key: (_int if kind == "int" else _number)(sampling.get(key))
            for key, kind in LINEAGE_SAMPLING.items()
        },
    }


def _passed(verdict: Any) -> bool:
    return isinstance(verdict, Mapping) and verdict.get("status") == "pass"


def _mapping(value: Any) -> Mapping[str, Any] | None:
    return value if isinstance(value, Mapping) else None


def _text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)


def _str(value: Any) -> str | None:
    return None if value is None else str(value)


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None

"""Exporters: TRL stepwise supervision, ProcessBench, JSONL of everything, Parquet tables.

Every export streams the store in one read transaction (a consistent snapshot while others
write), uses each trajectory's current (most recent) segmentation and the current label of
each step (:mod:`rl.prm.resolve`), and writes ``<out>.manifest.json`` next to its output with
the format, the policies used, the resolution rule version and the counts.

**Neutral (0) ratings in TRL's boolean labels** are never mapped silently; ``neutral=`` says how:

==================  ================================================================================
``"true"``          (default) 0 -> ``True``. PRM800K's own guide says a 0 step "isn't incorrect, but
                    does not make any progress"; a PRM trained for best-of-N wants "not wrong".
``"false"``         0 -> ``False`` (what the usual converters do, silently).
``"truncate"``      end the example just before the first neutral step.
``"exclude_step"``  drop neutral steps from ``completions`` and ``labels`` (note: later steps then
                    appear without that text before them).
``"error"``         raise :class:`~rl.prm.errors.ExportPolicyError` naming the trajectory and step.
==================  ================================================================================

**Unlabelled steps** (e.g. PRM800K stops labelling after the first error): ``unlabelled="truncate"``
(default) keeps the labelled prefix, ``"drop"`` skips the trajectory. Soft Monte-Carlo labels
become booleans through the resolution rule (``soft > 0`` -> ``True``).

>>> import tempfile, os, json
>>> from rl.prm.store import PrmStore
>>> d = tempfile.mkdtemp(); store = PrmStore(os.path.join(d, "p.db"))
>>> t = store.add_trajectory(store.add_problem("1+1?").id, "1+1=2\\nanswer 2")
>>> a, b = store.add_segmentation(t.id)
>>> _ = store.label(a.id, 0, annotator_kind="human", annotator_id="x")
>>> _ = store.label(b.id, 1, annotator_kind="human", annotator_id="x")
>>> export_trl(store, os.path.join(d, "trl.jsonl")).rows
1
>>> json.loads(open(os.path.join(d, "trl.jsonl")).readline())["labels"]
[True, True]
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator

from .errors import ExportPolicyError, PrmError
from .records import CurrentLabel
from .resolve import RULE_VERSION, resolve_rows
from .store import PrmStore, first_wrong

NEUTRAL_POLICIES = ("true", "false", "truncate", "exclude_step", "error")
UNLABELLED_POLICIES = ("truncate", "drop")
FORMATS = ("trl", "processbench", "jsonl", "parquet")


@dataclass
class ExportReport:
    """What an export wrote."""

    format: str
    """Export format."""
    path: str
    """Output file (or directory for Parquet)."""
    rows: int = 0
    """Rows (examples) written."""
    steps: int = 0
    """Steps written."""
    skipped: dict = field(default_factory=dict)
    """Trajectories left out, by reason."""
    policy: dict = field(default_factory=dict)
    """Policies used."""


@dataclass
class Doc:
    """One trajectory as the exporters see it."""

    trajectory_id: int
    hash: str
    raw_text: str
    generator: str
    final_answer: str | None
    problem: str
    problem_hash: str
    gold_answer: str | None
    steps: list = field(default_factory=list)
    """(step id, index, start, end) tuples."""
    labels: list = field(default_factory=list)
    """:class:`CurrentLabel` or ``None`` per step."""

    def texts(self) -> list[str]:
        return [self.raw_text[s[2] : s[3]] for s in self.steps]


def iter_docs(store: PrmStore, progress: Callable[[int], None] | None = None) -> Iterator[Doc]:
    """Every trajectory with its current steps and labels, in id order, from one snapshot."""
    with store.snapshot() as conn:
        heads = conn.execute(
            "SELECT t.id, t.hash, t.raw_text, t.generator, t.final_answer, p.text, p.hash, "
            "p.gold_answer FROM trajectories t JOIN problems p ON p.id = t.problem_id ORDER BY t.id"
        )
        body = conn.execute(
            "SELECT g.trajectory_id, s.id, s.idx, s.start_char, s.end_char, e.id, e.value, "
            "e.value_kind, e.annotator_kind, e.annotator_id, e.rollouts, e.solved FROM "
            "segmentations g JOIN steps s ON s.segmentation_id = g.id LEFT JOIN label_events e ON "
            "e.step_id = s.id WHERE g.id = (SELECT max(g2.id) FROM segmentations g2 WHERE "
            "g2.trajectory_id = g.trajectory_id) ORDER BY g.trajectory_id, s.idx, e.id"
        )
        yield from _merge(heads, body, progress)


def _merge(heads: Any, body: Any, progress: Callable[[int], None] | None) -> Iterator[Doc]:
    pending = body.fetchone()
    for head in heads:
        doc = Doc(*head)
        steps, labels = doc.steps, doc.labels
        while pending is not None and pending[0] == doc.trajectory_id:
            step_id, rows = pending[1], []
            steps.append(pending[1:5])
            while pending is not None and pending[1] == step_id:
                if pending[5] is not None:
                    rows.append(pending[5:])
                pending = body.fetchone()
            labels.append(resolve_rows(step_id, rows) if rows else None)
        if progress is not None:
            progress(1)
        yield doc


# -- TRL ----------------------------------------------------------------------------------------
def trl_example(
    doc: Doc, neutral: str = "true", unlabelled: str = "truncate"
) -> tuple[dict | None, str | None]:
    """``({"prompt", "completions", "labels"}, None)`` or ``(None, reason skipped)``."""
    texts, labels = doc.texts(), doc.labels
    if None in labels:
        if unlabelled == "drop":
            return None, "unlabelled_step"
        cut = labels.index(None)
        texts, labels = texts[:cut], labels[:cut]
    out_texts, out_labels = [], []
    for index, (text, label) in enumerate(zip(texts, labels)):
        if label.value == 0:
            if neutral == "error":
                raise ExportPolicyError(
                    f"trajectory {doc.hash[:19]} step {index} has a neutral (0) label and "
                    f"neutral='error'; choose one of {NEUTRAL_POLICIES}"
                )
            if neutral == "truncate":
                break
            if neutral == "exclude_step":
                continue
            out_texts.append(text)
            out_labels.append(neutral == "true")
            continue
        out_texts.append(text)
        out_labels.append(label.value > 0)
    if not out_texts:
        return None, "no_labelled_steps"
    return {"prompt": doc.problem, "completions": out_texts, "labels": out_labels}, None


def export_trl(
    store: PrmStore,
    path: str | Path,
    *,
    neutral: str = "true",
    unlabelled: str = "truncate",
    progress: Callable[[int], None] | None = None,
) -> ExportReport:
    """TRL stepwise supervision JSONL: ``prompt``, ``completions`` (steps), ``labels`` (bools)."""
    if neutral not in NEUTRAL_POLICIES:
        raise PrmError(
            f"neutral={neutral!r}; choose one of {NEUTRAL_POLICIES} (see rl.prm.exporters)"
        )
    if unlabelled not in UNLABELLED_POLICIES:
        raise PrmError(f"unlabelled={unlabelled!r}; choose one of {UNLABELLED_POLICIES}")
    report = ExportReport(
        "trl",
        str(path),
        policy={
            "neutral": neutral,
            "unlabelled": unlabelled,
            "resolution_rule": RULE_VERSION,
            "soft": "value > 0 -> True",
        },
    )
    dumps = json.JSONEncoder(ensure_ascii=False).encode
    with open(path, "w", encoding="utf-8") as out:
        for doc in iter_docs(store, progress):
            example, reason = trl_example(doc, neutral, unlabelled)
            if example is None:
                report.skipped[reason] = report.skipped.get(reason, 0) + 1
                continue
            out.write(dumps(example) + "\n")
            report.rows += 1
            report.steps += len(example["labels"])
    return _manifest(report)


# -- ProcessBench --------------------------------------------------------------------------------
def export_processbench(
    store: PrmStore,
    path: str | Path,
    *,
    verifier: str | None = None,
    progress: Callable[[int], None] | None = None,
) -> ExportReport:
    """ProcessBench-style JSONL: ``id``, ``generator``, ``problem``, ``steps``,
    ``final_answer_correct``, ``label`` (index of the earliest wrong step, or -1 when every step is
    labelled and none is wrong).

    A trajectory whose steps before its first wrong one are not all labelled is skipped
    (its earliest error is unknown). ``final_answer_correct`` comes from the final verdict by
    ``verifier`` (default: the latest recorded), ``null`` when ungraded.
    """
    verdicts = _verdicts(store, verifier)
    report = ExportReport(
        "processbench",
        str(path),
        policy={"resolution_rule": RULE_VERSION, "verifier": verifier or "latest"},
    )
    with open(path, "w", encoding="utf-8") as out:
        for doc in iter_docs(store, progress):
            label = first_wrong(doc.labels)
            known = doc.labels[:label] if label >= 0 else doc.labels
            if not doc.steps or None in known:
                report.skipped["unlabelled_step"] = report.skipped.get("unlabelled_step", 0) + 1
                continue
            status = verdicts.get(doc.trajectory_id)
            row = {
                "id": doc.hash,
                "generator": doc.generator,
                "problem": doc.problem,
                "steps": doc.texts(),
                "final_answer_correct": None if status is None else status == "pass",
                "label": label,
            }
            out.write(json.dumps(row, ensure_ascii=False) + "\n")
            report.rows += 1
            report.steps += len(doc.steps)
    return _manifest(report)


def _verdicts(store: PrmStore, verifier: str | None) -> dict[int, str]:
    sql = "SELECT trajectory_id, status FROM final_verdicts"
    rows = (
        store.read(sql + " WHERE verifier = ? ORDER BY created_at", (verifier,))
        if verifier
        else store.read(sql + " ORDER BY created_at")
    )
    return dict(rows)  # later rows (newer verdicts) win


# -- everything ----------------------------------------------------------------------------------
def export_jsonl(
    store: PrmStore, path: str | Path, *, progress: Callable[[int], None] | None = None
) -> ExportReport:
    """One JSON object per trajectory (:func:`full_document`'s shape): problem, trajectory,
    segmentation, steps with every label event and the current label, and final verdicts.
    Lossless for everything but internal ids; streamed from one snapshot."""
    report = ExportReport("jsonl", str(path), policy={"resolution_rule": RULE_VERSION})
    verdicts: dict[int, list] = {}
    for row in store.read(
        "SELECT trajectory_id, verifier, status, score, final_answer, created_at "
        "FROM final_verdicts ORDER BY created_at"
    ):
        verdicts.setdefault(row[0], []).append(dict(zip(_VERDICT_KEYS, row[1:])))
    with store.snapshot() as conn:
        body = conn.execute(_DOC_BODY)
        pending = body.fetchone()
        with open(path, "w", encoding="utf-8") as out:
            for head in conn.execute(_DOC_HEADS):
                doc, pending = _document(head, body, pending)
                doc["final_verdicts"] = verdicts.get(head[0], [])
                out.write(json.dumps(doc, ensure_ascii=False) + "\n")
                report.rows += 1
                report.steps += len(doc["steps"])
                if progress is not None:
                    progress(1)
    return _manifest(report)


_VERDICT_KEYS = ("verifier", "status", "score", "final_answer", "created_at")
_DOC_HEADS = (
    "SELECT t.id, p.hash, p.text, p.gold_answer, p.source, p.licence, t.hash, t.raw_text, "
    "t.generator, t.sampling_json, t.final_answer, par.hash, t.branch_step, t.meta_json, g.method, "
    "g.version FROM trajectories t JOIN problems p ON p.id = t.problem_id LEFT JOIN trajectories "
    "par ON par.id = t.parent_id LEFT JOIN segmentations g ON g.id = (SELECT max(g2.id) FROM "
    "segmentations g2 WHERE g2.trajectory_id = t.id) ORDER BY t.id"
)
_DOC_BODY = (
    "SELECT g.trajectory_id, s.id, s.idx, s.start_char, s.end_char, e.id, e.value, e.value_kind, "
    "e.annotator_kind, e.annotator_id, e.rollouts, e.solved, e.rationale, e.error_type, "
    "e.created_at, e.meta_json, ses.meta_json FROM segmentations g JOIN steps s ON "
    "s.segmentation_id = g.id LEFT JOIN label_events e ON e.step_id = s.id LEFT JOIN "
    "label_sessions ses ON ses.id = e.session_id WHERE g.id = (SELECT max(g2.id) FROM "
    "segmentations g2 WHERE g2.trajectory_id = g.trajectory_id) ORDER BY g.trajectory_id, s.idx, "
    "e.id"
)


def _document(head: tuple, body: Any, pending: tuple | None) -> tuple[dict, tuple | None]:
    raw = head[7]
    doc = {
        "problem": dict(zip(("hash", "text", "gold_answer", "source", "licence"), head[1:6])),
        "trajectory": {
            "hash": head[6],
            "raw_text": raw,
            "generator": head[8],
            "sampling": json.loads(head[9]),
            "final_answer": head[10],
            "parent": head[11],
            "branch_step": head[12],
            "meta": json.loads(head[13]),
        },
        "segmentation": None if head[14] is None else {"method": head[14], "version": head[15]},
        "steps": [],
    }
    while pending is not None and pending[0] == head[0]:
        step_id, rows, events = pending[1], [], []
        step = {
            "index": pending[2],
            "start": pending[3],
            "end": pending[4],
            "text": raw[pending[3] : pending[4]],
        }
        while pending is not None and pending[1] == step_id:
            if pending[5] is not None:
                rows.append(
                    (
                        pending[5],
                        pending[6],
                        pending[7],
                        pending[8],
                        pending[9],
                        pending[10],
                        pending[11],
                    )
                )
                events.append(_event_json(pending))
            pending = body.fetchone()
        label = resolve_rows(step_id, rows)
        doc["steps"].append(
            {**step, "current": None if label is None else _label_dict(label), "events": events}
        )
    return doc, pending


def _event_json(r: tuple) -> dict:
    meta = {**(json.loads(r[16]) if r[16] else {}), **(json.loads(r[15]) if r[15] else {})}
    return {
        "value": r[6] if r[7] == "soft" else int(r[6]),
        "annotator_kind": r[8],
        "annotator_id": r[9],
        "value_kind": r[7],
        "rationale": r[12],
        "error_type": r[13],
        "rollouts": r[10],
        "solved": r[11],
        "created_at": r[14],
        "meta": meta,
        "id": r[5],
    }


def full_document(store: PrmStore, trajectory_id: int) -> dict[str, Any]:
    """Everything the store knows about one trajectory, as plain JSON-able data."""
    traj = store.trajectory(trajectory_id)
    problem = store.problem(traj.problem_id)
    steps = store.steps(trajectory_id)
    labels = store.current_labels(trajectory_id)
    seg = (
        store.read(
            "SELECT method, version FROM segmentations WHERE id = ?", (steps[0].segmentation_id,)
        )[0]
        if steps
        else None
    )
    parent = store.trajectory(traj.parent_id).hash if traj.parent_id else None
    verdicts = store.read(
        "SELECT verifier, status, score, final_answer, created_at FROM final_verdicts "
        "WHERE trajectory_id = ? ORDER BY created_at",
        (trajectory_id,),
    )
    return {
        "problem": {
            "hash": problem.hash,
            "text": problem.text,
            "gold_answer": problem.gold_answer,
            "source": problem.source,
            "licence": problem.licence,
        },
        "trajectory": {
            "hash": traj.hash,
            "raw_text": traj.raw_text,
            "generator": traj.generator,
            "sampling": dict(traj.sampling),
            "final_answer": traj.final_answer,
            "parent": parent,
            "branch_step": traj.branch_step,
            "meta": dict(traj.meta),
        },
        "segmentation": None if seg is None else {"method": seg[0], "version": seg[1]},
        "steps": [
            {
                "index": s.index,
                "start": s.start,
                "end": s.end,
                "text": s.text,
                "current": None if l is None else _label_dict(l),
                "events": [_event_dict(e) for e in store.events(s.id)],
            }
            for s, l in zip(steps, labels)
        ],
        "final_verdicts": [
            dict(zip(("verifier", "status", "score", "final_answer", "created_at"), v))
            for v in verdicts
        ],
    }


def _label_dict(label: CurrentLabel) -> dict:
    data = asdict(label)
    data.pop("step_id")
    return data


def _event_dict(event: Any) -> dict:
    data = asdict(event)
    data.pop("step_id")
    data.pop("dedupe_key")
    data["meta"] = dict(event.meta)
    return data


_TABLES = (
    "problems",
    "trajectories",
    "segmentations",
    "steps",
    "label_sessions",
    "label_events",
    "final_verdicts",
    "imports",
)


def export_parquet(
    store: PrmStore,
    directory: str | Path,
    *,
    batch_rows: int = 100_000,
    progress: Callable[[int], None] | None = None,
) -> ExportReport:
    """Every table as ``<directory>/<table>.parquet`` (streamed in row batches; needs
    ``rlvr[parquet]``)."""
    from rl.errors import require

    pa = require("pyarrow", "parquet")
    pq = require("pyarrow.parquet", "parquet")
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    report = ExportReport("parquet", str(directory))
    with store.snapshot() as conn:
        for table in _TABLES:
            report.rows += _dump_table(
                conn,
                store.table_columns(table),
                table,
                directory / f"{table}.parquet",
                pa,
                pq,
                batch_rows,
                progress,
            )
    return _manifest(report)


def _dump_table(
    conn: Any,
    columns: list[tuple[str, str]],
    table: str,
    path: Path,
    pa: Any,
    pq: Any,
    batch_rows: int,
    progress: Callable[[int], None] | None,
) -> int:
    types = {"INTEGER": pa.int64(), "BIGINT": pa.int64(), "DOUBLE PRECISION": pa.float64()}
    schema = pa.schema([(name, types.get(kind, pa.string())) for name, kind in columns])
    cursor = conn.execute(
        f"SELECT {', '.join(name for name, _ in columns)} FROM {table} ORDER BY 1"
    )
    count = 0
    with pq.ParquetWriter(path, schema) as writer:
        while rows := cursor.fetchmany(batch_rows):
            arrays = [pa.array(list(col), type=f.type) for col, f in zip(zip(*rows), schema)]
            writer.write_table(pa.Table.from_arrays(arrays, schema=schema))
            count += len(rows)
            if progress is not None:
                progress(len(rows))
    return count


def _manifest(report: ExportReport) -> ExportReport:
    target = Path(report.path)
    manifest = (
        target / "manifest.json"
        if target.is_dir()
        else target.with_name(target.name + ".manifest.json")
    )
    manifest.write_text(json.dumps(asdict(report), indent=2, sort_keys=True) + "\n")
    return report


def export(store: PrmStore, path: str | Path, format: str, **options: Any) -> ExportReport:
    """Dispatch to the exporter for ``format`` (one of :data:`FORMATS`)."""
    table = {
        "trl": export_trl,
        "processbench": export_processbench,
        "jsonl": export_jsonl,
        "parquet": export_parquet,
    }
    if format not in table:
        raise PrmError(f"unknown export format {format!r}; choose one of {FORMATS}")
    return table[format](store, path, **options)


__all__ = [
    "ExportReport",
    "export",
    "export_jsonl",
    "export_parquet",
    "export_processbench",
    "export_trl",
    "iter_docs",
    "trl_example",
    "NEUTRAL_POLICIES",
    "CurrentLabel",
]

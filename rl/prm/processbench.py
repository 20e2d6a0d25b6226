"""ProcessBench records -> trajectories with the first wrong step labelled, and a final verdict.

ProcessBench (``{id, generator, problem, steps, final_answer_correct, label}``, ``label`` = index of
the first wrong step or -1): the raw text is the steps joined by ``"\\n\\n"``, one step each
(segmentation ``processbench@1``); the steps before ``label`` get ``human`` ternary +1 events by
``processbench``, step ``label`` gets -1, the steps after it get nothing (``label`` -1: every step
+1), so :meth:`~rl.prm.store.PrmStore.first_wrong_step` gives ``label`` back. The record's
``generator`` is the trajectory's, ``id`` goes into its ``meta`` (``processbench_id``),
``final_answer_correct`` becomes a final verdict by ``processbench:final_answer_correct`` (pass /
fail), and the source is ``ProcessBench/<subset>`` from the id (``gsm8k-0`` -> ``gsm8k``).
Event keys name the record id and label, not the file, so the JSON and the JSONL form of the same
records import once.
"""

from __future__ import annotations

import re
from typing import Any, Mapping

from verifiers import Status

from .bulk import BatchItem, new_item
from .parsing import LineContext, join_steps, require_field
from .rows import PlainLabels, VerdictRow
from .store import dedupe_base, now, to_json

#: The verifier name under which ProcessBench's ``final_answer_correct`` is recorded as a final
#: verdict.
PROCESSBENCH_VERIFIER = "processbench:final_answer_correct"
_PROCESSBENCH_ANNOTATOR = "processbench"
_PROCESSBENCH_SUBSET = re.compile(r"(.+)-\d+")
_PASS, _FAIL = Status.PASS.value, Status.FAIL.value


def parse_processbench(obj: Mapping[str, Any], ctx: LineContext) -> list[BatchItem]:
    """One ProcessBench record -> one trajectory whose steps are the record's steps: +1 on every
    step before the first wrong one (``label``), -1 on it, nothing after it (``label`` -1: all +1).

    >>> import tempfile, os, json
    >>> from rl.prm.importers import import_file
    >>> from rl.prm.store import PrmStore
    >>> d = tempfile.mkdtemp(); path = os.path.join(d, "demo.json")
    >>> record = {"id": "demo-0", "generator": "m", "problem": "1+1?",
    ...           "steps": ["1+1=3.", "So 3.", "Done."], "final_answer_correct": False, "label": 0}
    >>> # a JSON array, as ProcessBench ships
    >>> _ = open(path, "w").write(json.dumps([record], indent=2))
    >>> store = PrmStore(os.path.join(d, "p.db"))
    >>> report = import_file(store, path, "processbench")
    >>> report.steps, report.events, store.first_wrong_step(1), store.final_verdict(1).status.value
    (3, 1, 0, 'fail')
    """
    record_id, problem, steps, label, correct, generator = _processbench_fields(obj)
    if not ctx.build:
        return []
    options = ctx.options
    labelled = len(steps) if label < 0 else label + 1
    values = [1] * labelled
    if label >= 0:
        values[label] = -1
    # Keyed by the record, not the file: the JSON and the JSONL form of the same records import
    # once.
    base = dedupe_base(_PROCESSBENCH_ANNOTATOR, record_id, label)
    subset = _PROCESSBENCH_SUBSET.fullmatch(record_id)
    raw, spans = join_steps(steps, "\n\n")
    return [
        new_item(
            {
                "problem_text": problem,
                "gold_answer": None,
                "source": options.source
                or ("ProcessBench/" + subset.group(1) if subset else "ProcessBench"),
                "licence": options.licence,
                "generator": generator or options.generator or "unknown",
                "method": "processbench",
                "method_version": 1,
            },
            raw_text=raw,
            spans=spans,
            labels=[],
            meta_json=to_json({"processbench_id": record_id}),
            plain_labels=PlainLabels(
                value_kind="ternary",
                annotator_kind="human",
                annotator_id=_PROCESSBENCH_ANNOTATOR,
                created_at=now(),
                key_base=base,
                step_idxs=list(range(labelled)),
                values=values,
            ),
            verdict=None if correct is None else _verdict(correct),
        )
    ]


def _verdict(correct: bool) -> VerdictRow:
    """``final_answer_correct`` as a final verdict: pass (score 1) or fail (score 0)."""
    return VerdictRow(
        verifier=PROCESSBENCH_VERIFIER,
        status=_PASS if correct else _FAIL,
        score=float(correct),
        final_answer=None,
    )


def _processbench_fields(
    obj: Mapping[str, Any],
) -> tuple[str, str, list[str], int, bool | None, str | None]:
    """``(id, problem, steps, label, final_answer_correct, generator)`` of a record, checked."""
    record_id, problem = obj["id"], require_field(obj, "problem", str)
    steps, label = require_field(obj, "steps", list), require_field(obj, "label", int)
    if type(record_id) not in (str, int):
        raise ValueError(f"field 'id' should be a string, got {type(record_id).__name__}")
    if not steps or any(type(step) is not str or not step for step in steps):
        raise ValueError("field 'steps' should be a non-empty list of non-empty strings")
    if type(label) is not int or not -1 <= label < len(steps):
        raise ValueError(
            f"label {label!r} is neither -1 (no wrong step) nor a step index (0..{len(steps) - 1})"
        )
    correct, generator = obj.get("final_answer_correct"), obj.get("generator")
    if correct is not None and type(correct) is not bool:
        raise ValueError(
            f"field 'final_answer_correct' should be true, false or null, got {correct!r}"
        )
    if generator is not None and (type(generator) is not str or not generator):
        raise ValueError(f"field 'generator' should be a non-empty string, got {generator!r}")
    return str(record_id), problem, steps, label, correct, generator

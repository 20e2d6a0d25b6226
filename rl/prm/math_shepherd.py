"""Math-Shepherd records -> trajectories with one Monte-Carlo boolean label per step.

Math-Shepherd (``{"input", "label"}``, steps ending in a tag such as ``ки`` and the same text
with ``+``/``-`` in place of the tags): the problem is the text before ``Step 1:``, the raw
text is the solution with the tags removed, and each ``+``/``-`` is a boolean label event by
annotator kind ``monte_carlo`` (Math-Shepherd's labels are hard Monte-Carlo estimates) with id
``math-shepherd``.

>>> from rl.prm.parsing import ImportOptions, LineContext
>>> row = {"input": "What is 1+1? Step 1: 1+1=2. ки\\nStep 2: The answer is: 2 ки",
...        "label": "What is 1+1? Step 1: 1+1=2. +\\nStep 2: The answer is: 2 -"}
>>> [item] = parse_math_shepherd(row, LineContext("sha256:ab", 1, ImportOptions()))
>>> item.problem_text, item.final_answer, item.plain_labels.values
('What is 1+1?', '2', [1, 0])
"""

from __future__ import annotations

import re
from typing import Any, Mapping

from .bulk import BatchItem
from .parsing import LineContext, require_field
from .rows import PlainLabels
from .store import dedupe_base, now

_ANSWER = re.compile(r"The answer is:?\s*(.+?)\s*$", re.S)


def parse_math_shepherd(obj: Mapping[str, Any], ctx: LineContext) -> list[BatchItem]:
    """One Math-Shepherd line -> one trajectory with one boolean label per tagged step."""
    text, labelled = require_field(obj, "input", str), require_field(obj, "label", str)
    tag = ctx.options.step_tag
    parts = text.split(tag)
    if len(parts) < 2:
        raise ValueError(f"no step tag {tag!r} in input")
    marks = _marks(parts, labelled)
    match = re.search(ctx.options.solution_start, parts[0])
    if match is None:
        raise ValueError(
            f"cannot find where the solution starts (pattern {ctx.options.solution_start!r}); "
            "pass ImportOptions(solution_start=...)"
        )
    if not ctx.build:
        return []
    problem = parts[0][: match.start()].strip()
    parts[0] = parts[0][match.start() :]
    raw = "".join(parts)
    spans, position = [], 0
    for part in parts[:-1]:
        start, end = position + len(part) - len(part.lstrip()), position + len(part.rstrip())
        if start >= end:
            raise ValueError(f"step {len(spans)} is empty")
        spans.append((start, end))
        position += len(part)
    annotator, stamp = "math-shepherd", now()
    base = dedupe_base(ctx.source_hash, ctx.line, 0, annotator)
    labels = PlainLabels(
        value_kind="boolean",
        annotator_kind="monte_carlo",
        annotator_id=annotator,
        created_at=stamp,
        key_base=base,
        step_idxs=list(range(len(marks))),
        values=[1 if mark == "+" else 0 for mark in marks],
    )
    answer = _ANSWER.search(raw[spans[-1][0] : spans[-1][1]])
    task = obj.get("task")
    return [
        BatchItem(
            problem_text=problem,
            gold_answer=None,
            source=ctx.options.source or (f"Math-Shepherd/{task}" if task else "Math-Shepherd"),
            licence=ctx.options.licence,
            raw_text=raw,
            generator=ctx.options.generator or "math-shepherd",
            method="math_shepherd",
            method_version=1,
            spans=spans,
            labels=[],
            plain_labels=labels,
            final_answer=answer.group(1) if answer else None,
        )
    ]


def _marks(parts: list[str], labelled: str) -> list[str]:
    """The ``+``/``-`` in ``labelled`` where ``input`` had tags; raise if the texts differ
    elsewhere."""
    marks, position = [], 0
    for index, part in enumerate(parts[:-1]):
        if labelled[position : position + len(part)] != part:
            raise ValueError(f"label text differs from input before step {index}")
        position += len(part)
        mark = labelled[position : position + 1]
        if mark not in ("+", "-"):
            raise ValueError(
                f"step {index}: expected '+' or '-' in label where input has the tag, got {mark!r}"
            )
        marks.append(mark)
        position += 1
    if labelled[position:] != parts[-1]:
        raise ValueError("label text differs from input after the last step")
    return marks

"""PRM800K records (one line = one labelled solution) -> trajectories and human step labels.

How a line maps:

* ``question.problem`` / ``ground_truth_answer`` -> problem; ``ground_truth_solution`` kept in the
  trajectory's ``meta``.
* The main path is, per step, the chosen completion, else the human completion, else (phase 2)
  the completion equal to the pre-generated step. When ``pre_generated_steps`` extend the path,
  the raw text is all pre-generated steps (steps after the labelled ones stay unlabelled).
  Steps are joined with ``"\\n"`` and recorded under segmentation ``prm800k@1``.
* Each rating (-1/0/+1) becomes a ``human`` ternary label event by ``labeler`` at ``timestamp``;
  ``flagged`` goes into the event's ``meta``; the line's ``finish_reason``, ``total_time``,
  ``generation``, screening/quality-control flags and line number are stored once, as the
  labelling session (``label_sessions``) its events belong to, and read back merged into each
  event's ``meta``. A human-written completion is labelled +1 (the labelling
  interface only allowed it as a correct step), with ``meta.human_completion = true``.
* Every alternative completion becomes its own trajectory (``parent_id`` = the main path,
  ``branch_step`` = its step): the main path's steps before it plus the alternative, with the
  same ratings on the shared prefix and the alternative's own rating at the end.
* A step whose ``completions`` is null (or empty) with nothing chosen or written has no text and
  no rating (PRM800K records one where a labeler stopped, e.g. ``give_up``): it adds no step and
  no label, and ends the path; only such steps may follow it. Nothing is labelled in its place.

>>> from rl.prm.parsing import ImportOptions, LineContext
>>> line = {"labeler": "alice", "timestamp": "2022-07-30T23:23:32",
...         "question": {"problem": "1+1?", "ground_truth_answer": "2"},
...         "label": {"steps": [
...             {"completions": [{"text": "1+1=2.", "rating": 1}], "chosen_completion": 0},
...             {"completions": [{"text": "So 2.", "rating": 1}, {"text": "So 3.", "rating": -1}],
...              "chosen_completion": 0}]}}
>>> main, alternative = parse_prm800k(line, LineContext("sha256:ab", 1, ImportOptions()))
>>> main.raw_text, main.plain_labels.values
('1+1=2.\\nSo 2.', [1, 1])
>>> alternative.raw_text, alternative.branch_step, alternative.plain_labels.values
('1+1=2.\\nSo 3.', 1, [1, -1])
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence

from .bulk import BatchItem, new_item
from .parsing import LineContext, join_steps, require_field
from .rows import LabelRow, PlainLabels, SessionRow
from .store import dedupe_base, now, to_json


def parse_prm800k(obj: Mapping[str, Any], ctx: LineContext) -> list[BatchItem]:
    """One PRM800K line -> the main trajectory plus one trajectory per alternative completion."""
    question, label = require_field(obj, "question", dict), require_field(obj, "label", dict)
    problem, gold = require_field(question, "problem", str), question.get("ground_truth_answer")
    gold = None if gold is None else str(gold)
    steps = require_field(label, "steps", list)
    labeler = str(obj.get("labeler") or "unknown")
    stamp = str(obj.get("timestamp") or now())
    line_meta = {
        k: v
        for k, v in (
            ("finish_reason", label.get("finish_reason")),
            ("total_time", label.get("total_time")),
            ("generation", obj.get("generation")),
            ("is_quality_control_question", obj.get("is_quality_control_question")),
            ("is_initial_screening_question", obj.get("is_initial_screening_question")),
            ("line", ctx.line),
        )
        if v is not None
    }
    pre = question.get("pre_generated_steps")
    if pre is not None and (
        type(pre) is not list or (pre and set(map(type, pre)) != _STR) or "" in pre
    ):
        raise ValueError("question.pre_generated_steps must be a list of non-empty strings")
    texts, path, alternatives, ratings, special = _main_path(steps, pre or [])
    if not ctx.build:
        return []
    use_pre = type(pre) is list and bool(path) and texts == pre[: len(path)]
    options = ctx.options
    common = {
        "problem_text": problem,
        "gold_answer": gold,
        "source": options.source or "PRM800K",
        "licence": options.licence,
        "generator": options.generator or "prm800k",
        "method": "prm800k",
        "method_version": 1,
    }
    meta = {
        k: question[k]
        for k in ("ground_truth_solution", "pre_generated_verifier_score")
        if k in question
    }
    rows = _LabelRows(ctx, labeler, stamp, line_meta)
    items = []
    if path or use_pre:
        raw, spans = join_steps(pre if use_pre else texts)
        labels, plain = rows.for_path(path, ratings, 0, special)
        items.append(
            new_item(
                common,
                raw_text=raw,
                spans=spans,
                labels=labels,
                plain_labels=plain,
                meta_json=to_json(meta),
                session=rows.session,
                final_answer=question.get("pre_generated_answer") if use_pre else None,
            )
        )
    # A branch at step i needs full rows iff path[:i] or its completion is flagged/human-written.
    first_special = next(k for k, c in enumerate(path) if _is_special(c)) if special else len(path)
    for branch, (i, completion) in enumerate(alternatives, 1):
        raw, spans = join_steps(texts[:i] + [completion["text"]])
        labels, plain = rows.for_path(
            path[:i] + [completion],
            ratings[:i] + [completion.get("rating")],
            branch,
            first_special < i or _is_special(completion),
        )
        items.append(
            new_item(
                common,
                raw_text=raw,
                spans=spans,
                labels=labels,
                plain_labels=plain,
                session=rows.session,
                parent=0 if path else None,
                branch_step=i,
            )
        )
    return items


def _main_path(
    steps: list, pre: list
) -> tuple[list[str], list[dict], list[tuple[int, dict]], list, bool]:
    """Texts and completions along the main path, (step index, completion) of each alternative,
    the main path's ratings, and whether one of its completions is flagged or human-written."""
    texts: list[str] = []
    path: list[dict] = []
    alternatives: list[tuple[int, dict]] = []
    main_ratings: list = []
    special = False
    ratings = _RATINGS
    c = text = rating = None  # the last completion checked, its text and its rating
    for i, step in enumerate(steps):
        completions = step.get("completions", _MISSING) if type(step) is dict else _MISSING
        if type(completions) is not list:
            completions = _no_completions(i, completions)
        for c in completions:
            if type(c) is not dict or type(text := c.get("text")) is not str or not text:
                raise ValueError(
                    f"step {i}: a completion must be an object with a non-empty text, "
                    f"got {str(c)[:60]!r}"
                )
            # True == 1 in Python
            if (rating := c.get("rating")) not in ratings or isinstance(rating, bool):
                raise ValueError(f"step {i}: rating must be -1, 0, 1 or null, got {rating!r}")
        chosen, count = step.get("chosen_completion"), len(completions)
        if chosen is not None:
            if type(chosen) is not int or not 0 <= chosen < count:
                raise ValueError(
                    f"step {i}: chosen_completion {chosen!r} is not an index into its "
                    f"{len(completions)} completions"
                )
            main = completions[chosen]
        elif (human := step.get("human_completion")) is not None:
            text = human if isinstance(human, str) else require_field(human, "text", str)
            if not text:
                raise ValueError(f"step {i}: human_completion text is empty")
            main = {"text": text, "rating": 1, "human_completion": True}
        elif i < len(pre) and any(c["text"] == pre[i] for c in completions):
            main = next(c for c in completions if c["text"] == pre[i])
        else:
            if not all(map(_is_empty_step, steps[i + 1 :])):
                raise ValueError(
                    f"step {i} has no chosen or human completion but is not the last step "
                    "(only steps without completions may follow it)"
                )
            alternatives.extend((i, c) for c in completions)
            break
        # the last completion checked (the only one, mostly): its text and rating are at hand
        if main is c:
            texts.append(text)
            main_ratings.append(rating)
        else:
            texts.append(main["text"])
            main_ratings.append(main.get("rating"))
        path.append(main)
        if main.get("flagged") or main.get("human_completion"):  # (_is_special, inlined: hot)
            special = True
        if count != 1 or (completions[0] is not main and completions[0] != main):
            alternatives.extend((i, c) for c in completions if c is not main)
    return texts, path, alternatives, main_ratings, special


_MISSING = object()


def _no_completions(index: int, completions: Any) -> list:
    """``[]`` for a step whose completions are null (PRM800K's step with no completion, e.g. where
    the labeler gave up: nothing to rate); raise for a missing field or anything else that is not a
    list."""
    if completions is None:
        return []
    if completions is _MISSING:
        raise ValueError(
            f"step {index} needs a 'completions' field (a list, or null for a step with none)"
        )
    raise ValueError(
        f"step {index}: completions must be a list or null, got {type(completions).__name__}"
    )


def _is_empty_step(step: Any) -> bool:
    """A step with no completion at all (``completions`` null or empty, nothing chosen or written),
    as PRM800K records one where the labeler stopped, e.g. ``finish_reason`` ``give_up``."""
    return (
        type(step) is dict
        and step.get("completions") in (None, [])
        and step.get("chosen_completion") is None
        and step.get("human_completion") is None
    )


def _is_special(completion: dict) -> Any:
    """Whether a completion's label needs a full row: flagged, or written by the labeler."""
    return completion.get("flagged") or completion.get("human_completion")


_RATINGS = (1, 0, -1, None)
_STR = {str}
_HUMAN_RATIONALE = "written by the labeler (PRM800K human_completion)"


class _LabelRows:
    """Builds the label rows of one PRM800K line (one labeler, one time, shared line metadata)."""

    def __init__(self, ctx: LineContext, labeler: str, stamp: str, line_meta: dict) -> None:
        self.ctx, self.labeler, self.stamp = ctx, labeler, stamp
        self.session = SessionRow(
            annotator_kind="human",
            annotator_id=labeler,
            source=f"{ctx.source_hash[:19]}:{ctx.line}",
            started_at=stamp,
            meta_json=to_json(line_meta),
        )

    def for_path(
        self, path: Sequence[dict], ratings: list, branch: int, special: bool
    ) -> tuple[list[LabelRow], PlainLabels | None]:
        """``(labels, plain_labels)`` of a trajectory along ``path`` (its completions, with their
        ``ratings``): full rows when one of them is flagged or human-written (``special``), else
        the same rows in the compact form."""
        if special:
            return self.build(path, branch), None
        return [], self.plain(ratings, branch)

    def build(self, path: Sequence[dict], branch: int) -> list[LabelRow]:
        """One label row per rated completion of ``path`` (dicts carrying ``rating`` and maybe
        ``flagged`` / ``human_completion``)."""
        base = dedupe_base(self.ctx.source_hash, self.ctx.line, branch, self.labeler)
        labeler, stamp = self.labeler, self.stamp
        out = []
        for index, c in enumerate(path):
            rating = c.get("rating")
            if rating is None:
                continue
            row = LabelRow(
                step_idx=index,
                value=rating,
                value_kind="ternary",
                annotator_kind="human",
                annotator_id=labeler,
                created_at=stamp,
                dedupe_key=base + index,
            )
            if _is_special(c):
                extra = {k: True for k in ("flagged", "human_completion") if c.get(k)}
                human = "human_completion" in extra
                row = row._replace(
                    rationale=_HUMAN_RATIONALE if human else None, meta_json=to_json(extra)
                )
            out.append(row)
        return out

    def plain(self, ratings: list, branch: int) -> PlainLabels:
        """The compact form of a path's labels when none is flagged or human-written: the rows
        :meth:`build` gives for it, in the same order."""
        base = dedupe_base(self.ctx.source_hash, self.ctx.line, branch, self.labeler)
        if None in ratings:
            steps = [i for i, r in enumerate(ratings) if r is not None]
            ratings = [r for r in ratings if r is not None]
        else:
            steps = list(range(len(ratings)))
        return PlainLabels(
            value_kind="ternary",
            annotator_kind="human",
            annotator_id=self.labeler,
            created_at=self.stamp,
            key_base=base,
            step_idxs=steps,
            values=ratings,
        )

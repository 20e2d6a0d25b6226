"""The quarantine on public suites (``../shared/conformance/``): perturbed copies of real items are
caught, and different real items are not flagged (each suite split in two halves: one isolated, the
other checked).

The rates are measured here, on items nobody tuned the rules on, and pinned with some slack; the
numbers of the last run are in the README.
"""

from __future__ import annotations

import gzip
import json
import random
import re

import pytest
from conformance_paths import read_jsonl, suite_path

from envs.quarantine import Matcher, fingerprint


def _humaneval() -> list[dict]:
    with gzip.open(suite_path("humaneval", "HumanEval.jsonl.gz"), "rt", encoding="utf-8") as fh:
        return [json.loads(line) for line in fh]


def _he(p: dict, prompt=None, tests=None, entry=None):
    return fingerprint(
        p["task_id"],
        prompt or p["prompt"],
        {"tests": tests or p["test"], "entry_point": entry or p["entry_point"]},
    )


def _rename(text: str, old: str, new: str) -> str:
    return re.sub(rf"\b{re.escape(old)}\b", new, text)


def _halves(fps):
    items = list(fps)
    random.Random(0).shuffle(items)
    isolated, checked = items[::2], items[1::2]
    hits = Matcher([("half", fp) for fp in isolated]).hits(checked)
    return sum(bool(h) for h in hits), len(checked)


def _caught(isolated, copies, ids):
    hits = Matcher([("suite", fp) for fp in isolated]).hits(copies)
    return sum(any(h.isolated_id == i for h in hs) for i, hs in zip(ids, hits))


@pytest.mark.slow
def test_humaneval_renamed_and_reformatted_copies_are_caught_and_other_items_are_not():
    he = _humaneval()
    isolated = [_he(p) for p in he]
    copies = [
        _he(
            p,
            prompt=_rename(p["prompt"], p["entry_point"], "solve_it"),
            entry="solve_it",
            tests=re.sub(r"\s*==\s*", "==", p["test"]),
        )
        for p in he
    ]
    assert _caught(isolated, copies, [p["task_id"] for p in he]) >= 0.98 * len(he)
    flagged, checked = _halves(isolated)
    assert flagged <= 0.03 * checked, f"{flagged}/{checked} different HumanEval problems flagged"


@pytest.mark.slow
def test_mbpp_renamed_functions_with_reworded_text_are_caught():
    mb = read_jsonl(suite_path("mbpp", "mbpp.jsonl"))
    isolated = [
        fingerprint(str(p["task_id"]), p["text"], {"test_list": p["test_list"]}) for p in mb
    ]
    copies = []
    for p in mb:
        name = re.search(r"\bdef\s+([A-Za-z_]\w*)", p["code"]).group(1)
        text = "Implement code that will " + re.sub(
            r"(?i)^write a (python )?function to ", "", p["text"]
        )
        copies.append(
            fingerprint(
                f"copy-{p['task_id']}",
                text,
                {"test_list": [_rename(t, name, "solution") for t in p["test_list"]]},
            )
        )
    assert _caught(isolated, copies, [str(p["task_id"]) for p in mb]) >= 0.95 * len(mb)
    # MBPP holds near-identical siblings (first vs last occurrence, set vs unset bits): a few are
    # flagged
    flagged, checked = _halves(isolated)
    assert flagged <= 0.07 * checked, (
        f"{flagged}/{checked} MBPP problems flagged against the other half"
    )


def _processbench(name: str) -> list[tuple[str, str, str]]:
    """``(id, problem, final answer)`` of the distinct problems whose recorded solution is right."""
    rows = json.loads(suite_path("processbench", f"{name}.json").read_text(encoding="utf-8"))
    out: dict[str, tuple[str, str, str]] = {}
    for row in rows:
        steps = row["steps"] if isinstance(row["steps"], list) else [row["steps"]]
        answer = _last_boxed("\n".join(steps))
        if row.get("final_answer_correct") and answer and row["problem"] not in out:
            out[row["problem"]] = (str(row["id"]), row["problem"], answer)
    return list(out.values())


def _last_boxed(text: str) -> str | None:
    start = text.rfind("\\boxed{")
    if start < 0:
        return None
    depth, end = 1, start + 7
    while end < len(text) and depth:
        depth += {"{": 1, "}": -1}.get(text[end], 0)
        end += 1
    return text[start + 7 : end - 1] if depth == 0 else None


def _question_first(problem: str) -> str:
    """A reordered statement: the question sentence moved to the front."""
    sentences = re.split(r"(?<=[.?!])\s+", problem.strip())
    return " ".join(sentences[-1:] + sentences[:-1]) if len(sentences) > 1 else problem


@pytest.mark.slow
@pytest.mark.parametrize("suite", ["gsm8k", "math"])
def test_word_problems_reordered_are_caught_and_different_problems_are_not(suite):
    problems = _processbench(suite)
    isolated = [fingerprint(i, text, {"answer": answer}) for i, text, answer in problems]
    copies = [
        fingerprint(f"copy-{i}", _question_first(text), {"answer": f"\\boxed{{{answer}}}"})
        for i, text, answer in problems
    ]
    caught = _caught(isolated, copies, [i for i, _, _ in problems])
    assert caught >= 0.9 * len(problems), (
        f"{caught}/{len(problems)} reordered {suite} problems caught"
    )
    flagged, checked = _halves(isolated)
    assert flagged <= max(1, 0.01 * checked), (
        f"{flagged}/{checked} different {suite} problems flagged"
    )

"""Quarantine check speed: 100k training tasks vs an isolation list of 10k, and a pairwise baseline
that applies the same rules to every (training, isolated) pair.

Run: ``.venv/bin/python tests/bench/bench_quarantine.py [--train 100000] [--isolated 10000]
[--subset 100]``. Writes ``tests/bench/results/quarantine.json``. Everything is measured in the same
run on the same tasks:

* ``IsolationList.check`` - normalised exact hashes + datasketch MinHash/LSH (candidates confirmed
  by exact Jaccard) + the structural checks, over all training tasks, including building the index;
* pairwise baseline - for ``--subset`` training tasks, every isolated task is compared with exact
  Jaccard and the same structural rules (no index); its time is extrapolated to the full training
  set, and its hits on the subset are the reference the LSH hits are scored against (recall, extra
  hits).

The tasks are generated (seed below): math word problems from templates with random names and
numbers, Python function tasks with tests, and JSON-schema tasks; 1% of the training tasks are
planted copies of isolated tasks (verbatim, re-cased, one word edited, renamed-people paraphrases,
re-quoted tests).
"""

from __future__ import annotations

import argparse
import json
import platform
import random
import sys
import tempfile
import time
from pathlib import Path

from envs.quarantine import IsolationList, Thresholds, fingerprint
from envs.quarantine.matching import (
    text_digest,
    answer_siblings,
    answer_texts,
    code_structural,
    jaccard,
    math_siblings,
    math_structural,
)
from envs.quarantine.normalise import shingles
from envs.tasks import load_tasks

RESULTS = Path(__file__).parent / "results" / "quarantine.json"
SEED = 20261205
NAMES = [
    "Ana",
    "Ben",
    "Chen",
    "Dara",
    "Eli",
    "Fatima",
    "Gus",
    "Hana",
    "Ivan",
    "Jon",
    "Kemal",
    "Lena",
    "Mia",
    "Noor",
    "Omar",
    "Pia",
    "Quinn",
    "Rosa",
    "Sven",
    "Tara",
    "Uma",
    "Vik",
    "Wen",
    "Xia",
    "Yusuf",
    "Zoe",
]
ITEMS = [
    "apples",
    "books",
    "coins",
    "stamps",
    "marbles",
    "pencils",
    "cards",
    "shells",
    "stickers",
    "tickets",
]
PLACES = ["market", "library", "school", "park", "museum", "station", "harbour", "garden"]
TEMPLATES = [
    (
        "{a} has {x} {item}. {b} gives {a} {y} more {item} at the {place}. How many {item} does "
        "{a} have now?",
        lambda x, y, z: x + y,
    ),
    (
        "At the {place}, {a} buys {x} boxes of {item} with {y} {item} in each box. How many {item} "
        "are there?",
        lambda x, y, z: x * y,
    ),
    (
        "{a} had {x} {item} and lost {y} of them near the {place}, then found {z}. How many {item} "
        "are left?",
        lambda x, y, z: x - y + z,
    ),
    (
        "{a} and {b} share {x} {item} equally with {y} friends at the {place}. How many does each "
        "of the {y} friends get, ignoring the remainder?",
        lambda x, y, z: x // y,
    ),
]
FUNCS = ["count", "scale", "shift", "reverse", "merge", "split", "pad", "trim", "rotate", "mask"]


def math_task(rng: random.Random, i: int) -> dict:
    template, answer = rng.choice(TEMPLATES)
    x, y, z = rng.randint(10, 999), rng.randint(2, 99), rng.randint(1, 50)
    a, b = rng.sample(NAMES, 2)
    prompt = template.format(
        a=a, b=b, x=x, y=y, z=z, item=rng.choice(ITEMS), place=rng.choice(PLACES)
    )
    return {"id": f"m{i}", "prompt": prompt, "reference": {"answer": str(answer(x, y, z))}}


def code_task(rng: random.Random, i: int) -> dict:
    name = f"{rng.choice(FUNCS)}_{rng.choice(ITEMS)}_{rng.randint(0, 999)}"
    k = rng.randint(2, 97)
    tests = "\n".join(f"assert {name}({v}) == {v * k + 1}" for v in rng.sample(range(-500, 500), 4))
    return {
        "id": f"c{i}",
        "prompt": f"Write a Python function `{name}(x)` returning x times {k} plus 1.",
        "reference": {"entry_point": name, "tests": tests},
    }


def json_task(rng: random.Random, i: int) -> dict:
    fields = rng.sample(["title", "room", "date", "owner", "size", "price", "colour", "tags"], 4)
    schema = {
        "type": "object",
        "properties": {f: {"type": rng.choice(["string", "integer"])} for f in fields},
        "required": fields[:2],
    }
    return {
        "id": f"j{i}",
        "prompt": f"Return the {rng.choice(ITEMS)} record from the {rng.choice(PLACES)} as JSON "
        f"with {', '.join(fields)}.",
        "reference": {"schema": schema},
    }


def make_task(rng: random.Random, i: int) -> dict:
    roll = rng.random()
    return (
        math_task(rng, i) if roll < 0.7 else code_task(rng, i) if roll < 0.9 else json_task(rng, i)
    )


def plant(rng: random.Random, source: dict, i: int) -> dict:
    """A contaminated copy of an isolated task: verbatim, re-cased, edited, renamed or re-quoted."""
    prompt, ref = source["prompt"], dict(source["reference"])
    kind = rng.choice(["verbatim", "recased", "edited", "renamed"])
    if kind == "recased":
        prompt = prompt.upper()
    elif kind == "edited":
        prompt = prompt.replace(" How many", " Tell me how many").replace(
            "Write a", "Please write a"
        )
    elif kind == "renamed":
        for old in NAMES:
            prompt = prompt.replace(old, rng.choice(NAMES))
        if "tests" in ref:
            ref["tests"] = ref["tests"].replace("assert ", "assert  ")
    return {"id": f"planted-{i}", "prompt": prompt, "reference": ref}


def make_sets(n_train: int, n_iso: int, rng: random.Random) -> tuple[list[dict], list[dict]]:
    isolated = [make_task(rng, i) for i in range(n_iso)]
    for row in isolated:
        row["id"] = "iso-" + row["id"]
    n_planted = n_train // 100
    train = [make_task(rng, 10 * n_iso + i) for i in range(n_train - n_planted)]
    train += [plant(rng, rng.choice(isolated), i) for i in range(n_planted)]
    rng.shuffle(train)
    return train, isolated


def pairwise(train_fps, iso_fps, t: Thresholds) -> set[tuple[str, str]]:
    """The baseline: every pair, the same rules (``envs.quarantine.matching``'s pair functions),
    exact Jaccard."""
    iso = [
        (
            fp,
            shingles(fp.prompt),
            [shingles(x) for x in answer_texts(fp, t)],
            {text_digest(fp.prompt)},
            {text_digest(x) for x in answer_texts(fp, t)},
        )
        for fp in iso_fps
    ]
    hits = set()
    for fp in train_fps:
        texts = answer_texts(fp, t)
        mine = (
            fp,
            shingles(fp.prompt),
            [shingles(x) for x in texts],
            {text_digest(fp.prompt)},
            {text_digest(x) for x in texts},
        )
        hits.update((fp.id, other[0].id) for other in iso if _pair_hits(mine, other, t))
    return hits


def _pair_hits(mine, other, t: Thresholds) -> bool:
    (fp, grams, answers, p_hash, a_hash), (o, o_grams, o_answers, o_p_hash, o_a_hash) = mine, other
    if p_hash & o_p_hash or a_hash & o_a_hash:
        return True
    if (
        fp.prompt
        and jaccard(grams, o_grams) >= t.prompt_jaccard
        and not math_siblings(fp, o, "numbers", t)
    ):
        return True
    if any(
        jaccard(a, b) >= t.answer_jaccard for a in answers for b in o_answers
    ) and not answer_siblings(fp, o, t):
        return True
    return math_structural(fp, o, t) is not None or code_structural(fp, o, t) is not None


def _by_rule(hits) -> dict[str, int]:
    """Hits counted by ``<task kind>/<side>/<method>``: unplanted hits are the generator's own
    collisions (a task drawn twice, a renamed template sibling with the same numbers and answer),
    the same problem again."""
    counts: dict[str, int] = {}
    for hit in hits:
        kind = {"m": "math", "c": "code", "j": "json"}.get(hit.task_id[0], "?")
        key = f"{kind}/{hit.side}/{hit.method}"
        counts[key] = counts.get(key, 0) + 1
    return dict(sorted(counts.items()))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--train", type=int, default=100_000)
    parser.add_argument("--isolated", type=int, default=10_000)
    parser.add_argument(
        "--subset", type=int, default=100, help="training tasks the pairwise baseline checks"
    )
    parser.add_argument("--out", default=str(RESULTS))
    args = parser.parse_args()
    rng = random.Random(SEED)
    train, isolated = make_sets(args.train, args.isolated, rng)
    with tempfile.TemporaryDirectory() as folder:
        iso = IsolationList(folder)
        t0 = time.perf_counter()
        iso.add(isolated, name="isolated")
        t_add = time.perf_counter() - t0
        tasks = load_tasks(train)
        t0 = time.perf_counter()
        report = iso.check(tasks)
        t_check = time.perf_counter() - t0
        t0 = time.perf_counter()
        iso.check(tasks)  # the index is built: the second check is the lookups alone
        t_lookup = time.perf_counter() - t0
    planted = {r["id"] for r in train if r["id"].startswith("planted-")}
    found = set(report.hit_ids)
    subset = [r for r in train if r["id"] in planted][: args.subset // 2] + [
        r for r in train if r["id"] not in planted
    ][: args.subset - args.subset // 2]
    sub_fps = [fingerprint(r["id"], r["prompt"], r["reference"]) for r in subset]
    iso_fps = [fingerprint(r["id"], r["prompt"], r["reference"]) for r in isolated]
    t0 = time.perf_counter()
    baseline = pairwise(sub_fps, iso_fps, Thresholds())
    t_pair = time.perf_counter() - t0
    sub_ids = {fp.id for fp in sub_fps}
    lsh_pairs = {(h.task_id, h.isolated_id) for h in report.hits if h.task_id in sub_ids}
    pair_s_full = t_pair / len(subset) * len(train)
    result = {
        "benchmark": "quarantine check",
        "seed": SEED,
        "python": platform.python_version(),
        "machine": f"{platform.machine()}, {__import__('os').cpu_count()} cpus",
        "train_tasks": len(train),
        "isolated_tasks": len(isolated),
        "planted": len(planted),
        "thresholds": vars(Thresholds()),
        "rlvr": {
            "add_s": round(t_add, 2),
            "check_s": round(t_check, 2),
            "lookup_only_s": round(t_lookup, 2),
            "tasks_per_s": round(len(train) / t_check),
            "hit_tasks": len(found),
            "planted_found": len(planted & found),
            "unplanted_hit": len(found - planted),
            "unplanted_hits_by_rule": _by_rule(h for h in report.hits if h.task_id not in planted),
        },
        "pairwise_baseline": {
            "subset": len(subset),
            "subset_s": round(t_pair, 2),
            "extrapolated_full_s": round(pair_s_full, 1),
            "subset_hit_pairs": len(baseline),
        },
        "speedup_vs_pairwise": round(pair_s_full / t_check, 1),
        "subset_agreement": {
            "pairs_both": len(baseline & lsh_pairs),
            "pairwise_only": len(baseline - lsh_pairs),
            "lsh_only": len(lsh_pairs - baseline),
            "recall": round(len(baseline & lsh_pairs) / len(baseline), 4) if baseline else None,
        },
        "under_one_minute": t_check < 60,
    }
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=2) + "\n")
    json.dump(result, sys.stdout, indent=2)
    print()


if __name__ == "__main__":
    main()

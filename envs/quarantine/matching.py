"""Matching training tasks against an isolation list: exact hashes, MinHash/LSH, structural checks.

Each isolated task is indexed once; each training task is then looked up, so a check costs one pass
over the training set (no pairwise loop). The rules, with the thresholds of :class:`Thresholds`:

=========  ==============  ==================================================================
side       method          a hit when
=========  ==============  ==================================================================
prompt     ``exact``       the normalised prompts are equal
prompt     ``minhash``     word-3-gram Jaccard of the prompts >= ``prompt_jaccard``, unless two math
                           tasks are siblings of a template: numeric answers of different value,
                           or numbers that disagree (Jaccard < ``numbers_jaccard``)
answer     ``exact``       equal normalised answer sides (code tests with the function names as
                           ``FN``, reference solutions) of at least ``min_answer_chars``
                           characters (short answers such as ``42`` never match alone)
answer     ``minhash``     word-3-gram Jaccard of long answer sides >= ``answer_jaccard``, unless
                           the tests expect different outputs (Jaccard of the ``==`` right-hand
                           sides < ``expected_jaccard``) or two math solutions are siblings
answer     ``structural``  math: equal final answers, numbers that agree (Jaccard >=
                           ``numbers_jaccard``; both empty agrees) and content words that overlap
                           (Jaccard >= ``words_jaccard``, or >= ``few_numbers_words_jaccard`` when
                           the statement has fewer than ``min_numbers`` distinct numbers): a
                           paraphrase with the same numbers and answer; code: a shared function
                           name and tests' literal values that agree (Jaccard >=
                           ``literals_jaccard``)
=========  ==============  ==================================================================

MinHash and LSH come from ``datasketch``; LSH candidates are confirmed with the exact Jaccard of the
shingle sets, so a reported similarity is never an estimate.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from dataclasses import dataclass, fields
from typing import Any, Iterable, Sequence

from ..errors import EnvConfigError
from .features import Fingerprint
from .normalise import answer_value, shingles
from .report import Hit

#: datasketch's (false positive, false negative) weights: missing a duplicate costs more than
#: confirming a candidate, so bands are tuned for recall (>= 0.99 at each threshold with the default
#: margin).
LSH_WEIGHTS = (0.1, 0.9)


@dataclass(frozen=True)
class Thresholds:
    """When two tasks count as the same problem (see the table in :mod:`envs.quarantine.matching`).

    >>> Thresholds().prompt_jaccard
    0.7
    """

    prompt_jaccard: float = 0.7
    """Word-3-gram Jaccard of two normalised prompts at or above which they are near-duplicates."""
    answer_jaccard: float = 0.8
    """The same for long answer sides (code tests, reference solutions)."""
    numbers_jaccard: float = 0.8
    """Math: Jaccard of the statements' numbers at or above which they agree."""
    words_jaccard: float = 0.2
    """Math: content-word Jaccard a structural match needs (a paraphrase keeps some of its
    nouns)."""
    few_numbers_words_jaccard: float = 0.4
    """Math: the content-word Jaccard needed instead when a statement has fewer than ``min_numbers``
    numbers."""
    min_numbers: int = 2
    """Math: distinct numbers below which the numbers say little (``2 + 2`` and ``2 * 2`` share
    theirs)."""
    literals_jaccard: float = 0.6
    """Code: Jaccard of the tests' literal values needed, together with a shared function name."""
    expected_jaccard: float = 0.5
    """Code: Jaccard of the tests' expected outputs below which similar tests check another
    function."""
    min_answer_chars: int = 20
    """Answer sides shorter than this match only through a structural check."""
    num_perm: int = 128
    """MinHash permutations."""
    lsh_margin: float = 0.1
    """LSH and the MinHash screen run this much below each threshold, so pairs near it are confirmed
    by the exact Jaccard, not missed (the estimate's standard deviation at 128 permutations is at
    most 0.045)."""

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if f.type == "int" and (
                isinstance(value, bool) or not isinstance(value, int) or value < 0
            ):
                raise EnvConfigError(f"Thresholds.{f.name} must be an int >= 0, got {value!r}")
            if f.type == "float" and (
                isinstance(value, bool)
                or not isinstance(value, (int, float))
                or not 0 <= value <= 1
            ):
                raise EnvConfigError(
                    f"Thresholds.{f.name} must be a number in [0, 1], got {value!r}"
                )
        if self.num_perm < 16:
            raise EnvConfigError(f"Thresholds.num_perm must be >= 16, got {self.num_perm!r}")


def jaccard(a: set | frozenset, b: set | frozenset) -> float:
    """|a & b| / |a | b| (0 for two empty sets)."""
    union = len(a | b)
    return len(a & b) / union if union else 0.0


class ShingleIndex:
    """Exact-hash and MinHash/LSH lookup over texts of the isolated tasks (several texts may share
    an owner).

    LSH gives candidates; their MinHash estimate (one vectorised comparison of signatures) screens
    out the clearly dissimilar ones, and the exact Jaccard of the shingle sets confirms the rest.
    """

    def __init__(
        self, texts: Sequence[tuple[int, str]], threshold: float, thresholds: Thresholds
    ) -> None:
        import numpy as np
        from datasketch import MinHashLSH

        self.threshold = threshold
        self.screen = threshold - thresholds.lsh_margin
        self.num_perm = thresholds.num_perm
        rows = [(owner, text) for owner, text in texts if text]
        self.owner = [owner for owner, _ in rows]
        self.sets = [shingles(text) for _, text in rows]
        self.exact: dict[str, list[int]] = defaultdict(list)
        for row, (_, text) in enumerate(rows):
            self.exact[text_digest(text)].append(row)
        minhashes = self._minhashes(self.sets)
        self.signatures = (
            np.vstack([m.hashvalues for m in minhashes])
            if minhashes
            else np.zeros((0, self.num_perm))
        )
        self.lsh = MinHashLSH(
            threshold=max(0.05, self.screen), num_perm=self.num_perm, weights=LSH_WEIGHTS
        )
        with self.lsh.insertion_session() as session:
            for row, minhash in enumerate(minhashes):
                session.insert(row, minhash, check_duplication=False)

    def lookup(self, texts: Sequence[str]) -> list[list[tuple[int, str, float]]]:
        """For each text, the matching owners as ``(owner, "exact" | "minhash", similarity)``."""
        found: list[list[tuple[int, str, float]]] = [[] for _ in texts]
        live = [(i, text, shingles(text)) for i, text in enumerate(texts) if text]
        for (i, text, grams), minhash in zip(live, self._minhashes([g for _, _, g in live])):
            exact = {self.owner[row] for row in self.exact.get(text_digest(text), ())}
            best: dict[int, float] = {}
            for row in self._screened(minhash):
                owner = self.owner[row]
                similarity = jaccard(grams, self.sets[row])
                if (
                    owner not in exact
                    and similarity >= self.threshold
                    and similarity > best.get(owner, 0.0)
                ):
                    best[owner] = similarity
            found[i] = [(owner, "exact", 1.0) for owner in sorted(exact)]
            found[i] += [(owner, "minhash", round(sim, 4)) for owner, sim in sorted(best.items())]
        return found

    def _screened(self, minhash: Any) -> list[int]:
        """LSH candidates whose MinHash estimate of the Jaccard similarity reaches the screening
        level."""
        candidates = list(self.lsh.query(minhash))
        if not candidates:
            return []
        estimates = (self.signatures[candidates] == minhash.hashvalues).mean(axis=1)
        return [
            row for row, estimate in zip(candidates, estimates.tolist()) if estimate >= self.screen
        ]

    def _minhashes(self, sets: Sequence[set[str]]) -> list[Any]:
        from datasketch import MinHash

        encoded = [[g.encode("utf-8", "surrogatepass") for g in grams] for grams in sets]
        return MinHash.bulk(encoded, num_perm=self.num_perm)


class Matcher:
    """Index of isolated tasks (``(set name, Fingerprint)`` pairs); :meth:`hits` looks training
    tasks up.

    >>> from envs.quarantine.features import fingerprint
    >>> question = "Tom has 3 apples and buys 5 more apples. How many apples does Tom have?"
    >>> iso = [("eval", fingerprint("e1", question, {"answer": "8"}))]
    >>> m = Matcher(iso)
    >>> reworded_question = "After buying 5 more apples, Tom, who had 3, owns how many apples?"
    >>> reworded = fingerprint("t1", reworded_question, {"answer": "8"})
    >>> [h.method for h in m.hits([reworded])[0]]
    ['structural']
    """

    def __init__(
        self, isolated: Sequence[tuple[str, Fingerprint]], thresholds: Thresholds | None = None
    ) -> None:
        self.thresholds = t = thresholds or Thresholds()
        self.isolated = list(isolated)
        fps = [fp for _, fp in self.isolated]
        self.prompts = ShingleIndex(
            [(k, fp.prompt) for k, fp in enumerate(fps)], t.prompt_jaccard, t
        )
        long_sides = [(k, text) for k, fp in enumerate(fps) for text in answer_texts(fp, t)]
        self.answers = ShingleIndex(long_sides, t.answer_jaccard, t)
        self.by_answer: dict[str, list[int]] = defaultdict(list)
        self.by_name: dict[str, list[int]] = defaultdict(list)
        for k, fp in enumerate(fps):
            if fp.kind == "math":
                self.by_answer[fp.answer].append(k)
            for name in fp.names:
                self.by_name[name].append(k)

    def hits(self, tasks: Sequence[Fingerprint]) -> list[list[Hit]]:
        """For each training task, its hits (empty when it is clean): the strongest per isolated
        item and side."""
        prompt_found = self.prompts.lookup([fp.prompt for fp in tasks])
        sides = [answer_texts(fp, self.thresholds) for fp in tasks]
        flat_found = iter(self.answers.lookup([text for texts in sides for text in texts]))
        out = []
        for fp, p_found, texts in zip(tasks, prompt_found, sides):
            candidates = [
                self._hit(fp, k, "prompt", m, s)
                for k, m, s in p_found
                if m == "exact" or not self._math_siblings(fp, k, "numbers")
            ]
            for _ in texts:
                candidates += [
                    self._hit(fp, k, "answer", m, s)
                    for k, m, s in next(flat_found)
                    if m == "exact" or not self._answer_siblings(fp, k)
                ]
            candidates += self._math_structural(fp) + self._code_structural(fp)
            out.append(_strongest_per_item_and_side(candidates))
        return out

    def _math_siblings(self, fp: Fingerprint, k: int, numbers: str) -> bool:
        return math_siblings(fp, self.isolated[k][1], numbers, self.thresholds)

    def _answer_siblings(self, fp: Fingerprint, k: int) -> bool:
        return answer_siblings(fp, self.isolated[k][1], self.thresholds)

    def _math_structural(self, fp: Fingerprint) -> list[Hit]:
        if fp.kind != "math":
            return []
        same_answer = self.by_answer.get(fp.answer, ())
        found = (
            (k, math_structural(fp, self.isolated[k][1], self.thresholds)) for k in same_answer
        )
        return [
            self._hit(
                fp,
                k,
                "answer",
                "structural",
                sim,
                f"same answer {fp.answer!r}, numbers {sorted(fp.numbers)[:8]} and wording",
            )
            for k, sim in found
            if sim is not None
        ]

    def _code_structural(self, fp: Fingerprint) -> list[Hit]:
        if fp.kind != "code" or not fp.literals:
            return []
        hits = []
        for k in sorted({k for name in fp.names for k in self.by_name.get(name, ())}):
            other = self.isolated[k][1]
            similarity = code_structural(fp, other, self.thresholds)
            if similarity is not None:
                shared = ", ".join(sorted(fp.names & other.names))
                hits.append(
                    self._hit(
                        fp,
                        k,
                        "answer",
                        "structural",
                        similarity,
                        f"function {shared} with the same test values",
                    )
                )
        return hits

    def _hit(
        self, fp: Fingerprint, k: int, side: str, method: str, similarity: float, detail: str = ""
    ) -> Hit:
        set_name, other = self.isolated[k]
        return Hit(
            task_id=fp.id,
            isolated_set=set_name,
            isolated_id=other.id,
            side=side,
            method=method,
            similarity=round(float(similarity), 4),
            detail=detail,
        )


# -- the rules, pair by pair (the index only chooses which pairs to test) --------------------------
def math_siblings(fp: Fingerprint, other: Fingerprint, numbers: str, t: Thresholds) -> bool:
    """Two math texts alike in words but with answers of different value, or numbers that disagree,
    are siblings of a template (``x^2 + 7x - 18 = 0`` and ``x^2 + 9x - 22 = 0``), not the same
    problem."""
    if fp.kind != "math" or other.kind != "math":
        return False
    mine, theirs = answer_value(fp.answer), answer_value(other.answer)
    if mine is not None and theirs is not None and mine != theirs:
        return True
    a, b = getattr(fp, numbers), getattr(other, numbers)
    return bool(a and b) and jaccard(a, b) < t.numbers_jaccard


def answer_siblings(fp: Fingerprint, other: Fingerprint, t: Thresholds) -> bool:
    """Similar tests that expect different outputs check different functions (``is_even`` /
    ``is_odd``)."""
    if fp.kind == "code" and other.kind == "code" and fp.expected and other.expected:
        return jaccard(fp.expected, other.expected) < t.expected_jaccard
    return math_siblings(fp, other, "solution_numbers", t)


def math_structural(fp: Fingerprint, other: Fingerprint, t: Thresholds) -> float | None:
    """The numbers' Jaccard when two math tasks are one problem reworded (same answer, numbers, some
    words)."""
    if fp.kind != "math" or other.kind != "math" or not fp.answer or fp.answer != other.answer:
        return None
    needed = t.words_jaccard if len(fp.numbers) >= t.min_numbers else t.few_numbers_words_jaccard
    numbers = 1.0 if not (fp.numbers or other.numbers) else jaccard(fp.numbers, other.numbers)
    return (
        numbers
        if numbers >= t.numbers_jaccard and jaccard(fp.words, other.words) >= needed
        else None
    )


def code_structural(fp: Fingerprint, other: Fingerprint, t: Thresholds) -> float | None:
    """The literals' Jaccard when two code tasks share a function name and their tests' values."""
    if fp.kind != "code" or other.kind != "code" or not fp.literals or not fp.names & other.names:
        return None
    similarity = jaccard(fp.literals, other.literals)
    return similarity if similarity >= t.literals_jaccard else None


def answer_texts(fp: Fingerprint, t: Thresholds) -> list[str]:
    """The answer-side texts long enough to match on their own: a code task's tests, any reference
    solution.

    A math answer is short (it matches through the structural check); the reference of other kinds
    (a JSON schema, an XSD, a tool environment) is checking material that many different tasks
    share."""
    texts = [fp.answer] if fp.kind == "code" else []
    texts.append(fp.solution)
    return [text for text in dict.fromkeys(texts) if len(text) >= t.min_answer_chars]


_RANK = {"exact": 0, "structural": 1, "minhash": 2}


def _strongest_per_item_and_side(hits: Iterable[Hit]) -> list[Hit]:
    best: dict[tuple[str, str, str], Hit] = {}
    for hit in sorted(hits, key=lambda h: (_RANK[h.method], -h.similarity, h.side != "prompt")):
        best.setdefault((hit.isolated_set, hit.isolated_id, hit.side), hit)
    return list(best.values())


def text_digest(text: str) -> str:
    """The exact-match key of a normalised text."""
    return hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=16).hexdigest()

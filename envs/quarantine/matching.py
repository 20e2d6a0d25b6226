"""Matching training tasks against an isolation list: exact hashes, MinHash/LSH, structural checks.

Each isolated task is indexed once; each training task is then looked up, so a check costs one pass
over the training set (no pairwise loop). The rules, with the thresholds of :class:`Thresholds`:

=========  ==============  ==================================================================
side       method          a hit when
=========  ==============  ==================================================================
prompt     ``exact``       the normalised prompts are equal
prompt     ``minhash``     word-3-gram Jaccard of the prompts >= ``prompt_jaccard`` (for two math
                           tasks, their final answers must be equal and their numbers agree, Jaccard
                           >= ``numbers_jaccard``: a template's siblings are other problems)
answer     ``exact``       equal normalised answer sides (code tests, reference solutions) of at
                           least ``min_answer_chars`` characters (short answers such as ``42``
                           are shared by unrelated problems, so they never match alone)
answer     ``minhash``     word-3-gram Jaccard of long answer sides >= ``answer_jaccard`` (math
                           solutions: with the same answer and agreeing numbers, as above)
answer     ``structural``  math: equal final answers and Jaccard of the statements' numbers >=
                           ``numbers_jaccard``, given ``min_numbers`` distinct numbers and, below
                           three, content-word Jaccard >= ``words_jaccard`` (a paraphrase with the
                           same numbers and answer);
                           code: a shared function name and Jaccard of the tests' literals >=
                           ``literals_jaccard``
=========  ==============  ==================================================================

MinHash and LSH come from ``datasketch``; LSH candidates are confirmed with the exact Jaccard of the
shingle sets, so a reported similarity is never an estimate.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from dataclasses import dataclass
from typing import Any, Iterable, Sequence

from ..errors import EnvConfigError
from .fingerprint import Fingerprint, shingles
from .report import Hit


@dataclass(frozen=True)
class Thresholds:
    """When two tasks count as the same problem (see the table in :mod:`envs.quarantine.matching`).

    >>> Thresholds().prompt_jaccard
    0.7
    """

    prompt_jaccard: float = 0.7
    """Word-3-gram Jaccard of two normalised prompts at or above which they are near-duplicates."""
    answer_jaccard: float = 0.8
    """The same for long answer sides (tests, reference solutions, JSON references)."""
    numbers_jaccard: float = 0.8
    """Math: Jaccard of the statements' numbers needed, together with an equal answer."""
    literals_jaccard: float = 0.6
    """Code: Jaccard of the tests' literal values needed, together with a shared function name."""
    min_numbers: int = 2
    """Math: distinct numbers a statement needs for the structural check (``2 + 2`` and ``2 * 2`` share
    their one number and their answer, yet are different problems)."""
    words_jaccard: float = 0.2
    """Math: with fewer than three distinct numbers, the statements must also share this Jaccard of
    content words (``sum 18, difference 6: the larger?`` and ``18 - 6`` share numbers and answer only)."""
    min_answer_chars: int = 20
    """Answer sides shorter than this match only through a structural check."""
    num_perm: int = 128
    """MinHash permutations."""
    lsh_margin: float = 0.1
    """LSH and the MinHash screen run this much below each threshold, so pairs near it are confirmed by the exact
    Jaccard, not missed (the estimate's standard deviation at 128 permutations is at most 0.045)."""

    def __post_init__(self) -> None:
        for name in ("prompt_jaccard", "answer_jaccard", "numbers_jaccard", "literals_jaccard", "words_jaccard"):
            value = getattr(self, name)
            if not (isinstance(value, (int, float)) and 0 < value <= 1):
                raise EnvConfigError(f"Thresholds.{name} must be in (0, 1], got {value!r}")
        if not (isinstance(self.num_perm, int) and self.num_perm >= 16):
            raise EnvConfigError(f"Thresholds.num_perm must be an int >= 16, got {self.num_perm!r}")


def jaccard(a: set | frozenset, b: set | frozenset) -> float:
    """|a & b| / |a | b| (0 for two empty sets)."""
    union = len(a | b)
    return len(a & b) / union if union else 0.0


#: datasketch's (false positive, false negative) weights: missing a duplicate costs more than confirming a
#: candidate, so bands are tuned for recall (>= 0.99 at each threshold with the default margin).
LSH_WEIGHTS = (0.1, 0.9)


class ShingleIndex:
    """Exact-hash and MinHash/LSH lookup over texts of the isolated tasks (several texts may share an owner).

    LSH gives candidates; their MinHash estimate (one vectorised comparison of signatures) screens out the
    clearly dissimilar ones, and the exact Jaccard of the shingle sets confirms the rest.
    """

    def __init__(self, texts: Sequence[tuple[int, str]], threshold: float, thresholds: Thresholds) -> None:
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
            self.exact[_digest(text)].append(row)
        minhashes = self._minhashes(self.sets)
        self.signatures = np.vstack([m.hashvalues for m in minhashes]) if minhashes else np.zeros((0, self.num_perm))
        self.lsh = MinHashLSH(threshold=max(0.05, self.screen), num_perm=self.num_perm, weights=LSH_WEIGHTS)
        with self.lsh.insertion_session() as session:
            for row, minhash in enumerate(minhashes):
                session.insert(row, minhash, check_duplication=False)

    def lookup(self, texts: Sequence[str]) -> list[list[tuple[int, str, float]]]:
        """For each text, the matching owners as ``(owner, "exact" | "minhash", similarity)``."""
        found: list[list[tuple[int, str, float]]] = [[] for _ in texts]
        live = [(i, text, shingles(text)) for i, text in enumerate(texts) if text]
        for (i, text, grams), minhash in zip(live, self._minhashes([g for _, _, g in live])):
            exact = {self.owner[row] for row in self.exact.get(_digest(text), ())}
            best: dict[int, float] = {}
            for row in self._screened(minhash):
                owner = self.owner[row]
                similarity = jaccard(grams, self.sets[row])
                if owner not in exact and similarity >= self.threshold and similarity > best.get(owner, 0.0):
                    best[owner] = similarity
            found[i] = [(owner, "exact", 1.0) for owner in sorted(exact)]
            found[i] += [(owner, "minhash", round(sim, 4)) for owner, sim in sorted(best.items())]
        return found

    def _screened(self, minhash: Any) -> list[int]:
        """LSH candidates whose MinHash estimate of the Jaccard similarity reaches the screening level."""
        candidates = list(self.lsh.query(minhash))
        if not candidates:
            return []
        estimates = (self.signatures[candidates] == minhash.hashvalues).mean(axis=1)
        return [row for row, estimate in zip(candidates, estimates.tolist()) if estimate >= self.screen]

    def _minhashes(self, sets: Sequence[set[str]]) -> list[Any]:
        from datasketch import MinHash

        return MinHash.bulk([[g.encode("utf-8") for g in grams] for grams in sets], num_perm=self.num_perm)


class Matcher:
    """Index of isolated tasks (``(set name, Fingerprint)`` pairs); :meth:`hits` looks training tasks up.

    >>> from envs.quarantine.fingerprint import fingerprint
    >>> iso = [("eval", fingerprint("e1", "Tom has 3 apples and buys 5 more apples. How many apples does Tom have?",
    ...                             {"answer": "8"}))]
    >>> m = Matcher(iso)
    >>> [h.method for h in m.hits([fingerprint("t1", "After buying 5 more apples, Tom, who had 3, owns how many apples?",
    ...                                          {"answer": "8"})])[0]]
    ['structural']
    """

    def __init__(self, isolated: Sequence[tuple[str, Fingerprint]], thresholds: Thresholds | None = None) -> None:
        self.thresholds = thresholds or Thresholds()
        self.isolated = list(isolated)
        fps = [fp for _, fp in self.isolated]
        t = self.thresholds
        self.prompts = ShingleIndex([(k, fp.prompt) for k, fp in enumerate(fps)], t.prompt_jaccard, t)
        long_sides = [(k, text) for k, fp in enumerate(fps) for text in _answer_texts(fp, t)]
        self.answers = ShingleIndex(long_sides, t.answer_jaccard, t)
        self.by_answer: dict[str, list[int]] = defaultdict(list)
        self.by_name: dict[str, list[int]] = defaultdict(list)
        for k, fp in enumerate(fps):
            if fp.kind == "math" and fp.answer:
                self.by_answer[fp.answer].append(k)
            for name in fp.names:
                self.by_name[name].append(k)

    def hits(self, tasks: Sequence[Fingerprint]) -> list[list[Hit]]:
        """For each training task, its hits (empty when it is clean): the strongest per isolated item and side."""
        prompt_found = self.prompts.lookup([fp.prompt for fp in tasks])
        answer_texts = [_answer_texts(fp, self.thresholds) for fp in tasks]
        flat = [text for texts in answer_texts for text in texts]
        flat_found = iter(self.answers.lookup(flat))
        out = []
        for fp, p_found, texts in zip(tasks, prompt_found, answer_texts):
            candidates = [self._hit(fp, k, "prompt", m, s) for k, m, s in p_found
                          if m == "exact" or not self._math_siblings(fp, k, "numbers")]
            for _ in texts:
                candidates += [self._hit(fp, k, "answer", m, s) for k, m, s in next(flat_found)
                               if m == "exact" or not self._math_siblings(fp, k, "solution_numbers")]
            candidates += self._structural(fp)
            out.append(_strongest_per_item(candidates))
        return out

    def _math_siblings(self, fp: Fingerprint, k: int, numbers: str) -> bool:
        """Two math texts alike in words but not in numbers or final answer are siblings of a template
        (``x^2 + 7x - 18 = 0`` and ``x^2 + 9x - 22 = 0``), not the same problem."""
        other = self.isolated[k][1]
        if fp.kind != "math" or other.kind != "math":
            return False
        mine, theirs = getattr(fp, numbers), getattr(other, numbers)
        return fp.answer != other.answer or jaccard(mine, theirs) < self.thresholds.numbers_jaccard

    def _structural(self, fp: Fingerprint) -> list[Hit]:
        t = self.thresholds
        hits = []
        if fp.kind == "math" and len(fp.numbers) >= t.min_numbers:
            for k in self.by_answer.get(fp.answer, ()):
                other = self.isolated[k][1]
                similarity = jaccard(fp.numbers, other.numbers)
                worded = len(fp.numbers) >= 3 or jaccard(fp.words, other.words) >= t.words_jaccard
                if similarity >= t.numbers_jaccard and worded:
                    hits.append(self._hit(fp, k, "answer", "structural", similarity,
                                          f"same answer {fp.answer!r} and numbers {sorted(fp.numbers)[:8]}"))
        if fp.kind == "code" and fp.literals:
            for k in sorted({k for name in fp.names for k in self.by_name.get(name, ())}):
                other = self.isolated[k][1]
                similarity = jaccard(fp.literals, other.literals)
                if other.kind == "code" and similarity >= t.literals_jaccard:
                    shared = sorted(fp.names & other.names)
                    hits.append(self._hit(fp, k, "answer", "structural", similarity,
                                          f"function {', '.join(shared)} with the same test values"))
        return hits

    def _hit(self, fp: Fingerprint, k: int, side: str, method: str, similarity: float, detail: str = "") -> Hit:
        set_name, other = self.isolated[k]
        return Hit(task_id=fp.id, isolated_set=set_name, isolated_id=other.id, side=side, method=method,
                   similarity=round(float(similarity), 4), detail=detail)


def _answer_texts(fp: Fingerprint, t: Thresholds) -> list[str]:
    """The answer-side texts long enough to match on their own: a code task's tests, any reference solution.

    A math answer is short (it matches through the structural check); the reference of other kinds (a JSON
    schema, an XSD, a tool environment) is checking material that many different tasks share."""
    texts = [fp.answer] if fp.kind == "code" else []
    texts.append(fp.solution)
    return [text for text in dict.fromkeys(texts) if len(text) >= t.min_answer_chars]


_RANK = {"exact": 0, "structural": 1, "minhash": 2}


def _strongest_per_item(hits: Iterable[Hit]) -> list[Hit]:
    best: dict[tuple[str, str, str], Hit] = {}
    for hit in sorted(hits, key=lambda h: (_RANK[h.method], -h.similarity, h.side != "prompt")):
        best.setdefault((hit.isolated_set, hit.isolated_id, hit.side), hit)
    return list(best.values())


def _digest(text: str) -> str:
    return hashlib.blake2b(text.encode("utf-8"), digest_size=16).hexdigest()

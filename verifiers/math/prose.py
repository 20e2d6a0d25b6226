"""Answers stated in prose (``math@2``): "The largest $n$ is 34." -> ``34``.

Models often state the final answer in a sentence, after "Final Answer:", inside a box
(``\\boxed{She pays \\$5.50}``) or with no marker at all. Read as math, such a sentence is a
product of letters; read by its last number, "she reads 45 pages in total over 3 days" gives 3.
:func:`sentence_answer` reads a sentence the way a person does:

1. math spans (``$...$``, ``\\(...\\)``) are kept whole, so ``$n$`` in "the largest $n$ is 34" is
   a word of the sentence, not the answer;
2. when the sentence says what something *is* ("is", "are", "was", "equals", "=", "be"), the
   answer is the first number or math span after the last such verb;
3. otherwise it is the last number or math span that is not the object of a preposition
   ("over 3 days", "after 2 hours", "for 5 people" describe the question, not the answer).

A sentence with no number and no math span has no answer here (``None``), so the caller keeps
the text as it is (``\\boxed{No solution}`` stays text). :func:`final_sentence` picks the
sentence of a response that a final answer without any marker can come from: the last sentence
with a number or math span in the response's last paragraph, never an earlier paragraph.

>>> sentence_answer("The largest $n$ is 34.")
'34'
>>> sentence_answer("so she reads 45 pages in total over 3 days.")
'45'
>>> sentence_answer("She pays \\\\$5.50")
'\\\\$5.50'
>>> sentence_answer("No solution") is None
True
"""

from __future__ import annotations

import re

_SPAN = re.compile(r"(?<!\\)\$\$(.+?)(?<!\\)\$\$|(?<!\\)\$([^$\n]+?)(?<!\\)\$|\\\((.+?)\\\)|\\\[(.+?)\\\]", re.S)
_WORD = re.compile(r"(?<![\\A-Za-z])[A-Za-z]{2,}(?![A-Za-z])")
_COPULA = re.compile(r"\b(?:is|are|was|were|equals?|be|becomes?|gives|yields)\b|(?<![<>!\\])=", re.I)
_PREPOSITION = re.compile(r"\b(?:over|in|for|after|within|per|each|of|from|than|on|at|during|every|about|"
                          r"around|across|between|among|under|into|with|before|since|until)\s+$", re.I)
_NUMBER = re.compile(r"(?:\\\$|\$|\\)?[-+]?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+|/\d+)?(?:\s*(?:\\%|%|\\text\{[^{}]*\}|"
                     r"\^\{?\\circ\}?))?|(?:\\\$|\$)?[-+]?\.\d+")
_JOINER = re.compile(r"^[\s,.]*(?:(?:and|or)\b)?[\s,]*$", re.I)
_TOKEN = re.compile("\x01(\\d+)\x02")
_SENTENCE_END = re.compile(r"(?<=[.!?])(?:\s+|$)(?=[A-Z\x01\"'(\[]|$)")
_SHORT_WORDS = frozenset("is of to in be we so it at on by as if an no he me my us am do go".split())
_COMMAND_ARGUMENT = re.compile(r"\\(?:text|mbox|textbf)\s*\{[^{}]*\}|\\[A-Za-z]+\s*\{[A-Za-z*]*\}")
_NOT_PROSE = frozenset("text mbox mathrm mathbf frac dfrac sqrt cdot times pi infty left right quad and or".split())


def is_prose(text: str) -> bool:
    """True when ``text`` holds at least two plain English words outside math spans and ``\\text{}``."""
    plain = _COMMAND_ARGUMENT.sub(" ", _SPAN.sub(" ", text))
    words = [w for w in _WORD.findall(plain) if _is_word(w)]
    return len(words) >= 2


def _is_word(token: str) -> bool:
    """An English word, not a name (``AB``), a product of variables (``xy``) or a LaTeX word."""
    lower = token.lower()
    if lower in _NOT_PROSE or token.isupper():
        return False
    return len(token) >= 3 or lower in _SHORT_WORDS


def sentence_answer(sentence: str) -> str | None:
    """The answer a sentence states (a number or a math span), else ``None``."""
    masked, spans = _mask(sentence.strip())
    copula = None
    for copula in _COPULA.finditer(masked):
        pass
    if copula is not None:
        found = _first_answer(masked[copula.end():], spans)
        if found is not None:
            return found
    return _last_free_answer(masked, spans)


def final_sentence(text: str) -> str | None:
    """The last sentence with a number or math span in the last paragraph of ``text``, else ``None``."""
    paragraphs = [p for p in re.split(r"\n\s*\n", text.strip()) if p.strip()]
    if not paragraphs:
        return None
    masked, spans = _mask(paragraphs[-1])
    for sentence in reversed(_SENTENCE_END.split(masked)):
        if _TOKEN.search(sentence) or _NUMBER.search(sentence):
            return _unmask(sentence, spans).strip()
    return None


def _mask(text: str) -> tuple[str, list[str]]:
    """Replace each math span by ``\\x01N\\x02`` so words and numbers inside it are not read as prose."""
    spans: list[str] = []

    def keep(match: re.Match) -> str:
        content = next(g for g in match.groups() if g is not None).strip()
        end = "." if content.endswith(".") else ""  # "$$x = 2.$$ Therefore" ends a sentence
        spans.append(content[:-1] if end else content)
        return f"\x01{len(spans) - 1}\x02{end}"

    return _SPAN.sub(keep, text), spans


def _unmask(text: str, spans: list[str]) -> str:
    return _TOKEN.sub(lambda m: "$" + spans[int(m.group(1))] + "$", text)


def _candidates(masked: str, spans: list[str]) -> list[tuple[int, str]]:
    """(position, answer) of every math span and every number outside spans, in order."""
    found = [(m.start(), spans[int(m.group(1))].strip()) for m in _TOKEN.finditer(masked)]
    outside = _TOKEN.sub(lambda m: "\x03" * len(m.group(0)), masked)
    found += [(m.start(), m.group(0).strip()) for m in _NUMBER.finditer(outside) if "\x03" not in m.group(0)]
    return sorted((pos, text) for pos, text in found if text)


def _first_answer(masked: str, spans: list[str]) -> str | None:
    """The first candidate, with the candidates joined to it by "and", "or" or commas ("-1, 0, and 1")."""
    found = _candidates(masked, spans)
    if not found:
        return None
    outside = _TOKEN.sub(lambda m: "\x03" * len(m.group(0)), masked)
    run = [found[0]]
    for pos, text in found[1:]:
        previous = run[-1][0] + _length_at(masked, run[-1][0])
        if not _JOINER.match(outside[previous:pos]):
            break
        run.append((pos, text))
    return ", ".join(text.rstrip(", ").strip() for _, text in run)


def _length_at(masked: str, pos: int) -> int:
    token = _TOKEN.match(masked, pos)
    if token is not None:
        return len(token.group(0))
    number = _NUMBER.match(masked, pos)
    return len(number.group(0)) if number is not None else 1


def _last_free_answer(masked: str, spans: list[str]) -> str | None:
    """The last candidate that is not the object of a preposition (the last one if all are)."""
    found = _candidates(masked, spans)
    free = [text for pos, text in found if not _PREPOSITION.search(masked[max(0, pos - 20):pos])]
    if free:
        return free[-1]
    return found[-1][1] if found else None

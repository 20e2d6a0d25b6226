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
the text as it is (``\\boxed{No solution}`` stays text). :func:`leading_answer` reads the text
after a marker that starts with its answer ("Answer: 21, using all 10 cards" -> 21).
:func:`final_sentence` picks the sentence of a response that a final answer without any marker
can come from: the last sentence with a number or math span in the last paragraph, and only when
the response concludes: never when it is cut off mid-sentence ("..., which is"), when its last
sentence only announces work ("Now we need to evaluate ..."), or from an earlier paragraph.

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

_DELIMITER = re.compile(r"(?<!\\)\$\$|(?<!\\)\$|\\\(|\\\)|\\\[|\\\]|\n")
_CLOSER = {"$$": "$$", "$": "$", "\\(": "\\)", "\\[": "\\]"}
_INLINE = ("$", "\\(")  # inline math never spans a line break
_WORD = re.compile(r"(?<![\\A-Za-z])[A-Za-z]{2,}(?![A-Za-z])")
_COPULA = re.compile(
    r"\b(?:is|are|was|were|equals?|be|becomes?|gives|yields)\b|(?<![<>!\\])=", re.I
)
_PREPOSITION = re.compile(
    r"\b(?:over|in|for|after|within|per|each|of|from|than|on|at|during|every|about|"
    r"around|across|between|among|under|into|with|before|since|until)\s+$",
    re.I,
)
_CANDIDATE = re.compile(
    # a choice "(C)", with the value it names
    r"\(\s*[A-HJ]\s*\)(?:\s*[-+]?\d+(?:\.\d+)?(?![\d.]))?"
    r"|\d{1,2}\s*:\s*\d{1,2}(?![\d:])"  # a ratio or a clock time "3 : 2", "12:30"
    r"|(?:\\\$|\$|\\)?[-+]?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+|/\d+)?(?:\s*(?:\\%|%|"
    r"\\text\{[^{}]*\}|"
    r"\^\{?\\circ\}?))?|(?:\\\$|\$)?[-+]?\.\d+"
    r"|\b[A-HJ]\b(?=[.)*\s]*$)"
)  # a choice letter ending the sentence ("The correct choice is B.")
_JOINER = re.compile(r"^[\s,.*]*(?:(?:and|or)\b)?[\s,*]*$", re.I)
_FENCED = re.compile(r"```.*?(?:```|$)", re.S)  # code is not a conclusion
_TOKEN = re.compile("\x01(\\d+)\x02")
_SENTENCE_END = re.compile(r"(?<=[.!?])(?:\s+|$)(?=[A-Z\x01\"'(\[*]|$)|(?<=\x02)\s+(?=[A-Z][a-z])")
_SHORT_WORDS = frozenset(
    "is of to in be we so it at on by as if an no he me my us am do go".split()
)
_COMMAND_ARGUMENT = re.compile(r"\\(?:text|mbox|textbf)\s*\{[^{}]*\}|\\[A-Za-z]+\s*\{[A-Za-z*]*\}")
_NOT_PROSE = frozenset(
    "text mbox mathrm mathbf frac dfrac sqrt cdot times pi infty left right quad and or".split()
)
_CLOSING = re.compile(
    r"\b(?:hope|helps?|questions?|let me know|feel free|glad|happy to|correct\W*$)", re.I
)
_PLAN = re.compile(
    r"^\s*#+\s|^\W*(?:(?:now|next|then|first|so)\W+)?(?:(?:we|i)\s+(?:need|have|want|will|must|"
    r"should|"
    r"are\s+asked|can\s+now)\b|let'?s\b|let\s+us\b|to\s+(?:find|solve|compute|get)\b)",
    re.I,
)
_CUT_OFF = re.compile(
    r"(?:[-=+(,\\^_{/]|\b(?:is|are|was|were|the|a|an|of|to|for|and|or|so|which|that|with|by|as|"
    r"than|then|we|first|our|its|their|be|gives|get|find|compute|solve|into|from|at|in|on|"
    r"because|since|but|if|"
    r"when|while|where))\s*$",
    re.I,
)


def is_prose(text: str) -> bool:
    """True when ``text`` holds at least two plain English words outside math spans and
    ``\\text{}``."""
    plain = _COMMAND_ARGUMENT.sub(" ", _mask(text)[0].replace("\x01", " ").replace("\x02", " "))
    words = [w for w in _WORD.findall(plain) if _is_word(w)]
    return len(words) >= 2


def _is_word(token: str) -> bool:
    """An English word, not a name (``AB``), a product of variables (``xy``) or a LaTeX word."""
    lower = token.lower()
    if lower in _NOT_PROSE or token.isupper():
        return False
    return len(token) >= 3 or lower in _SHORT_WORDS


def sentence_answer(sentence: str) -> str | None:
    """The answer a sentence states (a number, a choice or a math span), else ``None``."""
    masked, spans = _mask(sentence.strip())
    copula = None
    for copula in _COPULA.finditer(masked):
        pass
    if copula is not None:
        found = _joined_run(_candidates(masked[copula.end() :], spans), masked[copula.end() :])
        if found is not None:
            return found
    return _last_free_answer(masked, spans)


def leading_answer(text: str) -> str | None:
    """The answer a text starts with ("21, using all 10 cards" -> ``21``), else ``None``."""
    masked, spans = _mask(text.strip())
    found = _candidates(masked, spans)
    if not found or masked[: found[0][0]].strip(" *_\"'"):
        return None
    return _joined_run(found, masked)


def final_sentence(text: str) -> str | None:
    """The concluding sentence of ``text`` (see the module docstring), else ``None``."""
    paragraphs = [p for p in re.split(r"\n\s*\n", _FENCED.sub("\n\n", text).strip()) if p.strip()]
    if not paragraphs:
        return None
    masked, spans = _mask(paragraphs[-1])
    sentences = [s for line in masked.split("\n") for s in _SENTENCE_END.split(line) if s.strip()]
    while sentences and _CLOSING.search(sentences[-1]) and not _candidates(sentences[-1], spans):
        sentences.pop()  # "I hope it is correct." / "Let me know if you have questions!"
    if not sentences or _CUT_OFF.search(sentences[-1]) or _PLAN.search(sentences[-1]):
        return None  # cut off mid-sentence, or announcing work still to do
    # "... is $0$. This means no inefficiency." -> the first one
    for sentence in reversed(sentences):
        if _candidates(sentence, spans):
            return _unmask(sentence, spans).strip()
    return None


def _mask(text: str) -> tuple[str, list[str]]:
    """Replace each math span by ``\x01N\x02`` so words and numbers inside it are not read as prose.

    One pass over the delimiters (linear time on any input): an opening ``$``, ``$$``, ``\\(`` or
    ``\\[`` pairs with the next matching closer; inline math does not cross a line break.
    """
    spans: list[str] = []
    out, last, opened = [], 0, None
    for match in _DELIMITER.finditer(text):
        token = match.group(0)
        if opened is None:
            if token in _CLOSER:
                opened = (token, match.start(), match.end())
            continue
        if token == "\n" and opened[0] in _INLINE:
            opened = None
        elif token == _CLOSER[opened[0]]:
            content = text[opened[2] : match.start()].strip()
            end = "." if content.endswith(".") else ""  # "$$x = 2.$$ Therefore" ends a sentence
            spans.append(content[:-1] if end else content)
            out.append(text[last : opened[1]] + f"\x01{len(spans) - 1}\x02{end}")
            last, opened = match.end(), None
    out.append(text[last:])
    return "".join(out), spans


def _unmask(text: str, spans: list[str]) -> str:
    return _TOKEN.sub(lambda m: "$" + spans[int(m.group(1))] + "$", text)


def _candidates(masked: str, spans: list[str]) -> list[tuple[int, int, str]]:
    """(start, end, answer) of every math span and every number or choice outside spans, in
    order."""
    found = [(m.start(), m.end(), spans[int(m.group(1))].strip()) for m in _TOKEN.finditer(masked)]
    outside = _TOKEN.sub(lambda m: "\x03" * len(m.group(0)), masked)
    found += [
        (m.start(), m.end(), m.group(0).strip())
        for m in _CANDIDATE.finditer(outside)
        if "\x03" not in m.group(0)
    ]
    return sorted(c for c in found if c[2])


def _joined_run(found: list[tuple[int, int, str]], masked: str) -> str | None:
    """The first candidate, with those joined to it by "and", "or" or commas ("-1, 0, and 1")."""
    if not found:
        return None
    outside = _TOKEN.sub(lambda m: "\x03" * len(m.group(0)), masked)
    run = [found[0]]
    for candidate in found[1:]:
        if not _JOINER.match(outside[run[-1][1] : candidate[0]]):
            break
        run.append(candidate)
    return ", ".join(text.rstrip(", ").strip() for _, _, text in run)


def _last_free_answer(masked: str, spans: list[str]) -> str | None:
    """The last candidate that is not the object of a preposition (the last one if all are)."""
    found = _candidates(masked, spans)
    free = [
        text
        for start, _, text in found
        if not _PREPOSITION.search(masked[max(0, start - 20) : start])
    ]
    if free:
        return free[-1]
    return found[-1][2] if found else None

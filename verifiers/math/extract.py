"""Find the final answer in a model's output.

Rules, in order (the first that finds something wins; its name goes into the verdict details):

1. ``boxed``: the last ``\\boxed{...}`` / ``\\fbox{...}`` (nested braces handled). Several boxed
   answers at the very end, joined only by "or", "and", commas or spacing, are kept together
   (``boxed_multi``) so a hedge between different values can be caught.
2. ``answer_phrase`` / ``gsm8k``: the last "the (final) answer is ...", "Answer: ...",
   "Final Answer: ..." or GSM8K's ``#### ...``, whichever comes last in the text.
3. The fallback of :class:`~verifiers.math.config.MathConfig`: ``last_number`` (the last number,
   or ``last_math``: the last math span when the last number sits inside it, so ``$\\frac{1}{3}$``
   is read as 1/3 and never as 3) or ``off``.

>>> extract_answer("so we get $\\\\boxed{\\\\frac{1}{2}}$.", "off")
Extraction(rule='boxed', text='\\\\frac{1}{2}')
>>> extract_answer("... #### 1,000", "off")
Extraction(rule='gsm8k', text='1,000')
>>> extract_answer("I think 3 then 7", "last_number")
Extraction(rule='last_number', text='7')
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .prose import final_sentence, is_prose, leading_answer, sentence_answer

_BOX_RE = re.compile(r"\\(?:boxed|fbox)\s*\{")
_BOX_SPACE_RE = re.compile(r"\\boxed ([^\s$]+)")
_CONNECTOR_RE = re.compile(
    r"^(?:\s|\$|\\[,;:! "
    r"]|\\quad|\\qquad|,|;|\.|\\text\{\s*(?:or|and|,)\s*\}|\bor\b|\band\b|\\(?:text|mbox)\{\s*\}|"
    r"\b(?:maybe|perhaps|possibly|alternatively|either|also|it|could|might|be|is)\b)*$"
)
_PHRASE_RE = re.compile(
    r"(?:final\s+answer\s*(?:is|:)|the\s+answer\s+is|\banswer\s*:|answer\s+is\s*:?)[ \t]*",
    re.IGNORECASE,
)
_CONNECTOR_V2_RE = re.compile(
    r"^(?:\s|\$|\\[,;:! "
    r"()\[\]]|\\quad|\\qquad|,|;|\.|\\text\{(?:\s|,|\band\b|\bor\b|\bfor\b|\bparts?\b|"
    r"\([a-z0-9]\)|\b[a-z]\b)*\}|\\(?:text|mbox)\{\s*\}|\bor\b|\band\b|"
    r"[A-Za-z](?:_\{?\w+\}?)?\s*=|\b[A-Za-z]+(?=\s+(?:and|or)\b)|\b(?:maybe|perhaps|possibly|"
    r"alternatively|either|also|it|could|might|be|is)\b)*$"
)
_GSM_RE = re.compile(r"####[ \t]*")
_SPECIAL_TOKEN = re.compile(r"<\|[A-Za-z_]+\|>|</s>")
# "#### 72", never a "#### Step 3" heading
_GSM_V2_RE = re.compile(r"(?<!#)####[ \t]*(?=[-+$\\\d.(])")
_MAX_RUN = 20  # boxed answers joined by "or"/","/spaces kept together (enough to see a hedge)
_NUMBER_RE = re.compile(
    r"(?<![A-Za-z\d])(?:-?\d{1,3}(?: \d{3})+(?![\d,.])|-?\d[\d,]*(?:\.\d+)?(?:/\d+)?|-?\.\d+)"
)
_DELIM_RE = re.compile(r"(?<!\\)\$\$|(?<!\\)\$|\\\(|\\\)|\\\[|\\\]")
_CLOSER = {"$": "$", "$$": "$$", "\\(": "\\)", "\\[": "\\]"}
_NEXT_SPAN = re.compile(
    r"^\s*(?:,|;|\bor\b|\band\b|\bmaybe\b|\bperhaps\b|\bpossibly\b|\s)*\s*\$\$?([^$]+?)\$\$?"
)
_MATH_DELIMS = re.compile(r"^\s*(?:\$\$?|\\\(|\\\[)(.*?)(?:(?<!\\)\$\$?|\\\)|\\\])")


@dataclass(frozen=True)
class Extraction:
    """The extracted answer text and the rule that found it."""

    rule: str
    text: str


def extract_answer(response: str, fallback: str, version: int = 1) -> Extraction | None:
    """Return the final answer of ``response``, or ``None`` when no rule finds one.

    A last ``\\boxed{`` that never closes (output cut off at the length limit) gives ``None``:
    ``\\boxed{12\\sqrt{`` must not fall back to the number 12. ``version`` 2 reads answers the
    way ``math@2`` does (:func:`extract_answer_v2`).
    """
    if _last_box_unclosed(response):
        return None
    if version >= 2:
        return extract_answer_v2(response, fallback)
    boxed = _boxed_answer(response)
    if boxed is not None:
        return boxed
    tail = _phrase_or_gsm8k(response)
    if tail is not None:
        return tail
    if fallback == "last_number":
        return _last_number_or_math(response)
    return None


def extract_answer_v2(response: str, fallback: str) -> Extraction | None:
    """``math@2``'s reading: the same rules, with four changes (see :mod:`verifiers.math.prose`).

    * The last stated answer wins: an answer phrase after the last box ("... \\boxed{255} ...
      Final Answer: The final answer is $10,455$") gives the phrase's answer.
    * Boxes joined by math delimiters (``\\(\\boxed{1}\\) and \\(\\boxed{-2}\\)``) or a short
      ``\\text{ for part (a) and }`` are kept together.
    * A phrase or box holding a sentence ("The largest $n$ is 34", ``\\boxed{She pays \\$5.50}``)
      gives the answer the sentence states.
    * The ``last_number`` fallback reads only the concluding sentence of the last paragraph (rule
      ``last_sentence``, see :func:`~verifiers.math.prose.final_sentence`), so a number from an
      earlier paragraph, a cut-off sentence or a plan ("Now we need to ...") never becomes the
      answer.
    * A chat-template token (``<|im_start|>``, ``<|endoftext|>``) ends the response: what follows is
      a new turn the model invented.
    """
    head = _SPECIAL_TOKEN.split(response, 1)[0]
    # "... is $(7, 6)$. <|im_start|>user ...": a new turn
    response = head if head.strip() else response
    boxed = _boxed_run(response, _CONNECTOR_V2_RE)
    phrase = _phrase_v2(response)
    if phrase is not None and (boxed is None or phrase[0] > boxed[0]) and phrase[1].text:
        return phrase[1]
    if boxed is not None:
        return _sentence_read(boxed[1])
    if phrase is not None:
        return phrase[1]
    if fallback == "last_number":
        sentence = final_sentence(response)
        if sentence is None:
            return None
        if not is_prose(sentence):
            return _last_number_or_math(sentence)
        found = sentence_answer(sentence)
        return Extraction("last_sentence", found) if found else None
    return None


def boxed_contents(response: str) -> list[str]:
    """Every closed ``\\boxed{...}`` of ``response``, in order (for a gold with several parts)."""
    return [content.strip() for _, _, content in _boxed_spans(response)]


def _sentence_read(found: Extraction) -> Extraction:
    """A box holding a sentence gives the answer the sentence states; anything else is kept."""
    if not is_prose(found.text):
        return found
    answer = sentence_answer(found.text)
    return Extraction(found.rule, answer) if answer else found


def _last_number_or_math(response: str) -> Extraction | None:
    """The last number; but when it sits inside the last math span (``$\\frac{1}{3}$``), that
    span."""
    number = None
    for number in _NUMBER_RE.finditer(response):
        pass
    spans = _math_spans(response)
    inside = number is not None and spans and spans[-1][0] <= number.start() < spans[-1][1]
    if spans and (number is None or inside) and spans[-1][1] > spans[-1][0]:
        content = response[spans[-1][0] : spans[-1][1]].strip()
        if content:
            return Extraction("last_math", content)
    if number is None:
        return None
    # "\\frac{10}{9}": 9 is not the answer
    if _inside_braces(response, number.start(), number.end()):
        line = response.strip().rsplit("\n", 1)[-1].strip()
        return Extraction("last_line", line) if 0 < len(line) <= 200 else None
    return Extraction("last_number", number.group(0).rstrip(","))


def _inside_braces(text: str, start: int, end: int) -> bool:
    before, after = text[max(0, start - 2) : start].rstrip(), text[end : end + 2].lstrip()
    return before.endswith(("{", "^", "_")) or after.startswith("}")


def _math_spans(text: str) -> list[tuple[int, int]]:
    """(start, end) of each closed ``$..$``, ``$$..$$``, ``\\(..\\)``, ``\\[..\\]`` span, in one
    linear pass."""
    spans, opened, start = [], None, 0
    for match in _DELIM_RE.finditer(text):
        token = match.group(0)
        if opened is None:
            if token in _CLOSER:
                opened, start = token, match.end()
        elif token == _CLOSER[opened]:
            spans.append((start, match.start()))
            opened = None
    return spans


def _last_box_unclosed(text: str) -> bool:
    if "\\boxed" not in text and "\\fbox" not in text:
        return False
    last = None
    for last in _BOX_RE.finditer(text):
        pass
    return last is not None and _matching_braces(text[last.end() - 1 :]).get(0) is None


def _matching_braces(text: str) -> dict[int, int]:
    """Position of each ``{`` -> position of its ``}``, in one linear pass (``\\{`` is skipped)."""
    closing: dict[int, int] = {}
    stack: list[int] = []
    pos = 0
    while pos < len(text):
        char = text[pos]
        if char == "\\":
            pos += 2
            continue
        if char == "{":
            stack.append(pos)
        elif char == "}" and stack:
            closing[stack.pop()] = pos
        pos += 1
    return closing


def _boxed_spans(text: str) -> list[tuple[int, int, str]]:
    """Every ``\\boxed{...}`` as (start, end, content), nested braces matched in linear time."""
    spans = []
    closing = _matching_braces(text) if "\\boxed" in text or "\\fbox" in text else {}
    for match in _BOX_RE.finditer(text):
        end = closing.get(match.end() - 1)
        if end is not None:
            spans.append((match.start(), end + 1, text[match.end() : end]))
    for match in _BOX_SPACE_RE.finditer(text):
        spans.append((match.start(), match.end(), match.group(1)))
    spans.sort()
    return [s for i, s in enumerate(spans) if i == 0 or s[0] >= spans[i - 1][1]]


def _boxed_answer(text: str, connector: re.Pattern = None) -> Extraction | None:
    found = _boxed_run(text, connector or _CONNECTOR_RE)
    return None if found is None else found[1]


def _boxed_run(text: str, connector: re.Pattern) -> tuple[int, Extraction] | None:
    """(start of the last box, the boxed answer): the last box and the boxes joined to it."""
    spans = _boxed_spans(text)
    if not spans:
        return None
    run = [spans[-1]]
    for span in reversed(spans[:-1]):
        gap = text[span[1] : run[-1][0]]
        if len(run) >= _MAX_RUN or len(gap) > 200 or not connector.match(gap):
            break
        run.append(span)
    contents: list[str] = []
    for _, _, content in reversed(run):
        if content.strip() not in contents:
            contents.append(content.strip())
    if len(contents) == 1:
        return spans[-1][0], Extraction("boxed", contents[0])
    return spans[-1][0], Extraction("boxed_multi", ", ".join(contents))


def _phrase_or_gsm8k(text: str) -> Extraction | None:
    """The text after the last answer phrase or ``####`` (so "Final Answer: The final answer
    is $x$" yields ``x``), cut to its line; linear in the length of ``text``."""
    best = _last_marker(text, _GSM_RE)
    if best is None:
        return None
    return Extraction(best[1], _trim_tail(text[best[2] : best[2] + 4000]))


def _last_marker(text: str, gsm8k: re.Pattern) -> tuple[int, str, int] | None:
    """(start, rule, end) of the last answer phrase or GSM8K marker in ``text``."""
    best: tuple[int, str, int] | None = None
    for rule, pattern in (("answer_phrase", _PHRASE_RE), ("gsm8k", gsm8k)):
        for match in pattern.finditer(text):
            if best is None or match.start() >= best[0]:
                best = (match.start(), rule, match.end())
    return best


def _phrase_v2(text: str) -> tuple[int, Extraction] | None:
    """(position, answer) of the last answer phrase or ``####``; a prose tail gives its stated
    answer."""
    best = _last_marker(text, _GSM_V2_RE)
    if best is None:
        return None
    tail = text[best[2] : best[2] + 4000].lstrip(" \t*_:\"'")
    if not _MATH_DELIMS.match(tail):
        sentence = re.split(r"(?<![\d\\])\.(?:\s|$)|\n", tail, maxsplit=1)[0]
        if is_prose(sentence):  # "21, using all 10 cards" / "The largest $n$ is 34"
            return best[0], Extraction(
                best[1], leading_answer(sentence) or sentence_answer(sentence) or ""
            )
    return best[0], Extraction(best[1], _trim_tail(tail).strip("\"'").strip())


def _trim_tail(tail: str) -> str:
    """Cut a phrase's tail to the answer: the first math span, else up to the sentence end."""
    tail = tail.lstrip(" \t*_:")  # "**Answer:** 12", "The answer is: 5"
    math = _MATH_DELIMS.match(tail)
    if math:
        spans = [math.group(1).strip()]
        rest = tail[math.end() :]
        while (more := _NEXT_SPAN.match(rest)) is not None and len(spans) < _MAX_RUN:
            spans.append(more.group(1).strip())  # "$5$ or $6$": keep both so the hedge is seen
            rest = rest[more.end() :]
        return ", ".join(spans)
    tail = tail.split("\n", 1)[0]
    tail = re.split(r"(?<![\d\\])\.(?:\s|$)|\.\s+[A-Z]", tail, maxsplit=1)[0]
    tail = re.split(r",\s+(?:since|because|as|which|so|given|where)\b", tail, maxsplit=1)[0]
    return tail.strip().rstrip("*").strip().strip("$").strip().rstrip(".").strip()

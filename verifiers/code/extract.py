"""Extract the program from a model's response.

The rule (``code@1``):

1. the **last** fenced block (```` ``` ```` or ``~~~``) whose info string names the requested
   language (aliases: ``python``/``py``/``python3``; ``c``; ``cpp``/``c++``/``cc``/``cxx``;
   ``javascript``/``js``/``node``);
2. else the last fenced block with **no** info string;
3. else the **whole response**, without leading blank lines and trailing whitespace
   (indentation is kept, so a HumanEval-style function body continues the prompt).

>>> extract_program("Here:\\n```python\\nprint(1)\\n```\\n", "python")
'print(1)\\n'
>>> extract_program("x = 1", "python")
'x = 1'
"""

from __future__ import annotations

import re

LANGUAGE_ALIASES = {
    "python": ("python", "py", "python3"),
    "c": ("c",),
    "cpp": ("cpp", "c++", "cc", "cxx"),
    "javascript": ("javascript", "js", "node", "nodejs"),
}

_FENCE = re.compile(
    r"^(?P<indent>[ \t]{0,3})(?P<fence>`{3,}|~{3,})[ "
    r"\t]*(?P<info>[^\n`]*)\n(?P<body>.*?)^(?P=indent)(?P=fence)[ \t]*$",
    re.MULTILINE | re.DOTALL,
)


_LEADING_BLANK_LINES = re.compile(r"\A(?:[ \t]*\n)+")


def fenced_blocks(text: str) -> list[tuple[str, str]]:
    """``(language tag, body)`` for every fenced block, in order (tag lower-cased, may be empty)."""
    blocks = []
    for match in _FENCE.finditer(text):
        info = match.group("info").strip().split()
        blocks.append((info[0].lower() if info else "", match.group("body")))
    return blocks


def extract_program(response: str, language: str) -> str:
    """The program in ``response`` for ``language`` by the rule in the module docstring."""
    aliases = LANGUAGE_ALIASES.get(language, (language,))
    response = response.replace("\r\n", "\n")
    blocks = fenced_blocks(response)
    for wanted in (lambda tag: tag in aliases, lambda tag: tag == ""):
        chosen = [body for tag, body in blocks if wanted(tag)]
        if chosen:
            return chosen[-1]
    return _LEADING_BLANK_LINES.sub("", response).rstrip()

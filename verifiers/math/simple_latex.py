"""A small, strict parser for the plain LaTeX most answers use, so they skip the ANTLR parser.

Grammar (anything else returns ``None`` and the caller falls back to math-verify's parser):
integers, lowercase single-letter variables (``e`` is Euler's number, ``i`` the imaginary unit,
others real symbols as math-verify makes them), ``\\pi``, ``+ - * /``, ``\\cdot``, ``\\times``,
``^`` (right-associative), implicit multiplication, ``( )``, ``{ }``, ``\\frac{a}{b}``,
``\\sqrt{a}``, ``\\sqrt[n]{a}``, ``\\left``/``\\right``, and one top-level ``=``.
Decimals are refused on purpose, so that math-verify's handling of decimals stays the only one.

>>> parse_simple("\\\\frac{3\\\\pi}{4}")
3*pi/4
>>> parse_simple("(x+1)(x+2)")
(x + 1)*(x + 2)
>>> parse_simple("2.5") is None, parse_simple("\\\\sin x") is None
(True, True)
"""

from __future__ import annotations

import re
from typing import Any

import sympy

_TOKEN = re.compile(
    r"\s*(\\frac|\\dfrac|\\tfrac|\\sqrt|\\pi|\\cdot|\\times|\d+|[a-z]|[-+*/^(){}\[\]=])"
)
_SKIP = re.compile(r"\\left|\\right|\\!|\\,|\\;|\\ ")
_ATOM_START = ("\\frac", "\\sqrt", "\\pi", "(", "{")


class _Refuse(Exception):
    pass


def parse_simple(text: str) -> Any:
    """A sympy object for ``text`` when it is in the small grammar above, else ``None``."""
    tokens = _tokenize(_SKIP.sub(" ", text))
    if tokens is None or len(tokens) > 400:
        return None
    try:
        parser = _Parser(tokens)
        result = parser.equation()
        if parser.pos != len(tokens) or result.has(sympy.zoo, sympy.nan):
            return None
        return result
    except (_Refuse, ZeroDivisionError, RecursionError, ValueError, TypeError):
        return None


def _tokenize(text: str) -> list[str] | None:
    tokens, pos = [], 0
    while pos < len(text):
        if text[pos:].strip() == "":
            break
        match = _TOKEN.match(text, pos)
        if match is None:
            return None
        tokens.append(match.group(1).replace("\\dfrac", "\\frac").replace("\\tfrac", "\\frac"))
        pos = match.end()
    # "x2" and "2 3" are ambiguous: leave them to math-verify
    for prev, nxt in zip(tokens, tokens[1:]):
        if (prev.isalpha() and nxt.isdigit()) or (prev.isdigit() and nxt.isdigit()):
            return None
    return tokens


class _Parser:
    def __init__(self, tokens: list[str]) -> None:
        self.tokens, self.pos = tokens, 0

    def peek(self) -> str | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def take(self, expected: str | None = None) -> str:
        token = self.peek()
        if token is None or (expected is not None and token != expected):
            raise _Refuse(token)
        self.pos += 1
        return token

    def equation(self) -> Any:
        left = self.expr()
        if self.peek() == "=":
            self.take("=")
            right = self.expr()
            if sympy.expand(left - right) == 0:  # an identity: keep math-verify's unevaluated form
                raise _Refuse("=")
            return sympy.Eq(left, right, evaluate=False)
        return left

    def expr(self) -> Any:
        value = self.term()
        while self.peek() in ("+", "-"):
            value = value + self.term() if self.take() == "+" else value - self.term()
        return value

    def term(self) -> Any:
        value = self.unary()
        while True:
            token = self.peek()
            if token in ("*", "\\cdot", "\\times", "/"):
                self.take()
                value = value / self.unary() if token == "/" else value * self.unary()
            elif token is not None and (token in _ATOM_START or token.isalnum()):
                value = value * self.power()
            else:
                return value

    def unary(self) -> Any:
        if self.peek() in ("+", "-"):
            return -self.unary() if self.take() == "-" else self.unary()
        return self.power()

    def power(self) -> Any:
        base = self.atom()
        if self.peek() == "^":
            self.take()
            exponent = self.group() if self.peek() == "{" else self.atom()
            return sympy.Pow(base, exponent)
        return base

    def group(self) -> Any:
        self.take("{")
        value = self.expr()
        self.take("}")
        return value

    def atom(self) -> Any:
        token = self.take()
        if token.isdigit():
            return sympy.Integer(token)
        if token.isalpha():
            return {"e": sympy.E, "i": sympy.I}.get(token) or sympy.Symbol(token, real=True)
        if token == "\\pi":
            return sympy.pi
        if token in ("(", "{"):
            value = self.expr()
            self.take(")" if token == "(" else "}")
            return value
        if token == "\\frac":
            numerator = self.group()
            return numerator / self.group()
        if token == "\\sqrt":
            index = 2
            if self.peek() == "[":
                self.take("[")
                index = self.expr()
                self.take("]")
            radicand = self.group()
            if isinstance(index, sympy.Integer) and index % 2 == 1:
                return sympy.real_root(radicand, index)  # \sqrt[3]{-8} is -2, as in school math
            return sympy.root(radicand, index)
        raise _Refuse(token)

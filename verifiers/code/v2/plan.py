"""Assert-style tests for ``code@2``: checked and rewritten in the grader, run in the test process.

The test source may be any Python program that uses the standard library: loops, helper
functions, random inputs, assignments, ``def check(candidate)`` (called with the entry point when
the tests define ``check``, never call it and the reference names an ``entry_point``).

Every ``assert`` whose test is not a true constant is a **case**, numbered in source order. The
grader rewrites it so that it *records* its outcome instead of stopping the program::

    assert f(x) == 4     ->  __rlvr_cmp__(0, 'Eq', lambda: (f(x), 4))
    assert ok(f(x))      ->  __rlvr_check__(1, lambda: ok(f(x)))
    assert False         ->  __rlvr_trip__(2)      # a "tripwire": passes only if never reached

(:mod:`.recorder` has the rules). A test that does not compile, imports a module outside the
standard library, has no assert, or defines ``check`` without calling it and without an
``entry_point`` is a bad reference.

>>> program = plan_program(
...     {"tests": "for i in range(3):\\n    assert f(i) == 2 * i", "entry_point": "f"}
... )
>>> print(program.statements[0])
for i in range(3):
    __rlvr_cmp__(0, 'Eq', lambda: (f(i), 2 * i))
>>> [case.source for case in program.cases]
['assert f(i) == 2 * i']
"""

from __future__ import annotations

import ast
import builtins
import importlib
import json
import symtable
import sys
import warnings
from dataclasses import dataclass
from functools import cached_property, lru_cache
from typing import Any, Mapping

from ...errors import BadReferenceError
from ..python import tests_and_entry

MAX_SOURCE = 120
NO_LAMBDA = (ast.NamedExpr, ast.Yield, ast.YieldFrom, ast.Await)
SCOPE_NAMES = frozenset(("super", "locals", "vars"))
"""Names whose meaning changes inside a lambda: asserts using them are rewritten without one."""
LIBRARY_MODULES = (
    "collections",
    "math",
    "itertools",
    "functools",
    "operator",
    "re",
    "heapq",
    "bisect",
    "string",
    "fractions",
    "decimal",
    "datetime",
    "statistics",
    "copy",
    "random",
)
"""Where a name the tests use but never bind may come from (the program's ``from collections import
Counter``): the first of these modules with that public name gives the object of the run with the
real ones (:attr:`TestProgram.library`)."""


@dataclass(frozen=True)
class Case:
    """One assert of the test program."""

    source: str
    """``assert <test>`` (clipped) for messages."""
    line: int
    tripwire: bool = False
    """``assert False``-like: passes only when it never runs."""


@dataclass(frozen=True)
class TestProgram:
    """What the test process needs (:meth:`job`) plus the case table the grader judges with."""

    statements: tuple[str, ...]
    """The rewritten top-level statements, run one by one."""
    cases: tuple[Case, ...]
    owned: tuple[tuple[int, ...], ...]
    """Per statement: the cases inside it and inside the test functions it refers to."""
    names: tuple[str, ...]
    """The names the tests (and the prompt's helpers) use but never bind as globals, plus the entry
    point: the candidate reports only these."""
    stdlib_names: tuple[str, ...]
    """Those of ``names`` that are standard-library modules."""
    library: tuple[tuple[str, str], ...]
    """``(name, module)``: those of ``names`` (not builtins, modules or the entry point) that are a
    public name of one of :data:`LIBRARY_MODULES` (the first that has it), unless the tests only
    ever call them as the function under test (``assert count([1, 2]) == 2``: literal arguments,
    compared with a literal)."""
    prelude: tuple[str, ...]
    """Reference code run in the test process before the tests: the prompt's imports, helper
    functions, classes and constants (not the entry point), then the trusted part of
    ``test_setup_code`` (:func:`split_setup`)."""
    entry: str | None
    seed_random: bool
    setup: str
    """The reference's ``test_setup_code``, run in the candidate's process after its program."""

    @cached_property
    def job_text(self) -> str:
        """The contents of ``tests.json`` (computed once per plan)."""
        return json.dumps(self.job())

    def job(self) -> dict[str, Any]:
        """What ``tests.json`` holds."""
        return {
            "statements": list(self.statements),
            "owned": [list(o) for o in self.owned],
            "n_cases": len(self.cases),
            "tripwires": [i for i, c in enumerate(self.cases) if c.tripwire],
            "names": list(self.names),
            "stdlib_names": list(self.stdlib_names),
            "library": [list(pair) for pair in self.library],
            "prelude": list(self.prelude),
            "entry": self.entry,
            "seed_random": self.seed_random,
        }


def plan_program(reference: Mapping[str, Any], *, max_cases: int = 1000) -> TestProgram:
    """Check and rewrite ``reference["tests"]``; a bad reference raises :class:`BadReferenceError`.

    Plans are cached per reference (a group of responses to one task shares it).
    """
    tests, entry, setup = _fields(reference)
    prompt = reference.get("prompt")
    return _plan(tests, entry, setup, prompt if isinstance(prompt, str) else None, max_cases)


@lru_cache(maxsize=512)
def _plan(
    tests: str, entry: str | None, setup: str, prompt: str | None, max_cases: int
) -> TestProgram:
    module = _parse(tests, "tests")
    _check_imports(module, "tests")
    trusted_setup = split_setup(_parse(setup, "test_setup_code"), entry)
    body = list(module.body) + _implied_check_call(module, entry)
    rewriter = _Rewriter()
    functions = {s.name: s for s in body if isinstance(s, (ast.FunctionDef, ast.AsyncFunctionDef))}
    names = _global_reads(tests)
    statements, lexical = [], []
    for stmt in body:
        start = len(rewriter.cases)
        rewritten = ast.fix_missing_locations(rewriter.visit(stmt))
        statements.append(ast.unparse(rewritten))
        lexical.append(range(start, len(rewriter.cases)))
    if not rewriter.cases:
        raise BadReferenceError("reference 'tests' contains no assert statement")
    if len(rewriter.cases) > max_cases:
        raise BadReferenceError(
            f"{len(rewriter.cases)} test cases exceed CodeConfig.max_cases={max_cases}"
        )
    owned = _ownership(body, lexical, functions)
    prelude = _prelude(prompt, entry) + trusted_setup
    prelude_source = "\n".join(prelude)
    prelude_module = _parse(prelude_source, "prompt")
    names |= _global_reads(prelude_source)
    names -= _module_level_bindings(body) | _module_level_bindings(prelude_module.body)
    if entry:
        names.add(entry)
    stdlib = tuple(sorted(n for n in names if n in sys.stdlib_module_names))
    library = tuple(
        (n, m)
        for n in sorted(names - set(stdlib) - {entry})
        if not hasattr(builtins, n)
        for m in [_library_module(n)]
        if m
    )
    if library:  # rare: worth the walk
        under_test = _called_only_under_test(module, _names(prelude_module))
        library = tuple((n, m) for n, m in library if n not in under_test)
    return TestProgram(
        tuple(statements),
        tuple(rewriter.cases),
        owned,
        tuple(sorted(names)),
        stdlib,
        library,
        prelude,
        entry,
        _uses_random(module, prelude_source),
        setup,
    )


def _fields(reference: Mapping[str, Any]) -> tuple[str, str | None, str]:
    tests, entry = tests_and_entry(reference)
    setup = reference.get("test_setup_code") or ""
    if not isinstance(setup, str):
        raise BadReferenceError("'test_setup_code' must be a string of Python code")
    return tests, entry, setup


def _parse(source: str, what: str) -> ast.Module:
    try:
        with warnings.catch_warnings():  # e.g. invalid escape sequences: the reference's business
            warnings.simplefilter("ignore")
            compile(source, f"<{what}>", "exec", dont_inherit=True)
            return ast.parse(source)
    except SyntaxError as exc:
        raise BadReferenceError(
            f"reference '{what}' is not valid Python: {exc.msg} (line {exc.lineno})"
        ) from exc
    except ValueError as exc:  # null bytes
        raise BadReferenceError(f"reference '{what}' is not valid Python: {exc}") from exc


def _check_imports(module: ast.Module, what: str) -> None:
    for node in ast.walk(module):
        if isinstance(node, ast.ImportFrom) and node.level:
            raise BadReferenceError(
                f"reference '{what}' uses a relative import (line {node.lineno})"
            )
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            for name in (
                [node.module] if isinstance(node, ast.ImportFrom) else [a.name for a in node.names]
            ):
                top = (name or "").split(".")[0]
                if top != "__future__" and top not in sys.stdlib_module_names:
                    raise BadReferenceError(
                        f"reference '{what}' imports {name!r}, which is not in the standard "
                        "library; code@2 tests may import standard-library modules only"
                    )


def _implied_check_call(module: ast.Module, entry: str | None) -> list[ast.stmt]:
    """HumanEval: ``check(entry_point)`` when the tests define ``check`` and never call it."""
    defines = any(isinstance(s, ast.FunctionDef) and s.name == "check" for s in module.body)
    calls = any(
        isinstance(n, ast.Call) and isinstance(n.func, ast.Name) and n.func.id == "check"
        for n in ast.walk(module)
    )
    if not defines or calls:
        return []
    if not entry:
        raise BadReferenceError(
            "reference 'tests' defines check(...) but never calls it; give 'entry_point' "
            "(the function check is called with) or call check in the tests"
        )
    return [ast.Expr(ast.Call(ast.Name("check", ast.Load()), [ast.Name(entry, ast.Load())], []))]


def _names(tree: ast.AST) -> set[str]:
    """Names used in ``tree``, without dunders (``__name__`` is the test program's own,
    ``"__main__"``)."""
    return {
        n.id
        for n in ast.walk(tree)
        if isinstance(n, ast.Name) and not (n.id.startswith("__") and n.id.endswith("__"))
    }


def _uses_random(module: ast.Module, prelude_source: str) -> bool:
    """Whether the tests or the prompt's helpers mention ``random`` (then it is seeded)."""
    return (
        "random" in _names(module)
        or "random" in prelude_source
        or any(
            isinstance(n, (ast.Import, ast.ImportFrom)) and "random" in ast.unparse(n)
            for n in ast.walk(module)
        )
    )


def _global_reads(source: str) -> set[str]:
    """Names ``source`` reads as globals (or builtins), in any scope; dunders excluded."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        top = symtable.symtable(source, "<tests>", "exec")
    found, todo = set(), [top]
    while todo:
        table = todo.pop()
        todo.extend(table.get_children())
        for symbol in table.get_symbols():
            global_read = symbol.is_referenced() and (
                table.get_type() == "module" or symbol.is_global()
            )
            name = symbol.get_name()
            if global_read and not (name.startswith("__") and name.endswith("__")):
                found.add(name)
    return found


def _module_level_bindings(body: list[ast.stmt]) -> set[str]:
    """Names the tests (or the prompt's helpers) bind as globals: those never come from the
    candidate.

    A test that used such a name before binding it would otherwise read the candidate's.
    """
    bound: set[str] = set()
    todo: list[ast.AST] = list(body)
    while todo:
        node = todo.pop()
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            bound.add(node.name)
            bound |= {name for n in ast.walk(node) if isinstance(n, ast.Global) for name in n.names}
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            bound |= {(a.asname or a.name).split(".")[0] for a in node.names if a.name != "*"}
        elif isinstance(node, ast.Name) and isinstance(node.ctx, (ast.Store, ast.Del)):
            bound.add(node.id)
        elif isinstance(node, ast.ExceptHandler) and node.name:
            bound.add(node.name)
        elif not isinstance(
            node, (ast.Lambda, ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)
        ):
            todo.extend(ast.iter_child_nodes(node))
    return bound


def _ownership(
    body: list[ast.stmt], lexical: list[range], functions: Mapping[str, ast.stmt]
) -> tuple[tuple[int, ...], ...]:
    """Cases a statement runs: its own and those of the test functions it (transitively) refers
    to."""
    own = {
        stmt.name: set(cases) for stmt, cases in zip(body, lexical) if stmt in functions.values()
    }
    refers = {name: _names(fn) & set(functions) for name, fn in functions.items()}
    owned = []
    for stmt, cases in zip(body, lexical):
        result, todo, seen = set(cases), list(_names(stmt) & set(functions)), set()
        while todo:
            name = todo.pop()
            if name not in seen:
                seen.add(name)
                result |= own.get(name, set())
                todo.extend(refers[name])
        owned.append(tuple(sorted(result)))
    return tuple(owned)


def _prelude(prompt: Any, entry: str | None) -> tuple[str, ...]:
    """The prompt's imports, helpers and constants, to run in the test process (reference
    material)."""
    if not isinstance(prompt, str) or not prompt.strip():
        return ()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            module = ast.parse(prompt)
    except (SyntaxError, ValueError):
        return ()
    kept = []
    for stmt in module.body:
        if isinstance(stmt, (ast.Import, ast.ImportFrom)):
            try:
                _check_imports(ast.Module([stmt], []), "prompt")
            except BadReferenceError:
                continue
        elif isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            if stmt.name == entry:
                continue
        elif isinstance(stmt, (ast.Assign, ast.AnnAssign)):
            if entry in _names(stmt):
                continue
        else:
            continue
        kept.append(ast.unparse(stmt))
    return tuple(kept)


def split_setup(setup: ast.Module, entry: str | None) -> tuple[str, ...]:
    """The statements of ``test_setup_code`` that also run in the test process, which the tests then
    use.

    Those are its function and class definitions, standard-library imports and assignments to plain
    names that use none of the program's names: every global they read is a builtin or bound by such
    a statement before them (a ``near(a, b)`` checker, ``EPS = 1e-9``). Everything else builds
    inputs from the program's names (MBPP 367's ``root = Node(1)``) and runs only in the program's
    process, which also runs the whole ``test_setup_code`` after the program, as before. An
    assignment that calls a class the setup defines builds such an input too, and so does any
    assignment whose name a statement of the program's side reads (one object, on one side).

    >>> setup = ast.parse("def near(a, b):\\n    return abs(a - b) < 0.001\\nroot = Node(1)")
    >>> split_setup(setup, None)
    ('def near(a, b):\\n    return abs(a - b) < 0.001',)
    """
    body = setup.body
    reads = [_global_reads(ast.unparse(stmt)) for stmt in body]
    binds = [_module_level_bindings([stmt]) for stmt in body]
    classes = {stmt.name for stmt in body if isinstance(stmt, ast.ClassDef)}
    demoted: set[int] = set()
    while True:
        trusted, known = [], set(dir(builtins))
        for i, stmt in enumerate(body):
            if (
                i not in demoted
                and _trusted_setup_kind(stmt, entry, classes)
                and reads[i] <= known | binds[i]
            ):
                trusted.append(i)
                known |= binds[i]
        shared = {
            i
            for i in trusted
            if isinstance(body[i], (ast.Assign, ast.AnnAssign))
            and any(binds[i] & _names(body[j]) for j in range(len(body)) if j not in trusted)
        }
        if not shared:
            return tuple(ast.unparse(body[i]) for i in trusted)
        demoted |= shared


def _trusted_setup_kind(stmt: ast.stmt, entry: str | None, classes: set[str]) -> bool:
    if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return stmt.name != entry
    if isinstance(stmt, (ast.Import, ast.ImportFrom)):
        try:
            _check_imports(ast.Module([stmt], []), "test_setup_code")
        except BadReferenceError:
            return False
        return True
    if isinstance(stmt, (ast.Assign, ast.AnnAssign)) and stmt.value is not None:
        targets = stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target]
        plain = all(
            isinstance(n, (ast.Name, ast.Tuple, ast.List, ast.Starred, ast.Store))
            for t in targets
            for n in ast.walk(t)
        )
        return plain and not (classes & _names(stmt.value)) and entry not in _names(stmt)
    return False


def _called_only_under_test(module: ast.Module, elsewhere: set[str]) -> set[str]:
    """Names the tests only ever call as the function under test:
    ``assert N(<literals>) <op> <literal>``, ``assert N(<literals>)`` or
    ``assert not N(<literals>)``, and used nowhere else.

    Such a function receives nothing the tests computed (the expected value never reaches it), so it
    is exempt from the run with the standard-library object of the same name (MBPP's ``count``,
    ``gcd``).
    """
    allowed: set[int] = set()
    for node in ast.walk(module):
        if not isinstance(node, ast.Assert):
            continue
        test = (
            node.test.operand
            if isinstance(node.test, ast.UnaryOp) and isinstance(node.test.op, ast.Not)
            else node.test
        )
        if (
            isinstance(test, ast.Compare)
            and len(test.ops) == 1
            and _is_literal(test.comparators[0])
        ):
            test = test.left
        if (
            isinstance(test, ast.Call)
            and isinstance(test.func, ast.Name)
            and all(_is_literal(a) for a in test.args + [k.value for k in test.keywords])
        ):
            allowed.add(id(test.func))
    uses: dict[str, list[bool]] = {}
    for node in ast.walk(module):
        if isinstance(node, ast.Name):
            uses.setdefault(node.id, []).append(id(node) in allowed)
    return {name for name, ok in uses.items() if all(ok) and name not in elsewhere}


def _is_literal(node: ast.expr) -> bool:
    """Data written out in the source: no name, call, attribute, subscript or comprehension in
    it."""
    return all(
        isinstance(
            n,
            (
                ast.Constant,
                ast.List,
                ast.Tuple,
                ast.Set,
                ast.Dict,
                ast.UnaryOp,
                ast.BinOp,
                ast.Load,
                ast.unaryop,
                ast.operator,
            ),
        )
        for n in ast.walk(node)
    )


@lru_cache(maxsize=4096)
def _library_module(name: str) -> str | None:
    """The first of :data:`LIBRARY_MODULES` with the public name ``name`` (its ``__all__`` where it
    has one)."""
    for module_name in LIBRARY_MODULES:
        module = importlib.import_module(module_name)
        public = getattr(module, "__all__", None)
        if (
            (name in public)
            if public is not None
            else (not name.startswith("_") and hasattr(module, name))
        ):
            if type(getattr(module, name, None)) is not type(sys):
                return module_name
    return None


class _Rewriter(ast.NodeTransformer):
    """Numbers the asserts and turns each into a recorder call (see the module docstring)."""

    def __init__(self) -> None:
        self.cases: list[Case] = []
        self.class_body = False

    def visit_ClassDef(self, node: ast.ClassDef) -> ast.AST:
        saved, self.class_body = self.class_body, True
        self.generic_visit(node)
        self.class_body = saved
        return node

    def _function(self, node: ast.AST) -> ast.AST:
        saved, self.class_body = self.class_body, False
        self.generic_visit(node)
        self.class_body = saved
        return node

    visit_FunctionDef = visit_AsyncFunctionDef = visit_Lambda = _function

    def visit_Assert(self, node: ast.Assert) -> ast.AST:
        test = node.test
        if isinstance(test, ast.Constant) and test.value:
            return ast.copy_location(ast.Pass(), node)
        case = len(self.cases)
        self.cases.append(
            Case(_clip("assert " + ast.unparse(test)), node.lineno, isinstance(test, ast.Constant))
        )
        if isinstance(test, ast.Constant):
            call = _call("__rlvr_trip__", ast.Constant(case))
        elif self.class_body or _needs_direct_evaluation(test):
            call = _call("__rlvr_value__", ast.Constant(case), test)
        elif isinstance(test, ast.Compare) and len(test.ops) == 1:
            pair = ast.Tuple([test.left, test.comparators[0]], ast.Load())
            call = _call(
                "__rlvr_cmp__",
                ast.Constant(case),
                ast.Constant(type(test.ops[0]).__name__),
                _thunk(pair),
            )
        else:
            call = _call("__rlvr_check__", ast.Constant(case), _thunk(test))
        return ast.copy_location(ast.Expr(call), node)


def _needs_direct_evaluation(test: ast.expr) -> bool:
    return any(
        isinstance(n, NO_LAMBDA) or (isinstance(n, ast.Name) and n.id in SCOPE_NAMES)
        for n in ast.walk(test)
    )


def _call(name: str, *args: ast.expr) -> ast.Call:
    return ast.Call(ast.Name(name, ast.Load()), list(args), [])


def _thunk(body: ast.expr) -> ast.Lambda:
    arguments = ast.arguments(
        posonlyargs=[], args=[], vararg=None, kwonlyargs=[], kw_defaults=[], kwarg=None, defaults=[]
    )
    return ast.Lambda(arguments, body)


def _clip(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= MAX_SOURCE else text[: MAX_SOURCE - 3] + "..."

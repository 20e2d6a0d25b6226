"""Assert-style Python tests, split into what the candidate computes and what the grader checks.

An assert such as ``assert abs(f(2) - 1.5) < 1e-6`` is parsed **in the grader** with :mod:`ast`.
Each maximal sub-expression that needs the candidate's code (here ``f(2)``) becomes a *unit*: its
source is sent into the sandbox, evaluated there, and comes back as a plain value
(:mod:`verifiers.code.wire`). Everything else (``abs``, ``-``, ``<``, ``==``, ``math.isclose``,
``sorted``, method calls on returned values...) is evaluated here, in the grader, on those plain
values. So the candidate never sees an expected value and never performs a comparison that counts.

What a unit is: a call whose function is not a safe builtin, a name the test does not define, or
an attribute that is not a method of a builtin type (``Solution().solve(3)`` is one unit).

Comprehensions over candidate calls that use the loop variable, e.g.
``all(f(x) == 2 * x for x in range(5))``, are split the same way: the sandbox evaluates only the
*rows* ``[(f(x),) for x in range(5)]`` and the grader runs the comprehension itself, taking one
row per iteration, so the comparison still happens here. The loops and ``if`` filters of such a
comprehension must not call the candidate, and a candidate call that uses a ``lambda``'s
argument is not supported (both raise :class:`~verifiers.errors.BadReferenceError`).

Supported test statements: ``assert`` (message ignored; an assert that does not involve the
candidate, such as HumanEval's ``assert True``, is not a test case), ``import``/``from ... import``
of standard modules, assignments of constants, ``def check(candidate): <asserts>`` plus
``check(<entry_point>)`` (HumanEval), ``pass`` and docstrings. Anything else (loops, helper
functions) raises :class:`~verifiers.errors.BadReferenceError`.

>>> plan = plan_tests("assert add(2, 2) == 4\\nassert add(1, 1) != 3", entry_point="add")
>>> [c.units for c in plan.cases]
[('add(2, 2)',), ('add(1, 1)',)]
>>> plan.cases[0].check({"__rlvr_u0": 4})
True
"""

from __future__ import annotations

import ast
import builtins
import copy
from dataclasses import dataclass, field
from typing import Any, Mapping

from ..errors import BadReferenceError

SAFE_MODULES = (
    "math",
    "cmath",
    "string",
    "re",
    "itertools",
    "functools",
    "operator",
    "collections",
    "heapq",
    "bisect",
    "fractions",
    "decimal",
    "statistics",
    "random",
)
SAFE_BUILTINS = {
    name: getattr(builtins, name)
    for name in (
        "abs",
        "all",
        "any",
        "bool",
        "bytes",
        "chr",
        "complex",
        "dict",
        "divmod",
        "enumerate",
        "filter",
        "float",
        "frozenset",
        "hash",
        "int",
        "isinstance",
        "len",
        "list",
        "map",
        "max",
        "min",
        "ord",
        "pow",
        "range",
        "repr",
        "reversed",
        "round",
        "set",
        "sorted",
        "str",
        "sum",
        "tuple",
        "type",
        "zip",
        "next",
        "iter",
        "True",
        "False",
        "None",
        "Exception",
        "ValueError",
        "TypeError",
    )
}
BUILTIN_METHODS = frozenset(
    name
    for kind in (str, bytes, list, tuple, dict, set, frozenset, int, float, complex)
    for name in dir(kind)
    if not name.startswith("_")
)
UNIT_PREFIX = "__rlvr_u"


@dataclass(frozen=True)
class Case:
    """One assert: the candidate units to evaluate and the grader-side check over their values."""

    source: str
    """The assert's source line (for messages)."""
    units: tuple[str, ...]
    """Expressions evaluated in the sandbox, in order; their values bind ``__rlvr_u0`` ..."""
    expression: ast.Expression = field(repr=False)
    """The assert's test with units replaced by ``__rlvr_uN`` names, evaluated in the grader."""
    host_names: Mapping[str, Any] = field(repr=False, default_factory=dict)
    row_units: tuple[str, ...] = ()
    """Units whose value is a list of rows, consumed one per iteration of a grader-side loop."""

    def check(self, values: Mapping[str, Any]) -> bool:
        """Evaluate the test on plain values (``{"__rlvr_u0": value, ...}``); exceptions
        propagate."""
        values = dict(values)
        for name in self.row_units:
            if type(values.get(name)) is not list:
                raise TypeError("the rows of a comprehension must come back as a list")
            values[name] = iter(values[name])
        namespace = {"__builtins__": SAFE_BUILTINS, **self.host_names, **values}
        return bool(eval(compile(self.expression, "<assert>", "eval"), namespace))


@dataclass(frozen=True)
class TestPlan:
    """Every case of a test file, plus setup lines (imports, constants) the sandbox runs first."""

    cases: tuple[Case, ...]
    setup: tuple[str, ...]


def plan_tests(tests: str, *, entry_point: str | None = None) -> TestPlan:
    """Parse assert-style ``tests`` into a :class:`TestPlan`; unsupported tests raise
    BadReferenceError."""
    try:
        module = ast.parse(tests)
    except SyntaxError as exc:
        raise BadReferenceError(
            f"reference 'tests' is not valid Python: {exc.msg} (line {exc.lineno})"
        ) from exc
    planner = _Planner(entry_point)
    for stmt in module.body:
        planner.statement(stmt)
    # HumanEval: the caller runs check(entry_point)
    if not planner.expanded and planner.checks and entry_point:
        for name in list(planner.checks):
            planner._expand_check(
                ast.Call(ast.Name(name, ast.Load()), [ast.Name(entry_point, ast.Load())], [])
            )
    if not planner.cases:
        raise BadReferenceError(
            "reference 'tests' contains no assert statement that calls the candidate's code"
        )
    return TestPlan(tuple(planner.cases), tuple(planner.setup))


class _Planner:
    def __init__(self, entry_point: str | None) -> None:
        self.entry_point = entry_point
        self.cases: list[Case] = []
        self.setup: list[str] = []
        self.host: dict[str, Any] = {}
        self.checks: dict[str, ast.FunctionDef] = {}
        self.expanded = False

    def statement(self, stmt: ast.stmt, rename: Mapping[str, str] | None = None) -> None:
        if isinstance(stmt, ast.Assert):
            case = self._case(_Rename(rename or {}).visit(stmt.test))
            if case.units:  # `assert True` and friends test nothing about the candidate
                self.cases.append(case)
        elif isinstance(stmt, (ast.Import, ast.ImportFrom)):
            self._import(stmt)
        elif isinstance(stmt, ast.Assign) and all(isinstance(t, ast.Name) for t in stmt.targets):
            self._assign(stmt)
        elif (
            isinstance(stmt, ast.FunctionDef)
            and len(stmt.args.args) == 1
            and not stmt.decorator_list
        ):
            self.checks[stmt.name] = stmt
        elif (
            isinstance(stmt, ast.Expr)
            and isinstance(stmt.value, ast.Call)
            and _is_check_call(stmt.value, self.checks)
        ):
            self._expand_check(stmt.value)
        elif isinstance(stmt, ast.Pass) or (
            isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant)
        ):
            return
        else:
            raise BadReferenceError(
                f"code@1 cannot check test statement at line {stmt.lineno} "
                f"({type(stmt).__name__}): "
                "use plain assert statements, imports and constant assignments (see "
                "verifiers.code.asserts)"
            )

    def _import(self, stmt: ast.Import | ast.ImportFrom) -> None:
        names = (
            [stmt.module or ""]
            if isinstance(stmt, ast.ImportFrom)
            else [a.name for a in stmt.names]
        )
        for name in names:
            if name.split(".")[0] not in SAFE_MODULES:
                raise BadReferenceError(
                    f"test imports {name!r}; code@1 tests may import only {', '.join(SAFE_MODULES)}"
                )
        namespace: dict[str, Any] = {}
        exec(
            compile(ast.Module([stmt], []), "<test import>", "exec"),
            {"__builtins__": builtins.__dict__},
            namespace,
        )
        self.host.update(namespace)
        self.setup.append(ast.unparse(stmt))

    def _assign(self, stmt: ast.Assign) -> None:
        try:
            value = ast.literal_eval(stmt.value)
        except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError) as exc:
            raise BadReferenceError(
                f"test assignment at line {stmt.lineno} must be a constant (literal) value"
            ) from exc
        for target in stmt.targets:
            self.host[target.id] = value
        self.setup.append(ast.unparse(stmt))

    def _expand_check(self, call: ast.Call) -> None:
        check = self.checks[call.func.id]
        argument = call.args[0]
        target = argument.id if isinstance(argument, ast.Name) else self.entry_point
        if target is None:
            raise BadReferenceError("check(...) must be called with the entry point's name")
        self.expanded = True
        rename = {check.args.args[0].arg: target}
        for stmt in check.body:
            self.statement(stmt, rename)

    def _case(self, test: ast.expr) -> Case:
        source = ast.unparse(test)
        splitter = _Splitter(self.host)
        try:
            expression = splitter.visit(test)
        except _Unsupported as exc:
            raise BadReferenceError(
                f"code@1 cannot safely check `{str(exc)[:100]}` in `{source[:100]}`: candidate "
                "calls inside it use a "
                "lambda argument, or its loop/filter calls the candidate; write one assert per "
                "input"
            ) from None
        ast.fix_missing_locations(expression)
        _validate_host_expression(expression)
        return Case(
            source,
            tuple(splitter.units),
            ast.Expression(expression),
            dict(self.host),
            tuple(splitter.row_units),
        )


def _is_check_call(call: ast.Call, checks: Mapping[str, ast.FunctionDef]) -> bool:
    return (
        isinstance(call.func, ast.Name)
        and call.func.id in checks
        and len(call.args) == 1
        and not call.keywords
    )


class _Rename(ast.NodeTransformer):
    def __init__(self, mapping: Mapping[str, str]) -> None:
        self.mapping = mapping

    def visit_Name(self, node: ast.Name) -> ast.Name:
        return ast.copy_location(ast.Name(self.mapping.get(node.id, node.id), node.ctx), node)


class _Splitter(ast.NodeTransformer):
    """Replace candidate-dependent sub-expressions by ``__rlvr_uN`` names (see the module
    docstring)."""

    def __init__(self, host: Mapping[str, Any], bound: list[set[str]] | None = None) -> None:
        self.host = host
        self.units: list[str] = []
        self.row_units: list[str] = []
        self.bound: list[set[str]] = list(bound or [])

    def _known(self, name: str) -> bool:
        return (
            name in SAFE_BUILTINS or name in self.host or any(name in scope for scope in self.bound)
        )

    def _unit(self, node: ast.expr) -> ast.expr:
        self.units.append(ast.unparse(node))
        return ast.copy_location(ast.Name(f"{UNIT_PREFIX}{len(self.units) - 1}", ast.Load()), node)

    def visit_Name(self, node: ast.Name) -> ast.expr:
        return node if self._known(node.id) else self._dependent(node)

    def visit_Call(self, node: ast.Call) -> ast.expr:
        if self._host_callable(node.func):
            return self.generic_visit(node)
        return self._dependent(node)

    def visit_Attribute(self, node: ast.Attribute) -> ast.expr:
        if isinstance(node.value, ast.Name) and not self._known(node.value.id):
            return self._dependent(node)
        return self.generic_visit(node)

    def _dependent(self, node: ast.expr) -> ast.expr:
        if self._uses_bound(node):
            raise _Escalate()
        return self._unit(node)

    def _host_callable(self, func: ast.expr) -> bool:
        if isinstance(func, ast.Name):
            return self._known(func.id)
        if isinstance(func, ast.Attribute):
            base = func.value
            if isinstance(base, ast.Name):
                return base.id in self.host or (
                    self._known(base.id) and func.attr in BUILTIN_METHODS
                )
            return func.attr in BUILTIN_METHODS
        return False

    def _uses_bound(self, node: ast.expr) -> bool:
        names = {n.id for n in ast.walk(node) if isinstance(n, ast.Name)}
        return any(names & scope for scope in self.bound)

    def _scoped(self, node: ast.expr) -> ast.expr:
        original = copy.deepcopy(node)
        self.bound.append(_bound_names(node))
        saved = len(self.units)
        try:
            return self.generic_visit(node)
        except _Escalate:
            del self.units[saved:]
            if len(self.bound) > 1 or not isinstance(original, _ROWS):
                raise _Unsupported(original) from None
            return self._rows(original)
        finally:
            self.bound.pop()

    def _rows(self, node: ast.ListComp | ast.SetComp | ast.GeneratorExp) -> ast.expr:
        """Candidate computes one row of call values per iteration; the grader runs the loop."""
        for gen in node.generators:
            for part in [gen.iter, *gen.ifs]:
                probe = _Splitter(self.host, self.bound)
                try:
                    probe.visit(copy.deepcopy(part))
                except (_Escalate, _Unsupported):
                    raise _Unsupported(node) from None
                if probe.units or probe.row_units:
                    raise _Unsupported(node)
        row = _RowSplitter(self.host, self.bound)
        elt = row.visit(copy.deepcopy(node.elt))
        row_source = ast.ListComp(
            ast.Tuple([ast.parse(u, mode="eval").body for u in row.units], ast.Load()),
            node.generators,
        )
        name = self._unit(row_source)
        self.row_units.append(name.id)
        picker = ast.Lambda(_one_arg(ROW_NAME), elt)
        take = ast.Call(picker, [ast.Call(ast.Name("next", ast.Load()), [name], [])], [])
        return ast.copy_location(type(node)(take, node.generators), node)

    visit_Lambda = visit_ListComp = visit_SetComp = visit_DictComp = visit_GeneratorExp = _scoped


ROW_NAME = f"{UNIT_PREFIX}_row"
_ROWS = (ast.ListComp, ast.SetComp, ast.GeneratorExp)


class _RowSplitter(_Splitter):
    """Inside a comprehension's element: each candidate call becomes ``__rlvr_u_row[j]``."""

    def _dependent(self, node: ast.expr) -> ast.expr:
        self.units.append(ast.unparse(node))
        index = ast.Constant(len(self.units) - 1)
        return ast.copy_location(
            ast.Subscript(ast.Name(ROW_NAME, ast.Load()), index, ast.Load()), node
        )

    def _scoped(self, node: ast.expr) -> ast.expr:
        before = len(self.units)
        self.bound.append(_bound_names(node))
        try:
            result = self.generic_visit(node)
        finally:
            self.bound.pop()
        if len(self.units) != before:
            raise _Unsupported(node)
        return result

    visit_Lambda = visit_ListComp = visit_SetComp = visit_DictComp = visit_GeneratorExp = _scoped


def _one_arg(name: str) -> ast.arguments:
    return ast.arguments(
        posonlyargs=[], args=[ast.arg(name)], kwonlyargs=[], kw_defaults=[], defaults=[]
    )


class _Escalate(Exception):
    """A candidate call uses names bound by an enclosing lambda/comprehension."""


class _Unsupported(Exception):
    """A lambda/comprehension shape whose candidate calls cannot be evaluated safely."""

    def __init__(self, node: ast.expr) -> None:
        super().__init__(ast.unparse(node))


def _bound_names(node: ast.expr) -> set[str]:
    if isinstance(node, ast.Lambda):
        args = node.args
        return {a.arg for a in args.posonlyargs + args.args + args.kwonlyargs}
    return {
        n.id for gen in node.generators for n in ast.walk(gen.target) if isinstance(n, ast.Name)
    }


def _validate_host_expression(expression: ast.expr) -> None:
    for node in ast.walk(expression):
        if isinstance(node, ast.Attribute) and node.attr.startswith("_"):
            raise BadReferenceError(
                f"test uses the private attribute {node.attr!r}; not allowed in code@1 tests"
            )
        if (
            isinstance(node, ast.Name)
            and node.id.startswith("__")
            and not node.id.startswith(UNIT_PREFIX)
        ):
            raise BadReferenceError(
                f"test uses the name {node.id!r}; dunder names are not allowed in code@1 tests"
            )
        if isinstance(node, (ast.NamedExpr, ast.Await, ast.Yield, ast.YieldFrom)):
            raise BadReferenceError(
                f"test uses {type(node).__name__}, which code@1 does not evaluate"
            )

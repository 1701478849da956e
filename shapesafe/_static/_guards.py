"""What a guard function tells its caller. A call statement `_check(x, y)` of a function the
checker reads, which gives back nothing, returns only where its body's guards held: its
top-level `assert`s and `if ...: raise` checks, read in order with the local names they
use (`n = x.shape[-2]`). Those are read once more, with the caller's values for the
parameters, and what they equate holds in the caller after the call, as if written there.
A guard on only some paths (under `if strict:`, after an early `return`) says nothing."""

import ast
import contextvars
from typing import TYPE_CHECKING

from ._modules import ClassModel
from ._scopes import _assigned, _own_nodes
from ._source import _params, dotted_name, per_node
from ._unify import facts

if TYPE_CHECKING:
    from ._calls import BodyCall
    from ._flow import _Scope
    from ._report import Env

Def = ast.FunctionDef | ast.AsyncFunctionDef

# How many guard functions deep the reading is: a guard that calls a guard is read, to a depth.
_depth: contextvars.ContextVar[int] = contextvars.ContextVar("shapesafe_static_guards", default=0)
_MAX_DEPTH = 2


def _at(node: ast.AST) -> tuple[int, int, int | None, int | None]:
    return (
        getattr(node, "lineno", 0),
        getattr(node, "col_offset", 0),
        getattr(node, "end_lineno", None),
        getattr(node, "end_col_offset", None),
    )


def _raises(body: list[ast.stmt]) -> bool:
    """Whether a block always ends in a `raise` (and returns nowhere)."""
    if not body or not isinstance(body[-1], ast.Raise):
        return False
    return not any(isinstance(n, ast.Return) for n in _own_nodes(body))


def _guard_if(stmt: ast.stmt) -> bool:
    """`if test: raise ...`, or a chain of them (`elif other: raise ...`)."""
    if not isinstance(stmt, ast.If) or not _raises(stmt.body):
        return False
    return not stmt.orelse or (len(stmt.orelse) == 1 and _guard_if(stmt.orelse[0]))


def _steps(fn: Def) -> list[ast.stmt]:
    """The statements of `fn`'s body that run on every path that returns: those before the
    first that holds a `return`, where at least one guard is among them; none where `fn`
    gives a value, yields, or is cached (a cached call need not run the body)."""
    for d in fn.decorator_list:
        if "cache" in (dotted_name(d.func if isinstance(d, ast.Call) else d) or ""):
            return []
    out: list[ast.stmt] = []
    stopped = False
    for node in _own_nodes(fn.body):
        if isinstance(node, ast.Return) and node.value is not None:
            if not (isinstance(node.value, ast.Constant) and node.value.value is None):
                return []
        if isinstance(node, (ast.Yield, ast.YieldFrom, ast.Await)):
            return []
    for stmt in fn.body:
        if any(isinstance(n, ast.Return) for n in _own_nodes([stmt])):
            stopped = True
        if not stopped:
            out.append(stmt)
    if not any(isinstance(s, ast.Assert) or _guard_if(s) for s in out):
        return []  # the calls it makes are read only in a function that has a guard of its own
    return out


def _call_stmt(stmt: ast.stmt) -> bool:
    return isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Call)


def _read(stmt: ast.stmt) -> bool:
    """Whether the guard reading reads `stmt`: a guard, a call of one, or a name bound."""
    if isinstance(stmt, (ast.Assert, ast.Assign, ast.AnnAssign)) or _call_stmt(stmt):
        return True
    return _guard_if(stmt)


def carry_guards(caller: "_Scope", call: ast.Call, made: "list[BodyCall]", env: "Env") -> None:
    """What the guards of the function that the statement `call` calls equate, in the
    caller's sizes, taken as known from here on. `made` are the calls of bodies the checker
    reads that the statement made; nothing where there is not exactly one of `call` itself
    (one of several classes may run, `AnyOfV`), or a subclass may override it."""
    mine = [c for c in made if _at(c.node) == _at(call)]
    held = facts()
    if len(mine) != 1 or not mine[0].own or held is None or _depth.get() >= _MAX_DEPTH:
        return
    c = mine[0]
    if isinstance(c.fn, ast.AsyncFunctionDef):
        return  # a call without `await` runs nothing
    steps = per_node(c.module, "guard steps", c.fn, lambda: _steps(c.fn))
    if not steps:
        return
    cls: ClassModel | None = caller.cls if c.on_self else None
    scope = type(caller)(caller.file.reader(c.module), c.fn.body, c.fn, cls)
    inner: Env = {}
    params = _params(c.fn)
    if c.shift and params:
        # `self` of `self._check(x, y)` is the caller's, with what it knows of its attributes.
        inner[params[0].arg] = env.get("self") if c.on_self else None
        if c.on_self:
            inner.update({k: v for k, v in env.items() if k.startswith("self.")})
    for p in params[c.shift :]:
        expr = c.given.get(p.arg)
        inner[p.arg] = c.values.get(id(expr)) if expr is not None else None
    token = _depth.set(_depth.get() + 1)
    try:
        for stmt in steps:
            if _read(stmt):
                if scope.stmt(stmt, inner) is None:
                    return
            else:
                for name in _assigned([stmt]):
                    inner.pop(name, None)  # unknown from here on
    finally:
        _depth.reset(token)

"""Small helpers that code defines for itself and calls with tensors, read by what their
body does rather than by name: `default(y, x)`, whose body is `return y if y is not None
else x`, gives y (of y's shape) when y is given, and x only in y's place."""

import ast

from .._source import Module, find_module, load_found

Def = ast.FunctionDef | ast.AsyncFunctionDef


def _function(module: Module, name: str, depth: int = 0) -> "tuple[Module, Def] | None":
    """The function `name` denotes at `module`'s top level, defined there or imported."""
    fn = module.functions.get(name)
    if fn is not None:
        return module, fn
    origin = module.imports.get(name)
    if origin is None or origin[1] is None or depth > 4:
        return None
    path = find_module(origin[0], module)
    target = load_found(path) if path is not None else None
    return None if target is None else _function(target, origin[1], depth + 1)


def _given(test: ast.expr, name: str) -> bool | None:
    """Whether `test` holds when the parameter `name` is given (not None); None if `test`
    asks something else. `y is not None` and `exists(y)` hold; `y is None` does not."""
    if isinstance(test, ast.Compare) and len(test.ops) == 1:
        left, right = test.left, test.comparators[0]
        if isinstance(left, ast.Name) and left.id == name:
            if isinstance(right, ast.Constant) and right.value is None:
                if isinstance(test.ops[0], ast.IsNot):
                    return True
                if isinstance(test.ops[0], ast.Is):
                    return False
    if (
        isinstance(test, ast.Call)
        and isinstance(test.func, ast.Name)
        and test.func.id == "exists"
        and len(test.args) == 1
        and isinstance(test.args[0], ast.Name)
        and test.args[0].id == name
    ):
        return True
    return None


def defaulting(module: Module, name: str) -> tuple[int, int] | None:
    """For a function `name` whose body is only `return a if a is not None else b` (or the
    same with `exists(a)`, or `b if a is None else a`) of its parameters a and b: their
    positions. None for any other function."""
    found = _function(module, name)
    if found is None:
        return None
    fn = found[1]
    body = [
        s for s in fn.body if not (isinstance(s, ast.Expr) and isinstance(s.value, ast.Constant))
    ]
    if len(body) != 1 or not isinstance(body[0], ast.Return):
        return None
    value = body[0].value
    params = [a.arg for a in [*fn.args.posonlyargs, *fn.args.args]]
    if not isinstance(value, ast.IfExp):
        return None
    sides = (value.body, value.orelse)
    if not all(isinstance(s, ast.Name) and s.id in params for s in sides):
        return None
    first, second = (s.id for s in sides if isinstance(s, ast.Name))
    if _given(value.test, first) is True:
        return params.index(first), params.index(second)
    if _given(value.test, second) is False:
        return params.index(second), params.index(first)
    return None


def _docstring(stmt: ast.stmt) -> bool:
    return isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant)

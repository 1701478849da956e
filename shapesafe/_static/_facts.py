"""What a scope's asserts and `if` guards say about its sizes: `assert x.shape[-1] ==
self.d`, `if h * d != e: raise ...`. Each is a pair of sizes that are equal where the code
goes on (`_unify.Facts`)."""

import ast
import itertools
from typing import TYPE_CHECKING

from ._unify import Size
from ._values import IntV, TupV, Value

if TYPE_CHECKING:
    from ._expr import _Expressions
    from ._report import Env

Pairs = list[tuple[Size, Size]]


def stated(scope: "_Expressions", test: ast.expr, env: "Env", truth: bool = True) -> Pairs:
    """The sizes that are equal where `test` is `truth`."""
    if isinstance(test, ast.UnaryOp) and isinstance(test.op, ast.Not):
        return stated(scope, test.operand, env, not truth)
    if isinstance(test, ast.BoolOp):
        # Where `a and b` is true, both are; where `a or b` is false, neither is.
        if isinstance(test.op, ast.And) == truth:
            return [p for part in test.values for p in stated(scope, part, env, truth)]
        return []
    if not isinstance(test, ast.Compare):
        return []
    wanted = ast.Eq if truth else ast.NotEq
    if truth and not all(isinstance(op, ast.Eq) for op in test.ops):
        return []
    if not truth and (len(test.ops) != 1 or not isinstance(test.ops[0], wanted)):
        return []
    scope.file.silent += 1
    try:
        values = [scope.value(e, env) for e in [test.left, *test.comparators]]
    finally:
        scope.file.silent -= 1
    out: Pairs = []
    for a, b in itertools.pairwise(values):
        out += _pairs(scope, a, b)
    return out


def _pairs(scope: "_Expressions", a: Value, b: Value) -> Pairs:
    if isinstance(a, TupV) and isinstance(b, TupV):
        if len(a.items) != len(b.items):
            return []
        return [p for x, y in zip(a.items, b.items, strict=True) for p in _pairs(scope, x, y)]
    x = a.size if isinstance(a, IntV) else scope.size_of(a)
    y = b.size if isinstance(b, IntV) else scope.size_of(b)
    return [] if x is None or y is None else [(x, y)]

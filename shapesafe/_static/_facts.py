"""What a scope's asserts and `if` guards say about its sizes: `assert x.shape[-1] ==
self.d`, `if h * d != e: raise ...`. Each is a pair of sizes that are equal where the code
goes on (`_unify.Facts`)."""

import ast
import itertools
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING

from ._source import Module, _params
from ._unify import Size, name, sym
from ._values import IntV, LayerV, ListV, SymV, TupV, Value

if TYPE_CHECKING:
    from ._expr import _Expressions
    from ._report import Env

Pairs = list[tuple[Size, Size]]
Def = ast.FunctionDef | ast.AsyncFunctionDef


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
    out: Pairs = []
    for a, b in itertools.pairwise(_read(scope, test, env)):
        out += _pairs(scope, a, b)
    return out


_LESS = (ast.Lt, ast.LtE)
_MORE = (ast.Gt, ast.GtE)


def ordered(scope: "_Expressions", test: ast.expr, env: "Env", truth: bool = True) -> Pairs:
    """The pairs (a, b) of sizes with `a <= b` where `test` is `truth`: `k <= n` where
    `k < n` is true, and `n <= k` where it is false (a strict order is kept as `<=`)."""
    if isinstance(test, ast.UnaryOp) and isinstance(test.op, ast.Not):
        return ordered(scope, test.operand, env, not truth)
    if isinstance(test, ast.BoolOp):
        if isinstance(test.op, ast.And) == truth:
            return [p for part in test.values for p in ordered(scope, part, env, truth)]
        return []
    if not isinstance(test, ast.Compare) or (not truth and len(test.ops) != 1):
        return []
    if all(isinstance(op, _LESS) for op in test.ops):
        rising = truth
    elif all(isinstance(op, _MORE) for op in test.ops):
        rising = not truth
    else:
        return []
    out: Pairs = []
    for a, b in itertools.pairwise(_read(scope, test, env)):
        # Tuples compare item by item in order, so say nothing of each item alone.
        found = [] if isinstance(a, TupV) or isinstance(b, TupV) else _pairs(scope, a, b)
        out += found if rising else [(y, x) for x, y in found]
    return out


def _read(scope: "_Expressions", test: ast.Compare, env: "Env") -> list[Value]:
    """The values a comparison compares, read without reporting."""
    scope.file.silent += 1
    try:
        return [scope.value(e, env) for e in [test.left, *test.comparators]]
    finally:
        scope.file.silent -= 1


def _pairs(scope: "_Expressions", a: Value, b: Value) -> Pairs:
    if isinstance(a, TupV) and isinstance(b, TupV):
        if len(a.items) != len(b.items):
            return []
        return [p for x, y in zip(a.items, b.items, strict=True) for p in _pairs(scope, x, y)]
    x = a.size if isinstance(a, IntV) else scope.size_of(a)
    y = b.size if isinstance(b, IntV) else scope.size_of(b)
    return [] if x is None or y is None else [(x, y)]


def named_like_dims(module: Module, fn: Def, attrs: Mapping[str, Value], key: int) -> Pairs:
    """A method's dims that its class holds a size of under the same name: `n_classes` in
    its annotations and the size of `self.n_classes = n_classes` (or of `self.cfg.n_classes`,
    or of a layer built with it, or of `self.head_dim = d // h`) are one size, as an
    `n_classes: int` parameter is. Otherwise a size of the class would be identified by the
    first size it must equal, and `torch.zeros(self.n_classes, self.n_latents)` returned as
    "n_latents n_classes" would pass. `attrs` are the values of the attributes of the class
    whose sizes `key` marks, by name."""
    anns = [p.annotation for p in _params(fn)] + [fn.returns]
    names: set[str] = set()
    for ann in anns:
        found = module.annotation(ann) if ann is not None else None
        if found is not None:
            names.update(d.name for d in found.spec.dims if d.kind == "named" and d.name)
    if not names:
        return []
    pairs: Pairs = []
    for size in _syms(attrs.values(), key):
        last = str(size.value).rsplit(".", 1)[-1]
        if last in names and (name(last), size) not in pairs:
            pairs.append((name(last), size))
    for attr, v in attrs.items():
        # `self.head_dim = cfg.d_model // cfg.n_heads`: a size of the class's own, by its name.
        if not (isinstance(v, IntV) and v.size.kind == "expr" and v.size.key):
            continue
        if attr in names and (name(attr), v.size) not in pairs:
            pairs.append((name(attr), v.size))
    return pairs


def _syms(values: Iterable[Value], key: int) -> list[Size]:
    """The sizes of a class's own (syms) that its attributes' values hold."""
    out: list[Size] = []
    todo = list(values)
    while todo:
        v = todo.pop()
        if isinstance(v, tuple):
            out += [i for i in v if isinstance(i, Size) and i.kind == "sym"]
        elif isinstance(v, IntV) and v.size.kind == "sym":
            out.append(v.size)
        elif isinstance(v, SymV):
            out.append(sym(v.text, key))
        elif isinstance(v, LayerV):
            out += [s for s in v.sizes if s is not None and s.kind == "sym"]
            todo += [v.weight, v.bias]
        elif isinstance(v, TupV):
            todo += v.items
        elif isinstance(v, ListV):
            todo.append(v.item)
    return out

"""Reading an unannotated helper's return shape from its body, with the shapes the caller
gives its unannotated parameters: `def dot(x, y): return (x * y).sum(-1, keepdim=True)`
called as `dot(a, b)` with `a` and `b` of known shapes gives a known shape.
"""

import ast
import dataclasses
from typing import cast

from ._modules import ClassModel
from ._source import Module, _join, find_module, load_found
from ._unify import Group, Item, Shape, Size, anonymous_group, fresh
from ._values import AnyOfV, ObjV, TupV, Value, _one_of

# (function, the shapes its parameters are bound to)
BoundKey = tuple[int, tuple[tuple[str, Shape], ...], tuple[tuple[Size, Size], ...]]


def unannotated_bound(
    module: Module,
    fn: ast.FunctionDef | ast.AsyncFunctionDef,
    given: dict[str, ast.expr],
    values: dict[int, Value],
) -> tuple[tuple[str, Shape], ...]:
    """The parameters of `fn` without an annotation that the call gives a tensor of known
    shape, with that shape; empty when a parameter that the body may read as a tensor is
    annotated (the body is then read under its own annotations)."""
    a = fn.args
    out: list[tuple[str, Shape]] = []
    for arg in [*a.posonlyargs, *a.args, *a.kwonlyargs]:
        expr = given.get(arg.arg)
        if expr is None:
            continue
        shape = values.get(id(expr))
        if not isinstance(shape, tuple):
            continue
        if arg.annotation is not None and module.annotation(arg.annotation) is not None:
            return ()
        if arg.annotation is None:
            out.append((arg.arg, shape))
    return tuple(out)


def renamed(value: Value, sizes: dict[Size, Size]) -> Value:
    """A shape (or a tuple of them) with each size that `sizes` names replaced."""
    if isinstance(value, tuple):
        return tuple(sizes.get(i, i) if isinstance(i, Size) else i for i in value)
    if isinstance(value, TupV) and not value.mutable:
        return dataclasses.replace(value, items=tuple(renamed(i, sizes) for i in value.items))
    return None


def in_caller_terms(value: Value, bound: tuple[tuple[str, Shape], ...]) -> Value:
    """What the body gave, kept only in sizes that the caller gave it: a size or group the
    body named itself (a local annotation's dim, a sym of the callee's class) becomes fresh,
    so that a name the callee and the caller share is never taken as one size."""
    known: set[Item] = {item for _, shape in bound for item in shape}
    renamed: dict[Item, Item] = {}

    def keep(item: Item) -> Item:
        if item in known:
            return item
        if isinstance(item, Size) and item.kind in ("int", "fresh"):
            return item
        if isinstance(item, Group) and not item.name:
            return item
        if item not in renamed:
            renamed[item] = fresh() if isinstance(item, Size) else anonymous_group()
        return renamed[item]

    def walk(v: Value) -> Value:
        if isinstance(v, tuple):
            return tuple(keep(i) for i in v)
        if isinstance(v, TupV) and not v.mutable:
            return dataclasses.replace(v, items=tuple(walk(i) for i in v.items))
        return None

    return walk(value)


def imported_function(
    module: Module, dotted: str, depth: int = 0
) -> tuple[Module, ast.FunctionDef | ast.AsyncFunctionDef] | None:
    """The top-level function, annotated or not, that the dotted name `dotted` denotes at
    `module`'s top level, through `import`s of checked files (as `_source.resolve`)."""
    if depth > 6:
        return None
    first, _, rest = dotted.partition(".")
    origin = module.imports.get(first)
    if not rest:
        fn = module.functions.get(first)
        if fn is not None:
            return module, fn
        if origin is None or origin[1] is None:
            return None
        mod_name, attr = origin[0], origin[1]
    else:
        if origin is None:
            return None
        mod_name = origin[0] if origin[1] is None else _join(origin[0], origin[1])
        parts = rest.split(".")
        for part in parts[:-1]:
            mod_name = _join(mod_name, part)
        attr = parts[-1]
    path = find_module(mod_name, module)
    target = load_found(path) if path is not None else None
    return None if target is None else imported_function(target, attr, depth + 1)


def _derives(cls: ClassModel, base: ClassModel) -> bool:
    return cls is base or any(_derives(b, base) for b in cls.bases)


def narrowed(v: Value, classes: list[ClassModel]) -> Value:
    """`cast(T, x)`: of the instances that x may be (one of several, or unknown), those of T
    or a class derived from it; instances of T itself where none is."""
    options = v.options if isinstance(v, AnyOfV) else ()
    kept: list[Value] = [
        o
        for o in options
        if isinstance(o, ObjV) and any(_derives(cast(ClassModel, o.cls), c) for c in classes)
    ]
    named: list[Value] = [ObjV(c, exact=False) for c in classes]
    return _one_of(kept or named)

"""A return annotated with an anonymous run (`-> Float[Tensor, "... d_sae"]`), read through
the callee's body. jaxtyping ties no `...` to another, so the annotation alone says nothing
of that run; but the body often returns the run of a parameter's own `...`
(`x: Float[Tensor, "... d_in"]`), which the call gives. Each parameter's `...` is one run
in every reading of its function's body, with a key of its own (`param_shape`), so that a
call can put its argument's axes in its place."""

import ast
from typing import TYPE_CHECKING

from .._contract import Spec
from ._source import Module, _params
from ._unify import Group, Shape, Size, Unifier, from_spec
from ._values import TupV, Value

if TYPE_CHECKING:
    from ._file import FileChecker
    from ._modules import ClassModel

Fn = ast.FunctionDef | ast.AsyncFunctionDef


def param_key(fn: Fn, name: str) -> int:
    """The key of the anonymous run of parameter `name` of `fn`. Negative, apart from
    `anonymous_group`'s keys, which count up from 0."""
    return -1 - (hash((id(fn), name)) & 0xFFFFFFFFFFFF)


def param_shape(fn: Fn | None, name: str, spec: Spec) -> Shape:
    """A parameter's shape as its body starts: its annotation's, with its `...` keyed."""
    shape = from_spec(spec)
    if fn is None:
        return shape
    key = param_key(fn, name)
    return tuple(Group("", key) if isinstance(i, Group) and not i.name else i for i in shape)


def anonymous_run(spec: Spec) -> bool:
    return any(d.kind == "anonymous_variadic" for d in spec.dims)


def _run_of(spec: Spec, shape: Shape) -> Shape | None:
    """The axes of `shape` that the `...` of `spec` takes, where they are certain."""
    at = [i for i, d in enumerate(spec.dims) if d.kind == "anonymous_variadic"]
    if len(at) != 1 or any(d.kind == "variadic" for d in spec.dims):
        return None
    before, after = at[0], len(spec.dims) - at[0] - 1
    if len(shape) < before + after:
        return None
    edges = (*shape[:before], *shape[len(shape) - after :])
    if any(isinstance(i, Group) for i in edges):
        return None
    return shape[before : len(shape) - after]


def given_runs(
    module: Module,
    fn: Fn,
    given: dict[str, ast.expr],
    values: dict[int, Value],
) -> dict[int, Shape]:
    """The caller's axes of each anonymous run of `fn`'s parameters, by key."""
    out: dict[int, Shape] = {}
    for arg in _params(fn):
        expr = given.get(arg.arg)
        found = None if arg.annotation is None else module.annotation(arg.annotation)
        shape = values.get(id(expr)) if expr is not None else None
        if found is None or not isinstance(shape, tuple) or not anonymous_run(found.spec):
            continue
        run = _run_of(found.spec, shape)
        if run is not None:
            out[param_key(fn, arg.arg)] = run
    return out


def through(
    body: Value, runs: dict[int, Shape], unifier: Unifier, spec: Spec, on_self: bool
) -> Shape | None:
    """What the body returns (`body`, in its own names) in the caller's sizes, where each
    run it holds is that of a parameter that the call gives, and it fits `spec`."""
    if not isinstance(body, tuple) or not runs:
        return None
    keys = {i.key for i in body if isinstance(i, Group) and not i.name}
    if not keys <= set(runs):
        return None  # a run the body made: `...` of a call inside it
    out = unifier.substitute(body, on_self, runs)
    if unifier.copy().match("return", spec, out) is not None:
        return None
    return out


def through_each(
    body: Value,
    runs: dict[int, Shape],
    unifier: Unifier,
    specs: list[Spec | None],
    on_self: bool,
) -> list[Shape | None]:
    """`through` for each element of a tuple returned."""
    items = body.items if isinstance(body, TupV) and len(body.items) == len(specs) else ()
    if not items:
        return [None] * len(specs)
    return [
        None
        if spec is None or not anonymous_run(spec)
        else through(v, runs, unifier, spec, on_self)
        for v, spec in zip(items, specs, strict=True)
    ]


# A call as `returned` reads it: the checker of the caller's file, the callee's module,
# function and class, and the call's arguments (by parameter) with their values.
Called = tuple[
    "FileChecker", Module, Fn, "ClassModel | None", tuple[dict[str, ast.expr], dict[int, Value]]
]


def _unknowns(shape: Shape) -> int:
    """How little a shape says: a run of unknown length counts as two unknown sizes."""
    return sum(
        2 * (isinstance(i, Group) and not i.name) + (isinstance(i, Size) and i.kind == "fresh")
        for i in shape
    )


def better(read: Shape | None, out: Shape) -> Shape:
    """The body's reading `read`, unless the annotation's `out` knows more of the axes. A
    run in `read` is the caller's own, where the one in `out` is new."""
    return read if read is not None and _unknowns(read) <= _unknowns(out) else out


def tuple_returned(
    call: Called, unifier: Unifier, specs: list[Spec | None], on_self: bool, infer: bool
) -> TupV:
    """A call that returns `tuple[Float[...], ...]`: each element, read through the body
    where it can be and `infer`, else as its annotation (`specs`) says."""
    read = returned(call, unifier, specs, on_self) if infer else [None] * len(specs)
    return TupV(
        tuple(
            r if r is not None else (None if s is None else unifier.result(s))
            for r, s in zip(read, specs, strict=True)
        )
    )


def returned(
    call: Called, unifier: Unifier, specs: list[Spec | None], on_self: bool
) -> list[Shape | None]:
    """What a call returns, read through the body, for each of the return's `specs` (one
    for a tensor, one an element for a tuple); None where the annotation alone is read."""
    file, module, fn, owner, (given, values) = call
    none: list[Shape | None] = [None] * len(specs)
    if not any(s is not None and anonymous_run(s) for s in specs):
        return none
    runs = given_runs(module, fn, given, values)
    body = file.infer(module, fn, owner) if runs else None
    if isinstance(body, TupV) != (len(specs) > 1) or body is None:
        return none
    if len(specs) == 1:
        spec = specs[0]
        read = [None if spec is None else through(body, runs, unifier, spec, on_self)]
    else:
        read = through_each(body, runs, unifier, specs, on_self)
    if any(r is not None for r in read):
        file.stats_known("return read from the body")
    return read

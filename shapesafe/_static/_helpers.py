"""Reading an unannotated helper's return shape from its body, with the shapes the caller
gives its unannotated parameters: `def dot(x, y): return (x * y).sum(-1, keepdim=True)`
called as `dot(a, b)` with `a` and `b` of known shapes gives a known shape.
"""

import ast
import dataclasses
from collections.abc import Callable
from typing import cast

from .._contract import Spec
from ._modules import ClassModel, base_names
from ._poly import atoms, form
from ._source import (
    Module,
    _decorated,
    _params,
    dotted_name,
    dotted_target,
    find_module,
    load_found,
    per_node,
    walk,
)
from ._torch import int_literal
from ._unify import Group, Item, Shape, Size, anonymous_group, fresh
from ._values import AnyOfV, DictV, IntV, NumV, ObjV, SymV, TupV, Value, _one_of

# (function, the shapes its parameters are bound to, sizes made, flags given)
Flags = tuple[tuple[str, object], ...]
# unannotated parameter -> the number a call gives it (`number_params`)
Numbers = tuple[tuple[str, NumV | IntV], ...]
BoundKey = tuple[int, tuple[tuple[str, Shape], ...], tuple[tuple[Size, Size], ...], Flags]
_FLAG_TYPES = (bool, str, int, type(None))


def given_flags(
    module: Module,
    fn: ast.FunctionDef | ast.AsyncFunctionDef,
    given: dict[str, ast.expr],
    node: ast.Call | None,
    every: bool = False,
) -> Flags:
    """The parameters of `fn` that hold a constant (`True`, `None`, `"logits"`) for the
    whole of its body: the call writes the constant, or leaves a parameter with a constant
    default unset (with no `*args` or `**kwargs` that could set it); never rebound. Only
    those an `if` tests, unless `every` (`keepdim=keepdim` in a body read with the call's
    shapes)."""
    a = fn.args
    spread = node is None or any(isinstance(x, ast.Starred) for x in node.args)
    spread = spread or any(k.arg is None for k in (node.keywords if node else []))
    params = [*a.posonlyargs, *a.args]
    defaults = dict(
        zip([p.arg for p in params[len(params) - len(a.defaults) :]], a.defaults, strict=True)
    )
    defaults.update(
        {p.arg: d for p, d in zip(a.kwonlyargs, a.kw_defaults, strict=True) if d is not None}
    )
    constants: list[tuple[str, object]] = []
    for arg in [*params, *a.kwonlyargs]:
        expr = given.get(arg.arg, None if spread else defaults.get(arg.arg))
        if isinstance(expr, ast.Constant) and type(expr.value) in _FLAG_TYPES:
            constants.append((arg.arg, expr.value))
    if not constants:
        return ()  # the body need not be read for what its ifs test
    tested = per_node(module, "flags", fn, lambda: _tested(fn) - _stored_in(module, fn))
    if every:
        tested = frozenset(p.arg for p in [*params, *a.kwonlyargs]) - _stored_in(module, fn)
    return tuple((name, value) for name, value in constants if name in tested)


def constant_locals(module: Module, fn: ast.FunctionDef | ast.AsyncFunctionDef) -> Flags:
    """The local names of `fn` that hold one constant (`False`, `None`, `"mean"`) wherever
    they are read: bound once, by `name = constant` in its own body (in a loop or branch
    too: a read before it fails), and nowhere else (no other assignment, loop, import,
    `global` or nested rebinding). `if debug:` after `debug = False` never runs; read
    once per function."""
    return per_node(module, "constant locals", fn, lambda: _constant_locals(fn))


def _constant_locals(fn: ast.FunctionDef | ast.AsyncFunctionDef) -> Flags:
    top = {
        stmt.targets[0].id: stmt.value.value
        for stmt in _own_statements(fn.body)
        if isinstance(stmt, ast.Assign)
        and len(stmt.targets) == 1
        and isinstance(stmt.targets[0], ast.Name)
        and isinstance(stmt.value, ast.Constant)
        and type(stmt.value.value) in _FLAG_TYPES
    }
    if not top:
        return ()
    bound = _binding_counts(fn, plain=2)  # a parameter, import or def is never a flag
    return tuple((k, v) for k, v in top.items() if bound.get(k) == 1)


def nested_def(
    module: Module, fn: ast.FunctionDef | ast.AsyncFunctionDef | None, name: str
) -> ast.FunctionDef | None:
    """The function that `def name(...)` in `fn`'s own body makes, where nothing else in
    `fn` binds `name`: a call of `name` there is a call of it."""
    if fn is None:
        return None
    return per_node(module, "nested defs", fn, lambda: _nested_defs(fn)).get(name)


def _nested_defs(fn: ast.FunctionDef | ast.AsyncFunctionDef) -> dict[str, ast.FunctionDef]:
    made = {s.name: s for s in _own_statements(fn.body) if isinstance(s, ast.FunctionDef)}
    bound = _binding_counts(fn, plain=1)
    return {k: v for k, v in made.items() if bound.get(k) == 1}


def _binding_counts(fn: ast.FunctionDef | ast.AsyncFunctionDef, plain: int) -> dict[str, int]:
    """How often each name is bound in `fn`: once per assignment, twice per `global` or
    `nonlocal` (never bound once), and `plain` times per parameter, import, nested def or
    class, `except ... as` and match capture."""
    bound: dict[str, int] = {}
    for node in walk(fn):
        names: list[str] = []
        times = plain
        if isinstance(node, ast.Name) and not isinstance(node.ctx, ast.Load):
            names, times = [node.id], 1
        elif isinstance(node, (ast.Global, ast.Nonlocal)):
            names, times = node.names, 2
        elif isinstance(node, ast.arg):
            names = [node.arg]
        elif isinstance(node, ast.alias):
            names = [(node.asname or node.name).split(".")[0]]
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names = [node.name] if node is not fn else []
        elif isinstance(node, (ast.ExceptHandler, ast.MatchAs, ast.MatchStar)) and node.name:
            names = [node.name]
        for n in names:
            bound[n] = bound.get(n, 0) + times
    return bound


def _own_statements(body: list[ast.stmt]) -> list[ast.stmt]:
    """The statements of `body` and of the blocks inside it, but not of nested functions
    or classes (their names are their own)."""
    out: list[ast.stmt] = []
    for stmt in body:
        out.append(stmt)
        if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            continue
        for field in ("body", "orelse", "finalbody"):
            out += _own_statements(getattr(stmt, field, []))
        for handler in getattr(stmt, "handlers", []):
            out += _own_statements(handler.body)
        for case in getattr(stmt, "cases", []):
            out += _own_statements(case.body)
    return out


def int_flags(
    module: Module,
    fn: ast.FunctionDef | ast.AsyncFunctionDef,
    given: dict[str, ast.expr],
    node: ast.Call | None,
    sizes: dict[int, Value] | None = None,
    size_of: Callable[[Value], Size | None] | None = None,
) -> Flags:
    """The parameters of `fn`, unannotated or `int`, that hold an int literal (`dim=-1`,
    `softmax(x, -1)`) for the whole of its body, never rebound, and those, unannotated or
    `Sequence[int]`, that the call gives a tuple of sizes (`size=(d_out, d_in)`); a body
    read with its caller's shapes takes them as those numbers and sizes."""
    a = fn.args
    if node is None or any(isinstance(x, ast.Starred) for x in node.args):
        return ()
    if any(k.arg is None for k in node.keywords):
        return ()
    params = [*a.posonlyargs, *a.args]
    defaults = dict(
        zip([p.arg for p in params[len(params) - len(a.defaults) :]], a.defaults, strict=True)
    )
    defaults.update(
        {p.arg: d for p, d in zip(a.kwonlyargs, a.kw_defaults, strict=True) if d is not None}
    )
    ints = [
        p.arg
        for p in [*params, *a.kwonlyargs]
        if p.annotation is None or _int_annotation(p.annotation)
    ]
    if not ints:
        return ()
    stored = _stored_in(module, fn)
    out: list[tuple[str, object]] = []
    for name in ints:
        expr = given.get(name, defaults.get(name))
        value: object = int_literal(expr)
        if value is None and expr is not None and name in given and sizes is not None:
            held = sizes.get(id(expr))
            if isinstance(held, TupV) and held.items and not held.fields and size_of is not None:
                read = [size_of(i) for i in held.items]
                value = TupV(tuple(IntV(r) for r in read if r is not None))
                value = value if len(value.items) == len(read) else None
        if value is not None and name not in stored:
            out.append((name, value))
    return tuple(out)


def _int_annotation(node: ast.expr) -> bool:
    """`int`, or a sequence of ints: `Sequence[int]`, `tuple[int, ...]`, `list[int]`, or a
    Union of those (`int | tuple[int, ...]`, `Optional[int]`)."""
    if isinstance(node, ast.Name):
        return node.id == "int"
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitOr):
        return all(_int_annotation(n) or _none(n) for n in (node.left, node.right))
    if isinstance(node, ast.Subscript) and dotted_name(node.value) in _UNIONS:
        parts = node.slice.elts if isinstance(node.slice, ast.Tuple) else [node.slice]
        return any(map(_int_annotation, parts)) and all(
            _int_annotation(n) or _none(n) for n in parts
        )
    if isinstance(node, ast.Subscript) and dotted_name(node.value) in _SEQUENCES:
        inner = node.slice.elts[0] if isinstance(node.slice, ast.Tuple) else node.slice
        return isinstance(inner, ast.Name) and inner.id == "int"
    return False


_SEQUENCES = {"Sequence", "typing.Sequence", "tuple", "list", "Tuple", "List"}
_UNIONS = {"Union", "typing.Union", "Optional", "typing.Optional"}


def _none(node: ast.expr) -> bool:
    return isinstance(node, ast.Constant) and node.value is None


def _stored_in(module: Module, fn: ast.FunctionDef | ast.AsyncFunctionDef) -> frozenset[str]:
    """`_stored` of a function's body, read once per function."""
    return per_node(module, "stored", fn, lambda: frozenset(_stored(fn.body)))


def _tested(fn: ast.FunctionDef | ast.AsyncFunctionDef) -> frozenset[str]:
    """The names that an `if` of `fn` tests: only those flags can change what it gives
    (and the others would only split its readings); read once per function."""
    return frozenset(
        n.id
        for stmt in walk(fn)
        if isinstance(stmt, ast.If)
        for n in walk(stmt.test)
        if isinstance(n, ast.Name)
    )


def _stored(body: list[ast.stmt]) -> set[str]:
    """The names that `body` binds, but for `p` bound under `if p is None:` outside any
    loop or nested function (a default filled in; `decided` forgets `p` after that `if`)."""
    out: set[str] = set()
    for stmt in body:
        test = stmt.test if isinstance(stmt, ast.If) else None
        if (
            isinstance(test, ast.Compare)
            and isinstance(test.left, ast.Name)
            and isinstance(test.ops[0], ast.Is)
            and isinstance(test.comparators[0], ast.Constant)
            and test.comparators[0].value is None
            and isinstance(stmt, ast.If)
        ):
            out |= (_stored(stmt.body) - {test.left.id}) | _stored(stmt.orelse)
        elif isinstance(stmt, ast.If):
            out |= _stored(stmt.body) | _stored(stmt.orelse) | _stored([ast.Expr(stmt.test)])
        else:
            for n in walk(stmt):
                if isinstance(n, ast.Name) and not isinstance(n.ctx, ast.Load):
                    out.add(n.id)
                elif isinstance(n, (ast.Global, ast.Nonlocal)):
                    out.update(n.names)
    return out


def decided(test: ast.expr, flags: dict[str, object]) -> bool | None:
    """Whether `test` holds, where it reads only flags (`given_flags`) and constants: `flag`,
    `not flag`, `flag is None`, `kind == "logits"`, and `and`/`or` of those; None if unknown."""
    if isinstance(test, ast.Name):
        return bool(flags[test.id]) if test.id in flags else None
    if isinstance(test, ast.UnaryOp) and isinstance(test.op, ast.Not):
        inner = decided(test.operand, flags)
        return None if inner is None else not inner
    if isinstance(test, ast.BoolOp):
        parts = [decided(v, flags) for v in test.values]
        stop = isinstance(test.op, ast.Or)  # the value that decides the whole
        if stop in parts:
            return stop
        return None if None in parts else not stop
    if isinstance(test, ast.Compare) and len(test.ops) == 1:
        left, right = test.left, test.comparators[0]
        if isinstance(left, ast.Constant):
            left, right = right, left
        if not (isinstance(left, ast.Name) and left.id in flags) or not isinstance(
            right, ast.Constant
        ):
            return None
        value, op = flags[left.id], test.ops[0]
        singleton = any(v is None or isinstance(v, bool) for v in (value, right.value))
        if isinstance(op, (ast.Is, ast.IsNot)) and singleton:
            return (value is right.value) == isinstance(op, ast.Is)
        if isinstance(op, (ast.Eq, ast.NotEq)):  # constants compare as they will at run time
            return bool(value == right.value) == isinstance(op, ast.Eq)
    return None


def tensor_tested(
    test: ast.expr, given: set[str], qualified: Callable[[ast.expr], str | None]
) -> bool | None:
    """Whether `test` holds where it asks of a parameter `p` that still holds the tensor its
    caller gave it (`given`): `p is None`, `p is not None`, `isinstance(p, torch.Tensor)`,
    and `not` of those; None for any other test."""
    if isinstance(test, ast.UnaryOp) and isinstance(test.op, ast.Not):
        inner = tensor_tested(test.operand, given, qualified)
        return None if inner is None else not inner
    if isinstance(test, ast.Call) and dotted_name(test.func) == "isinstance":
        if len(test.args) == 2 and not test.keywords:
            p, kind = test.args
            if isinstance(p, ast.Name) and p.id in given and qualified(kind) == "torch.Tensor":
                return True
        return None
    if not (isinstance(test, ast.Compare) and len(test.ops) == 1):
        return None
    left, right = test.left, test.comparators[0]
    if not (isinstance(left, ast.Name) and left.id in given):
        return None
    if isinstance(right, ast.Constant) and right.value is None:
        if isinstance(test.ops[0], (ast.Is, ast.IsNot)):
            return isinstance(test.ops[0], ast.IsNot)
    return None


def unannotated_bound(
    module: Module,
    fn: ast.FunctionDef | ast.AsyncFunctionDef,
    given: dict[str, ast.expr],
    values: dict[int, Value],
) -> tuple[tuple[str, Shape], ...]:
    """The parameters of `fn` without an annotation, or annotated as a plain `Tensor` or a
    tensor of any shape (`Float[Tensor, "..."]`), that the call gives a tensor of known
    shape, with that shape; empty when a parameter that the body may read as a tensor has a
    shaped annotation (the body is then read under its own annotations first: see
    `caller_bound`)."""
    out: list[tuple[str, Shape]] = []
    for arg in _params(fn):
        expr = given.get(arg.arg)
        if expr is None:
            continue
        shape = values.get(id(expr))
        if not isinstance(shape, tuple):
            continue
        found = None if arg.annotation is None else module.annotation(arg.annotation)
        if found is not None and not shapeless(found.spec):
            return ()
        if arg.annotation is None or found is not None or _plain_tensor(module, arg.annotation):
            out.append((arg.arg, shape))
    return tuple(out)


def number_params(
    fn: ast.FunctionDef | ast.AsyncFunctionDef,
    given: dict[str, ast.expr] | None,
    values: dict[int, Value],
) -> Numbers:
    """The unannotated parameters of `fn` that a call gives a Python number: one that is
    not a size (`descale(depth, lo, hi)` with `lo: float`), which broadcasts with any
    tensor, or a size of the caller's (`grid(h, w)` with `h, w = x.shape[-2:]`), with it. A
    body read with the call's shapes reads them so."""
    if given is None:
        return ()
    out: list[tuple[str, NumV | IntV]] = []
    for arg in _params(fn):
        expr = given.get(arg.arg) if arg.annotation is None else None
        held = None if expr is None else values.get(id(expr))
        if isinstance(held, NumV) or (isinstance(held, IntV) and held.size.kind != "int"):
            out.append((arg.arg, held))
    return tuple(out)


def sized(numbers: Numbers) -> bool:
    """Whether the call gives one of `fn`'s parameters a size of its own (`number_params`)."""
    return any(isinstance(v, IntV) for _, v in numbers)


def caller_bound(
    module: Module,
    fn: ast.FunctionDef | ast.AsyncFunctionDef,
    given: dict[str, ast.expr],
    values: dict[int, Value],
    flags: Flags,
    every: bool,
) -> tuple[tuple[tuple[str, Shape], ...], Flags]:
    """The shapes that a body read with its caller's (`FileChecker.infer_bound`) takes: its
    parameters' as `unannotated_bound` gives them; where it gives none and `every` (the
    body gave nothing under its own annotations), those of `_every_bound`, with the tuples
    of numbers the call gives (`_number_tuples`) as more flags."""
    bound = unannotated_bound(module, fn, given, values)
    if bound or not every:
        return bound, ()
    bound = _every_bound(fn, given, values)
    return bound, _number_tuples(fn, given, values, flags) if bound else ()


def _every_bound(
    fn: ast.FunctionDef | ast.AsyncFunctionDef,
    given: dict[str, ast.expr],
    values: dict[int, Value],
) -> tuple[tuple[str, Shape], ...]:
    """Every parameter of `fn` that a call, whose tensors fit `fn`'s annotations, gives a
    tensor of known shape, with that shape, whatever its annotation says (`inp_scale:
    ValidScale`, an alias the checker cannot read, or `x: Float[Tensor, "... D"]`): a body
    that gives nothing under its own annotations, read again with these, gives what this
    call returns, in the caller's sizes."""
    out: list[tuple[str, Shape]] = []
    for arg in _params(fn):
        expr = given.get(arg.arg)
        shape = None if expr is None else values.get(id(expr))
        if isinstance(shape, tuple):
            out.append((arg.arg, shape))
    return tuple(out)


def _number_tuples(
    fn: ast.FunctionDef | ast.AsyncFunctionDef,
    given: dict[str, ast.expr],
    values: dict[int, Value],
    flags: Flags,
) -> Flags:
    """The parameters of `fn`, not among `flags`, that a call gives a tuple of Python
    numbers (`(0, 1)`, `(-cfg.radius, cfg.radius)`, `x.shape[:2]`), with that tuple: a body
    read with the caller's shapes (`_every_bound`) takes them as the caller gives them."""
    held = {name for name, _ in flags}
    out: list[tuple[str, object]] = []
    for arg in _params(fn):
        expr = given.get(arg.arg)
        v = None if expr is None or arg.arg in held else values.get(id(expr))
        if isinstance(v, TupV) and v.items and not (v.mutable or v.fields):
            if all(isinstance(i, (IntV, NumV, SymV)) for i in v.items):
                out.append((arg.arg, v))
    return tuple(out)


def vague(v: Value) -> bool:
    """Whether a body read under its own annotations left a rank unknown: a shape with a
    run that no annotation names (`self.lin(x)` of an unannotated `x` is `... d_out`)."""
    if isinstance(v, tuple):
        return any(isinstance(i, Group) and not i.name for i in v)
    return isinstance(v, TupV) and any(vague(i) for i in v.items)


def shapeless(spec: Spec) -> bool:
    """A spec that says nothing of the shape: `"..."` or `"*_"`, a tensor of any rank."""
    return len(spec.dims) == 1 and spec.dims[0].kind == "anonymous_variadic"


def _plain_tensor(module: Module, node: ast.expr) -> bool:
    """`torch.Tensor` or `Tensor` imported from torch: a tensor of any shape."""
    written = dotted_name(node)
    root, _, rest = (written or "").partition(".")
    origin = module.imports.get(root)
    if origin is None:
        return False
    head = origin[0] if origin[1] is None else f"{origin[0]}.{origin[1]}"
    return (f"{head}.{rest}" if rest else head) == "torch.Tensor"


def renamed(value: Value, sizes: dict[Size, Size]) -> Value:
    """A shape (or a tuple of them) with each size that `sizes` names replaced."""
    if isinstance(value, tuple):
        return tuple(sizes.get(i, i) if isinstance(i, Size) else i for i in value)
    if isinstance(value, TupV) and not value.mutable:
        return dataclasses.replace(value, items=tuple(renamed(i, sizes) for i in value.items))
    if isinstance(value, DictV):
        return DictV(
            tuple((k, renamed(v, sizes)) for k, v in value.items), renamed(value.each, sizes)
        )
    return None


def in_caller_terms(value: Value, bound: tuple[tuple[str, Shape], ...]) -> Value:
    """What the body gave, kept only in sizes that the caller gave it: a size or group the
    body named itself (a local annotation's dim, a sym of the callee's class) becomes fresh,
    so that a name the callee and the caller share is never taken as one size."""
    known: set[Item] = {item for _, shape in bound for item in shape}
    names = {str(i.value) for i in known if isinstance(i, Size) and i.kind == "name"}
    renamed: dict[Item, Item] = {}

    def keep(item: Item) -> Item:
        if item in known or _of_names(item, names):
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
        if isinstance(v, DictV):
            return DictV(tuple((k, walk(i)) for k, i in v.items), walk(v.each))
        return None

    return walk(value)


def _of_names(item: Item, names: set[str]) -> bool:
    """A size the body worked out of the caller's named sizes alone (`2*n` from `n`)."""
    if not (isinstance(item, Size) and item.kind == "expr"):
        return False
    poly = form(item)
    return poly is not None and atoms(poly) <= names


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
        mod_name, attr = dotted_target(origin, rest)
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


_AUTOGRAD = frozenset(("torch.autograd.Function", "torch.autograd.function.Function"))


def autograd_function(cls: ClassModel) -> bool:
    """Whether `cls` derives from `torch.autograd.Function` and defines its `forward` as a
    static method: `Cls.apply(*args)` is then `Cls.forward(ctx, *args)`."""
    found = cls.method("forward")
    if found is None or not _decorated(found[1], "staticmethod"):
        return False
    todo, seen = [cls], set()
    while todo:
        here = todo.pop()
        if id(here) in seen:
            continue
        seen.add(id(here))
        if _AUTOGRAD & set(base_names(here)):
            return True
        todo.extend(here.bases)
    return False

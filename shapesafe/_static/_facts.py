"""What a scope's asserts and `if` guards say about its sizes: `assert x.shape[-1] ==
self.d`, `if h * d != e: raise ...`. Each is a pair of sizes that are equal where the code
goes on (`_unify.Facts`). An assert of a whole shape (`assert y.shape == (n, 3)`) also gives
a value of unknown shape those sizes (`asserted_shape`)."""

import ast
import itertools
import operator
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, cast

from ._source import Module, _params, dotted_name, per_node, walk
from ._torch import int_value
from ._unify import Group, Size, fresh, name, run_item, sym
from ._values import IntV, LayerV, ListV, SymV, TupV, Value

if TYPE_CHECKING:
    from ._expr import _Expressions
    from ._report import Env

Pairs = list[tuple[Size, Size]]
Def = ast.FunctionDef | ast.AsyncFunctionDef


def _comparisons(test: ast.expr, truth: bool) -> list[tuple[ast.Compare, bool]]:
    """The comparisons that all hold (each with the truth it has) where `test` is `truth`:
    `not` flips it; where `a and b` is true, both are; where `a or b` is false, neither is."""
    if isinstance(test, ast.UnaryOp) and isinstance(test.op, ast.Not):
        return _comparisons(test.operand, not truth)
    if isinstance(test, ast.BoolOp):
        if isinstance(test.op, ast.And) == truth:
            return [c for part in test.values for c in _comparisons(part, truth)]
        return []
    return [(test, truth)] if isinstance(test, ast.Compare) else []


def stated(scope: "_Expressions", test: ast.expr, env: "Env", truth: bool = True) -> Pairs:
    """The sizes that are equal where `test` is `truth`."""
    return [p for c, t in _comparisons(test, truth) for p in _equal(scope, c, env, t)]


def _equal(scope: "_Expressions", test: ast.Compare, env: "Env", truth: bool) -> Pairs:
    wanted = ast.Eq if truth else ast.NotEq
    if truth and not all(isinstance(op, ast.Eq) for op in test.ops):
        return []
    if not truth and (len(test.ops) != 1 or not isinstance(test.ops[0], wanted)):
        return []
    out: Pairs = []
    for a, b in itertools.pairwise(_read(scope, test, env)):
        out += _pairs(scope, a, b)
    return out


def asserted_shape(scope: "_Expressions", test: ast.expr, env: "Env") -> None:
    """`assert x.shape == (n, 3)` (or `x.size()`, a list, `torch.Size([...])`) where x's
    shape is unknown: x has those sizes from here on. A shape already known is left to
    the assert's facts (`stated`), which compare it."""
    if isinstance(test, ast.BoolOp) and isinstance(test.op, ast.And):
        for part in test.values:
            asserted_shape(scope, part, env)
        return
    if not (isinstance(test, ast.Compare) and [type(o) for o in test.ops] == [ast.Eq]):
        return
    for held, given in ((test.left, test.comparators[0]), (test.comparators[0], test.left)):
        target = _shape_of_name(held)
        sizes = _size_list(given)
        if target is None or sizes is None or env.get(target, 0) is not None:
            continue
        scope.file.silent += 1
        try:
            found = [scope.size_of(scope.value(e, env)) for e in sizes]
        finally:
            scope.file.silent -= 1
        env[target] = tuple(s if s is not None else fresh() for s in found)
        return


def _shape_of_name(node: ast.expr) -> str | None:
    """`x` of `x.shape` or `x.size()`, a local name."""
    if isinstance(node, ast.Call) and not node.args and not node.keywords:
        node = node.func
        if not (isinstance(node, ast.Attribute) and node.attr == "size"):
            return None
    elif not (isinstance(node, ast.Attribute) and node.attr == "shape"):
        return None
    return node.value.id if isinstance(node.value, ast.Name) else None


def _size_list(node: ast.expr) -> list[ast.expr] | None:
    """The sizes of a literal shape: `(n, 3)`, `[n, 3]`, `torch.Size([n, 3])`; None for
    anything else or one with a starred part."""
    if isinstance(node, ast.Call) and len(node.args) == 1 and not node.keywords:
        if not (isinstance(node.func, ast.Attribute) and node.func.attr == "Size"):
            return None
        node = node.args[0]
    if not isinstance(node, (ast.Tuple, ast.List)):
        return None
    if any(isinstance(e, ast.Starred) for e in node.elts):
        return None
    return list(node.elts)


_LESS = (ast.Lt, ast.LtE)
_MORE = (ast.Gt, ast.GtE)


def ordered(scope: "_Expressions", test: ast.expr, env: "Env", truth: bool = True) -> Pairs:
    """The pairs (a, b) of sizes with `a <= b` where `test` is `truth`: `k <= n` where
    `k < n` is true, and `n <= k` where it is false (a strict order is kept as `<=`)."""
    return [p for c, t in _comparisons(test, truth) for p in _at_most(scope, c, env, t)]


def _at_most(scope: "_Expressions", test: ast.Compare, env: "Env", truth: bool) -> Pairs:
    if not truth and len(test.ops) != 1:
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


def _narrowed(test: ast.expr, env: "Env", op: type[ast.cmpop] = ast.Eq) -> "Env":
    """`x.ndim == 3` (or `x.dim()`, `len(x.shape)`) where x's shape holds one run: x with
    that many axes, the run's own unknown sizes (`?B[0]` for the first of `*B`); nothing
    for any other test. `a and b` narrows by both. With `op` `ast.NotEq`, the same for the
    path where `x.ndim != 3` is false."""
    if isinstance(test, ast.BoolOp) and isinstance(test.op, ast.And) and op is ast.Eq:
        out: Env = {}
        for part in test.values:
            out.update(_narrowed(part, {**env, **out}, op))
        return out
    if not (isinstance(test, ast.Compare) and [type(o) for o in test.ops] == [op]):
        return {}
    left, right = test.left, test.comparators[0]
    if int_value(left) is not None:
        left, right = right, left
    return _ranked(_rank_of(left), int_value(right), env)


def _unpacked(stmt: ast.Assign, env: "Env") -> "Env":
    """`b, n, d = x.shape` (or `x.size()`) where x's shape holds one run: x with as many
    axes as names, since the unpacking fails otherwise."""
    target, value = stmt.targets[0], stmt.value
    called = isinstance(value, ast.Call) and not value.args and not value.keywords
    if isinstance(value, ast.Call) and called:
        value = value.func
    if (
        len(stmt.targets) != 1
        or not isinstance(target, (ast.Tuple, ast.List))
        or any(isinstance(e, ast.Starred) for e in target.elts)
        or not isinstance(value, ast.Attribute)
        or value.attr != ("size" if called else "shape")
        or not isinstance(value.value, ast.Name)
    ):
        return {}
    name, k = value.value.id, len(target.elts)
    if name in env and env[name] is None:
        # A local of unknown shape has as many axes as names, each a size of its own.
        return {name: tuple(fresh(f"{name}.shape[{i}]") for i in range(k))}
    return _ranked(name, k, env)


def _ranked(name: str | None, k: int | None, env: "Env") -> "Env":
    """The name `name` bound to its shape with `k` axes, where that shape holds one run that
    can take the axes it lacks."""
    shape = env.get(name) if name is not None else None
    if k is None or name is None or not isinstance(shape, tuple):
        return {}
    runs = [i for i, item in enumerate(shape) if isinstance(item, Group)]
    if len(runs) != 1 or k < len(shape) - 1:
        return {}
    g = runs[0]
    run = cast(Group, shape[g])
    n = k - len(shape) + 1
    if run.name:  # the run's own axes, as `x[0]` reads them (`run_item`)
        sizes = [run_item(run, run.cut + i) for i in range(n)]
    else:
        sizes = [fresh(f"{name}.shape[{g + i}]") for i in range(n)]
    return {name: (*shape[:g], *sizes, *shape[g + 1 :])}


def _rank_of(node: ast.expr) -> str | None:
    """The local name in `x.ndim`, `x.dim()` or `len(x.shape)`."""
    if isinstance(node, ast.Call) and not node.args and not node.keywords:
        if isinstance(node.func, ast.Attribute) and node.func.attr == "dim":
            node = ast.Attribute(node.func.value, "ndim")
    elif isinstance(node, ast.Call) and dotted_name(node.func) == "len" and len(node.args) == 1:
        arg = node.args[0]
        if isinstance(arg, ast.Attribute) and arg.attr == "shape":
            node = ast.Attribute(arg.value, "ndim")
    if isinstance(node, ast.Attribute) and node.attr == "ndim" and isinstance(node.value, ast.Name):
        return node.value.id
    return None


_RANK_TESTS: dict[type[ast.cmpop], Callable[[int, int], bool]] = {
    ast.Eq: operator.eq,
    ast.NotEq: operator.ne,
    ast.Lt: operator.lt,
    ast.LtE: operator.le,
    ast.Gt: operator.gt,
    ast.GtE: operator.ge,
}
_FLIPPED = {ast.Lt: ast.Gt(), ast.LtE: ast.GtE(), ast.Gt: ast.Lt(), ast.GtE: ast.LtE()}


def _dead(test: ast.expr, env: "Env", truth: bool) -> bool:
    """Whether `test` can't be `truth` as it compares the rank of a tensor whose rank is
    known with a literal: the body of `if x.ndim == 3:` never runs on an `x` of "b n"."""
    if isinstance(test, ast.UnaryOp) and isinstance(test.op, ast.Not):
        return _dead(test.operand, env, not truth)
    if isinstance(test, ast.BoolOp):
        # `a and b` is true only where both are, and false where either is.
        parts = [_dead(part, env, truth) for part in test.values]
        return any(parts) if isinstance(test.op, ast.And) == truth else all(parts)
    if not (isinstance(test, ast.Compare) and len(test.ops) == 1):
        return False
    left, right, op = test.left, test.comparators[0], test.ops[0]
    if int_value(left) is not None:
        left, right, op = right, left, _FLIPPED.get(type(op), op)
    name, k = _rank_of(left), int_value(right)
    shape = env.get(name) if name is not None else None
    holds = _RANK_TESTS.get(type(op))
    if k is None or holds is None:
        return False
    if isinstance(held := _counted(left, env), TupV):
        # `if len(pair) == 3:` on a tuple the checker holds 2 values of never runs.
        return holds(len(held.items), k) != truth
    if (size := _literal_size(left, env)) is not None:
        # `if idx.size(0) == 0:` on an idx the checker holds as "0" always runs.
        return holds(size, k) != truth
    if not isinstance(shape, tuple) or any(isinstance(item, Group) for item in shape):
        return False
    return holds(len(shape), k) != truth


def _literal_size(node: ast.expr, env: "Env") -> int | None:
    """The size of one axis written as a literal in the shape the checker holds: that of
    `x.size(k)`, `x.shape[k]` or `len(x)`, where no run of unknown length stands in x's shape."""
    axis: int | None = 0
    if isinstance(node, ast.Call) and dotted_name(node.func) == "len" and len(node.args) == 1:
        node = node.args[0]
    elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
        if node.func.attr != "size" or len(node.args) != 1 or node.keywords:
            return None
        axis, node = int_value(node.args[0]), node.func.value
    elif isinstance(node, ast.Subscript) and isinstance(node.value, ast.Attribute):
        if node.value.attr != "shape":
            return None
        axis, node = int_value(node.slice), node.value.value
    else:
        return None
    shape = env.get(node.id) if isinstance(node, ast.Name) else None
    if axis is None or not isinstance(shape, tuple) or not -len(shape) <= axis < len(shape):
        return None
    item = shape[axis]
    if any(isinstance(i, Group) for i in shape) or not isinstance(item, Size):
        return None
    return item.value if item.kind == "int" and isinstance(item.value, int) else None


def _counted(node: ast.expr, env: "Env") -> Value:
    """The tuple in `len(t)` where the checker holds its count of values for sure (not a
    list code may append to, nor an upper bound like `x.chunk(3)`), else None."""
    if not (isinstance(node, ast.Call) and dotted_name(node.func) == "len" and len(node.args) == 1):
        return None
    arg = node.args[0]
    held = env.get(arg.id) if isinstance(arg, ast.Name) else None
    if isinstance(held, TupV) and not (held.mutable or held.uncertain):
        return held
    return None


def dead_if(
    module: Module,
    fn: ast.FunctionDef | ast.AsyncFunctionDef | None,
    stmt: ast.If,
    env: "Env",
    truth: bool,
) -> bool:
    """`_dead` of an `if`'s test, or of the rank comparison its flag holds (`rank_flag`)."""
    return _dead(rank_flag(module, fn, stmt), env, truth)


def rank_flag(
    module: Module, fn: ast.FunctionDef | ast.AsyncFunctionDef | None, stmt: ast.If
) -> ast.expr:
    """`if is_one:` where the function's one binding of the flag is `is_one = x.ndim == 2`
    (or `is_one, d = x.ndim == 2, x.device`), x a parameter that nothing rebinds before this
    `if`: that comparison, so that `_dead` can tell from x's annotated rank that the branch
    never runs."""
    test = stmt.test
    if fn is None or not isinstance(test, ast.Name):
        return test
    found = per_node(module, "rank flags", fn, lambda: _rank_flags(fn)).get(test.id)
    if found is None or found[1] <= stmt.lineno:
        return test
    return found[0]


def _rank_flags(fn: ast.FunctionDef | ast.AsyncFunctionDef) -> dict[str, tuple[ast.expr, int]]:
    """Each flag bound once to a rank comparison of a parameter, with the first line that
    rebinds the parameter (past the end of the file where none does)."""
    stored: dict[str, int] = {}
    first: dict[str, int] = {}
    for n in walk(fn):
        if isinstance(n, ast.Name) and not isinstance(n.ctx, ast.Load):
            stored[n.id] = stored.get(n.id, 0) + 1
            first[n.id] = min(first.get(n.id, n.lineno), n.lineno)
    params = {p.arg for p in _params(fn)}
    out: dict[str, tuple[ast.expr, int]] = {}
    for n in walk(fn):
        if not isinstance(n, ast.Assign) or len(n.targets) != 1:
            continue
        target, value = n.targets[0], n.value
        pairs: list[tuple[ast.expr, ast.expr]] = [(target, value)]
        if isinstance(target, ast.Tuple) and isinstance(value, ast.Tuple):
            if len(target.elts) == len(value.elts):
                pairs = list(zip(target.elts, value.elts, strict=True))
        for t, v in pairs:
            if not (isinstance(t, ast.Name) and stored.get(t.id) == 1):
                continue
            if isinstance(v, ast.Compare) and len(v.ops) == 1:
                x = _rank_of(v.left) or _rank_of(v.comparators[0])
                if x is not None and x in params and first.get(x, 1 << 30) > n.lineno:
                    out[t.id] = (v, first.get(x, 1 << 30))
    return out

"""Sequences of values: sizes spliced into a new shape (`view(*x.shape[:-1], -1)`), the
items of comprehensions and containers, and what a list holds after a method changes it."""

import ast
from typing import TYPE_CHECKING, cast

from . import _torch as T
from ._access import _Access
from ._helpers import narrowed
from ._modules import ClassModel, _find_class
from ._report import Env
from ._source import dotted_name, walk
from ._unify import Group, Item, Shape, fresh, lit
from ._values import (
    AnyOfV,
    IntV,
    LayerV,
    ListV,
    NumV,
    ObjV,
    SymV,
    TupV,
    Value,
    _held,
    _item_of_comprehension,
    _joined,
    _one_of,
    _unrolled,
)


def _range_count(node: ast.expr) -> int | None:
    """k in `range(k)` where k is a written int."""
    if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)):
        return None
    if node.func.id != "range" or len(node.args) != 1 or node.keywords:
        return None
    k = T.int_value(node.args[0])
    return k if k is not None and k >= 0 else None


def _size_call(node: ast.expr) -> bool:
    """`x.size()`, which is `x.shape`."""
    return (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == "size"
        and not node.args
        and not node.keywords
    )


class _Sequences(_Access):
    """The part of a scope that reads sequences: shapes spliced from sizes, comprehensions,
    containers of layers, and lists changed in place."""

    if TYPE_CHECKING:

        def bind(self, target: ast.expr, v: Value, env: Env) -> None: ...

        def remember(self, target: ast.expr, source: ast.expr, env: Env, at: ast.AST) -> None: ...

        def shadowed(self, name: str) -> bool: ...

    def spliced_sizes(
        self, nodes: list[ast.expr], env: Env, minus: list[int] | None = None
    ) -> Shape | None:
        """`t.view(*x.shape[:-1], -1)`: the sizes asked for, with `*x.shape[...]` spliced in
        when the part of x's shape it takes is certain; a -1 becomes a fresh size (and its
        place goes into `minus`)."""
        out: list[Item] = []
        for n in nodes:
            if isinstance(n, ast.Starred):
                part = self.shape_slice(n.value, self.vals.get(id(n)), env)
                if part is None:
                    return None
                out.extend(part)
                continue
            v = self.vals.get(id(n), self.seen.get(id(n)))  # an argument, or in a tuple
            if isinstance(v, (tuple, TupV, ListV, LayerV, ObjV)):
                return None
            size = self.size_of(v)
            unknown = size is not None and size.kind == "int" and size.value == -1
            if unknown and minus is not None:
                minus.append(len(out))
            out.append(fresh() if size is None or unknown else size)
        return tuple(out)

    def shape_slice(self, node: ast.expr, v: Value, env: Env) -> Shape | None:
        """The items of `x.shape`, `x.shape[:-k]` or `x.shape[k:]` for a tensor x, where
        the axes cut off are single axes, not runs; or of a known tuple of sizes `v`."""
        if isinstance(v, TupV) and (not v.mutable or all(isinstance(i, IntV) for i in v.items)):
            # a tuple, or a list of sizes (`*b, h, w = x.shape`) as the reading followed it
            if any(isinstance(i, (tuple, TupV, ListV, LayerV, ObjV)) for i in v.items):
                return None
            return tuple(self.size_of(i) or fresh() for i in v.items)
        sl: ast.expr | None = None
        if isinstance(node, ast.Subscript):
            sl = node.slice
            node = node.value
        x: Value
        if _size_call(node):
            node = ast.Attribute(cast(ast.Attribute, cast(ast.Call, node).func).value, "shape")
        if isinstance(node, ast.Name) and node.id in self.shapes_named:
            # `original_shape = x.shape`, read when it was bound: x may be reshaped since.
            x = self.shapes_named[node.id]
        else:
            if not (isinstance(node, ast.Attribute) and node.attr == "shape"):
                return None
            if any(isinstance(n, ast.Call) for n in walk(node.value)):
                return None  # read once already; calls are not read twice
            known = id(node.value) in self.seen
            x = self.seen[id(node.value)] if known else self.value(node.value, env)
        if not isinstance(x, tuple):
            return None
        if sl is None:
            return x
        if not isinstance(sl, ast.Slice) or sl.step is not None:
            return None
        lo = T.int_value(sl.lower) if sl.lower is not None else 0
        hi = T.int_value(sl.upper) if sl.upper is not None else None
        if lo is None or (sl.upper is not None and hi is None):
            return None
        if lo < 0 or (hi is not None and hi > 0) or (hi == 0):
            return None  # keep to dropping a head (lo >= 0) and a tail (hi < 0)
        cut = list(x[:lo]) + (list(x[len(x) + hi :]) if hi is not None else [])
        if len(x) < lo - (hi or 0) or any(isinstance(i, Group) for i in cut):
            return None
        return tuple(x[lo : len(x) + hi if hi is not None else None])

    def reshaped(self, args: list[Value]) -> Value:
        """`t.view(sizes)` / `t.reshape(sizes)` of a tensor of unknown shape: the sizes, when
        each argument is certainly one size; a -1 (one at most) is a size of its own."""
        vals = list(args[0].items) if len(args) == 1 and isinstance(args[0], TupV) else args
        if not vals or (len(args) == 1 and not isinstance(args[0], (IntV, SymV, NumV, TupV))):
            self.file.stats_unknown("call without a shape rule or contract")
            return None
        if any(isinstance(v, (tuple, TupV, ListV, LayerV, ObjV)) for v in vals):
            return None
        sizes = [self.size_of(v) for v in vals]
        minus = [s for s in sizes if s is not None and s.kind == "int" and s.value == -1]
        if len(minus) > 1:
            return None
        self.file.stats_known("reshape to given sizes")
        return tuple(s if s is not None and s not in minus else fresh() for s in sizes)

    def element(self, node: ast.ListComp | ast.GeneratorExp, env: Env) -> Value:
        """The value of every item of a one-loop comprehension over a known list."""
        if len(node.generators) != 1 or node.generators[0].ifs:
            return None
        gen = node.generators[0]
        inner = dict(env)
        iterated = self.value(gen.iter, env)
        self.remember(gen.target, gen.iter, {}, gen.iter)
        items = _unrolled(iterated) if isinstance(gen.iter, (ast.List, ast.Tuple)) else ()
        if items:  # `[x[i] for i in [a, b, c]]` with a, b, c of different shapes: each in turn
            values = []
            for item in items:
                inner = dict(env)
                self.bind(gen.target, item, inner)
                values.append(self.value(node.elt, inner))
            return _one_of(values)
        self.bind(gen.target, _item_of_comprehension(iterated), inner)
        return self.value(node.elt, inner)

    def each_element(self, node: ast.ListComp | ast.GeneratorExp, env: Env) -> list[Value] | None:
        """The value of each item of a one-loop comprehension over a literal list or tuple
        (`[x[i] for i in (a, b, c)]`) or over `range(k)` of a small literal k, in order;
        None where the items are not so known."""
        if len(node.generators) != 1 or node.generators[0].ifs:
            return None
        gen = node.generators[0]
        bound: list[Value]
        if isinstance(gen.iter, (ast.List, ast.Tuple)):
            if any(isinstance(e, ast.Starred) for e in gen.iter.elts):
                return None
            iterated = self.value(gen.iter, env)
            if not isinstance(iterated, TupV) or iterated.fields:
                return None
            bound = list(iterated.items)
        else:
            k = _range_count(gen.iter)
            if k is None or self.shadowed("range"):
                return None
            bound = [IntV(lit(i)) for i in range(k)]
        if not 0 < len(bound) <= 8:
            return None
        values = []
        for item in bound:
            inner = dict(env)
            self.bind(gen.target, item, inner)
            values.append(self.value(node.elt, inner))
        return values

    def list_of(self, node: ast.ListComp, env: Env) -> Value:
        """`[rays(h, w) for h, w in sizes]`: a list whose items all have one shape, where
        each is a tensor of the same rank (its item read once more, uncounted); or all are
        modules or layers, of the one class (`[Block(cfg) for _ in range(n)]`)."""
        self.file.quiet += 1
        try:
            item = self.element(node, env)
        finally:
            self.file.quiet -= 1
        if isinstance(item, AnyOfV) and all(isinstance(o, (LayerV, ObjV)) for o in item.options):
            return ListV(item)
        return ListV(item) if isinstance(item, (tuple, LayerV, ObjV)) else None

    def container(self, node: ast.expr, v: Value, env: Env) -> Value:
        """`nn.ModuleList([Block(c) for _ in range(n)])`, `nn.ModuleDict(dict(wte=...))`."""
        if isinstance(node, (ast.ListComp, ast.GeneratorExp)):
            return ListV(self.element(node, env))
        if isinstance(v, ListV) and isinstance(v.item, (LayerV, ObjV)):
            return v  # a local list of like layers that a loop grew
        if isinstance(v, TupV) and v.fields:
            return v
        if isinstance(v, TupV) and v.items and all(i == v.items[0] for i in v.items):
            return ListV(v.items[0])
        return None

    def cast(self, target: ast.expr, v: Value) -> Value:
        """`cast(T, x)` is x; where x is an object the checker does not know, an instance of
        the class (or one of the classes) T names."""
        if v is not None and not isinstance(v, AnyOfV):
            return v
        members = [target]
        if isinstance(target, ast.Subscript) and dotted_name(target.value) in (
            "Union",
            "typing.Union",
        ):
            s = target.slice
            members = list(s.elts) if isinstance(s, ast.Tuple) else [s]
        found = [_find_class(self.module, m, self.file.misses) for m in members]
        if not found or any(c is None for c in found):
            return v
        return narrowed(v, cast(list[ClassModel], found))

    def list_changed(self, func: ast.Attribute, args: list[Value], env: Env) -> None:
        """`xs.append(v)` and the other methods that change a list in place: what the list
        holds afterwards, where the checker can follow it; otherwise it is unknown."""
        inner = func.value
        while isinstance(inner, ast.Subscript):
            inner = inner.value  # `xs[0].append(v)` changes what xs holds
        if inner is not func.value:
            root = self.dotted_target(inner)
            if root is not None and isinstance(env.get(root), (TupV, ListV)):
                env[root] = None
            return
        name = self.dotted_target(func.value)
        if name is None or name not in env:
            return
        held, how = env[name], func.attr
        if isinstance(held, ListV) and held.count is not None:
            held = env[name] = ListV(held.item)  # a list changed: how many it holds is not known
        if isinstance(held, TupV) and held.mutable:
            more = args[0] if len(args) == 1 else None
            if how == "append" and len(args) == 1:
                env[name] = TupV((*held.items, _held(more)), mutable=True)
            elif how == "extend" and isinstance(more, TupV) and not more.fields:
                env[name] = TupV((*held.items, *map(_held, more.items)), mutable=True)
            else:
                env[name] = None
        elif isinstance(held, ListV):
            added = args[-1] if how in ("append", "insert") and args else held.item
            if how == "extend":
                env[name] = None
            elif added != held.item:
                env[name] = _joined([held, TupV((added,), mutable=True)])

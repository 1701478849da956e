"""The rule registry, and the narrow view of a call that a rule reads.

A rule is a function of one `Call`. It returns the call's value (a shape, a tuple of
shapes, an int, or None for unknown), or `PASS` when it does not apply to these arguments,
and the next rule for the name is tried. `@function("torch.matmul", ...)` registers a rule
for the qualified names of library functions, `@method("matmul", ...)` for tensor methods,
`@layer("Conv2d", ...)` for calling a `torch.nn` layer that a `@function` rule built.
"""

import ast
from collections.abc import Callable
from typing import Protocol

from .. import _torch as T
from .._report import _text
from .._source import Module
from .._unify import Group, Shape, Size, show
from .._values import IntV, LayerV, Mismatch, ObjV, TupV, Value


class _Pass:
    """The value of a rule that does not apply."""


PASS = _Pass()
Rule = Callable[["Call"], "Value | _Pass"]

FUNCTIONS: dict[str, list[Rule]] = {}
METHODS: dict[str, list[Rule]] = {}
LAYERS: dict[str, list[Rule]] = {}


def function(*quals: str) -> Callable[[Rule], Rule]:
    """Register a rule for library functions, by qualified name (`torch.nn.functional.linear`)."""

    def register(rule: Rule) -> Rule:
        for qual in quals:
            FUNCTIONS.setdefault(qual, []).append(rule)
        return rule

    return register


def method(*names: str) -> Callable[[Rule], Rule]:
    """Register a rule for tensor methods, by name (`x.view(...)` is `view`)."""

    def register(rule: Rule) -> Rule:
        for name in names:
            METHODS.setdefault(name, []).append(rule)
        return rule

    return register


def layer(*kinds: str) -> Callable[[Rule], Rule]:
    """Register a rule for calling a layer, by the kind of its `LayerV` (`Conv2d`)."""

    def register(rule: Rule) -> Rule:
        for kind in kinds:
            LAYERS.setdefault(kind, []).append(rule)
        return rule

    return register


def apply(rules: dict[str, list[Rule]], key: str, call: "Call") -> "Value | _Pass":
    """The value the first rule for `key` that applies gives, or PASS if none applies."""
    for rule in rules.get(key, ()):
        out = rule(call)
        if out is not PASS:
            return out
    return PASS


class _Events(Protocol):
    def report(self, node: ast.AST, message: str) -> None: ...
    def stats_known(self, kind: str) -> None: ...
    def stats_relation(self, kind: str = "") -> None: ...
    def stats_unknown(self, why: str, node: ast.AST | None = None, lost: str = "") -> None: ...


class Reader(Protocol):
    """What a rule may ask of the scope it is read in."""

    @property
    def module(self) -> Module: ...
    @property
    def seen(self) -> dict[int, Value]: ...
    @property
    def file(self) -> _Events: ...
    def size_of(self, v: Value) -> Size | None: ...
    def qualified(self, func: ast.expr) -> str | None: ...
    def apply_module(
        self, node: ast.Call, layer: "LayerV | ObjV", args: list[Value], kwargs: dict[str, Value]
    ) -> Value: ...


class Call:
    """One call as a rule sees it.

    For a function, `args` are all its positional values and `x` the first (or `input=`);
    for a tensor method, `x` is the receiver's shape and `args` the values after it.
    `nodes` are the syntax nodes of `args`, for naming them in messages.
    For a layer called, `held` is the layer and `x` its input.
    """

    __slots__ = ("args", "held", "kwargs", "name", "node", "nodes", "qual", "reader", "x")

    def __init__(
        self,
        reader: Reader,
        node: ast.Call,
        name: str,
        args: list[Value],
        kwargs: dict[str, Value],
        nodes: list[ast.expr],
        x: Value,
        qual: str | None = None,
        held: LayerV | None = None,
    ) -> None:
        self.reader = reader
        self.held = held
        self.node = node
        self.name = name
        self.args = args
        self.kwargs = kwargs
        self.nodes = nodes
        self.x = x
        self.qual = qual

    def arg(self, i: int, keyword: str | None = None, default: Value = None) -> Value:
        """The `i`th positional value, or the keyword's, or `default`. `dim` may be spelled
        `axis`, as torch takes it for numpy's sake (`torch.cat(xs, axis=1)`)."""
        if i < len(self.args):
            return self.args[i]
        if keyword == "dim" and "dim" not in self.kwargs:
            keyword = "axis"
        return self.kwargs.get(keyword, default) if keyword is not None else default

    def text(self, node: ast.AST) -> str:
        return _text(self.reader.module, node)

    def arg_text(self, i: int, default: str) -> str:
        """How a message names the `i`th argument."""
        return self.text(self.nodes[i]) if i < len(self.nodes) else default

    def receiver_text(self) -> str:
        """How a message names the tensor a method is called on: `x` in `x.add(y)` and in
        `torch.add(x, y)`, where the tensor is the first argument."""
        node = self.node
        if isinstance(node.func, ast.Attribute) and self.reader.qualified(node.func) is None:
            return self.text(node.func.value)
        return self.text(node.args[0]) if node.args else "input"

    def kw(self, name: str) -> ast.expr | None:
        return kw(self.node, name)

    def size_of(self, v: Value) -> Size | None:
        return self.reader.size_of(v)

    def report(self, message: str) -> None:
        self.reader.file.report(self.node, message)

    def known(self, kind: str) -> None:
        self.reader.file.stats_known(kind)

    def relation(self) -> None:
        self.reader.file.stats_relation()

    def unknown(self, why: str) -> None:
        self.reader.file.stats_unknown(why)

    def rule(self, fn: Callable[[], "Shape | TupV | None"]) -> Value:
        """Apply a shape rule, reporting a certain mismatch at the call."""
        self.relation()
        try:
            return fn()
        except Mismatch as err:
            self.report(str(err))
            return None

    def method(
        self, name: str, x: Shape, args: list[Value], nodes: list[ast.expr] | None = None
    ) -> Value:
        """The tensor method `name` on `x`, with this call's keywords."""
        here = Call(
            self.reader,
            self.node,
            name,
            args,
            self.kwargs,
            self.node.args if nodes is None else nodes,
            x,
        )
        out = apply(METHODS, name, here)
        return None if out is PASS else out  # type: ignore[return-value]


# Small readings of values and nodes that rules share.


def lit_int(v: Value) -> int | None:
    if isinstance(v, IntV) and v.size.kind == "int":
        assert isinstance(v.size.value, int)
        return v.size.value
    return None


def in_range(c: Call, x: Shape, d: int | None, new_axis: bool = False) -> int | None:
    """`d`, or None with a finding where `x` has a known rank and no axis `d`: torch raises
    IndexError. `new_axis` for the ops that add an axis at `d` (`unsqueeze`, `stack`)."""
    n = T.rank(x)
    if d is None or n is None:
        return d
    top = max(n + 1 if new_axis else n, 1)  # a 0-dim tensor takes dim 0 and -1
    if -top <= d < top:
        return d
    c.relation()
    dims = "1 dim" if n == 1 else f"{n} dims"
    c.report(
        f'{c.name}: dim {d} is out of range for {c.receiver_text()} "{show(x)}", which has '
        f"{dims} (torch raises IndexError)"
    )
    return None


def string(node: ast.expr | None) -> str | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    return None


def kw(node: ast.Call, name: str) -> ast.expr | None:
    return next((k.value for k in node.keywords if k.arg == name), None)


def shape_tuple(shape: Shape) -> Value:
    if any(isinstance(i, Group) for i in shape):
        return None
    return TupV(tuple(IntV(i) for i in shape if isinstance(i, Size)))


def bcast_all(shapes: list[Shape], texts: list[str], op: str = "") -> Shape | None:
    out: Shape | None = shapes[0]
    for s, t in zip(shapes[1:], texts[1:], strict=True):
        if out is None:
            return None
        try:
            out = T.broadcast(out, s, texts[0], t)
        except Mismatch as err:
            raise Mismatch(f"{op}: {err}" if op else str(err)) from None
    return out


def same_shape(a: Shape, b: Shape, ta: str, tb: str, op: str) -> Shape | None:
    try:
        return T.broadcast(a, b, ta, tb)
    except Mismatch as err:
        raise Mismatch(f"{op}: {err}") from None

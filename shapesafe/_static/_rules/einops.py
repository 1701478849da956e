"""Rules of ops that take a pattern: einsum (torch, einops, fancy_einsum), einops' rearrange,
reduce, repeat, pack and unpack, and shapesafe's `permute`."""

import ast
from typing import cast

from .. import _patterns as P
from .. import _torch as T
from .._unify import Group, Item, Shape, Size, certain, fresh, lit, show
from .._values import Mismatch, TupV, Value
from ._registry import Call, function, shape_tuple, string


@function("torch.einsum")
def torch_einsum(c: Call) -> Value:
    node = c.node
    eq = string(node.args[0]) if node.args else None
    parsed = None if eq is None else P.einsum_letters(eq)
    if parsed is None:
        return None
    ops = c.args[1:]
    if len(ops) == 1 and isinstance(ops[0], TupV):
        ops = list(ops[0].items)
    texts = [c.text(a) for a in node.args[1:]]
    shapes = [o if isinstance(o, tuple) else None for o in ops]
    texts = texts * (len(shapes) // max(1, len(texts)))
    return c.rule(lambda: P.einsum(shapes, parsed[0], parsed[1], texts))


@function("einops.einsum", "fancy_einsum.einsum")
def einops_einsum(c: Call) -> Value:
    node = c.node
    if c.qual == "einops.einsum":  # the pattern last
        pattern = string(node.args[-1]) if node.args else None
        ops, nodes = c.args[:-1], node.args[:-1]
    else:
        pattern = string(node.args[0]) if node.args else None
        ops, nodes = c.args[1:], node.args[1:]
    parsed = None if pattern is None else P.einops_einsum(pattern)
    if parsed is None:
        return None
    texts = [c.text(a) for a in nodes]
    shapes = [o if isinstance(o, tuple) else None for o in ops]
    return c.rule(lambda: P.einsum(shapes, parsed[0], parsed[1], texts))


@function("einops.rearrange", "einops.reduce", "einops.repeat")
def rearrange(c: Call) -> Value:
    node, x = c.node, c.x
    pattern = string(node.args[1]) if len(node.args) > 1 else None
    if pattern is None:
        return None
    given = {k: c.size_of(v) for k, v in c.kwargs.items() if k is not None}
    op = f"einops.{c.name}"
    if not isinstance(x, tuple):
        # The input is not known, and yet the pattern fixes the output's rank and the axes
        # given by keyword: `rearrange(self.net(x), "(b v) c h w -> b v c h w", b=b)`.
        c.unknown("op input of unknown shape")
        return P.from_pattern(pattern, given, op)
    return c.rule(lambda: P.rearrange(x, pattern, given, op) or P.from_pattern(pattern, given, op))


def permute(c: Call) -> Value:
    """`ss.permute(x, "b s h d -> b h s d")`."""
    pattern = string(c.node.args[1])
    c.known("shapesafe.permute")
    x = c.x
    if pattern is None or not isinstance(x, tuple):
        return None
    return c.rule(lambda: P.rearrange(x, pattern, {}, "permute"))


def _pack_pattern(pattern: str | None) -> tuple[list[str], list[str]] | None:
    """The names before and after the one `*` of a pack pattern (`"b * d"`)."""
    names = None if pattern is None else pattern.split()
    if names is None or names.count("*") != 1:
        return None
    if not all(n == "*" or n.isidentifier() for n in names):
        return None
    at = names.index("*")
    return names[:at], names[at + 1 :]


@function("einops.pack")
def pack(c: Call) -> Value:
    """`packed, ps = pack([a, b], "b * d")`: each tensor's axes between the named ones are
    flattened into one, and the tensors are joined along it; the named axes must agree."""
    items = c.arg(0, "tensors")
    node = c.node.args[1] if len(c.node.args) > 1 else c.kw("pattern")
    sides = None if node is None else _pack_pattern(string(node))
    if not isinstance(items, TupV) or sides is None or not items.items:
        return None
    left, right = sides
    shapes = [i for i in items.items if isinstance(i, tuple)]
    if len(shapes) != len(items.items):
        return None
    listed = c.node.args[0] if c.node.args else None
    elts = listed.elts if isinstance(listed, (ast.List, ast.Tuple)) else []
    texts = [c.text(e) for e in elts] if len(elts) == len(shapes) else ["a tensor"] * len(shapes)

    def packed() -> TupV | None:
        middles: list[Shape] = []
        ends: list[Item] | None = None
        for k, shape in enumerate(shapes):
            cut = len(shape) - len(right)
            outer = [*shape[: len(left)], *shape[cut:]]
            if cut < len(left) or any(isinstance(i, Group) for i in outer):
                return None
            if ends is not None:
                for name, a, b in zip([*left, *right], ends, outer, strict=True):
                    if certain(cast(Size, a), cast(Size, b)) == "differ":
                        raise Mismatch(
                            f"einops.pack: axis '{name}' is {a} in {texts[0]} "
                            f'"{show(shapes[0])}" but {b} in {texts[k]} "{show(shape)}"'
                        )
            ends = ends or outer
            middles.append(shape[len(left) : cut])
        assert ends is not None
        total: Size | None = lit(0)
        for middle in middles:
            sizes = [i for i in middle if isinstance(i, Size)]
            if total is None or len(sizes) != len(middle):
                total = None
                continue
            total = T.add(total, T.product(sizes))
        out = (*ends[: len(left)], total or fresh(), *ends[len(left) :])
        ps = TupV(tuple(shape_tuple(m) for m in middles))
        return TupV((out, ps))

    return c.rule(packed)


@function("einops.unpack")
def unpack(c: Call) -> Value:
    """`a, b = unpack(packed, ps, "b * d")`: each tensor has the named axes of the packed one
    and, in place of its `*` axis, the axes that `ps` holds for it."""
    x, ps = c.x, c.arg(1, "packed_shapes")
    node = c.node.args[2] if len(c.node.args) > 2 else c.kw("pattern")
    sides = None if node is None else _pack_pattern(string(node))
    if not isinstance(x, tuple) or not isinstance(ps, TupV) or sides is None:
        return None
    left, right = sides
    if len(x) != len(left) + 1 + len(right) or any(isinstance(i, Group) for i in x):
        return None
    middles = [[c.size_of(v) for v in p.items] if isinstance(p, TupV) else None for p in ps.items]
    return TupV(
        tuple(
            None
            if m is None or None in m
            else (*x[: len(left)], *cast(list[Size], m), *x[len(left) + 1 :])
            for m in middles
        )
    )

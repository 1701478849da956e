"""Rules of ops that take a pattern: einsum (torch, einops, fancy_einsum), einops' rearrange,
reduce and repeat, and shapesafe's `permute`."""

from .. import _patterns as P
from .._values import TupV, Value
from ._registry import Call, function, string


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

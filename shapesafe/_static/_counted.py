"""A list that a loop grows by one item a pass: after `outs = []` and `for x in xs:
outs.append(f(x))`, `outs` holds as many items as `xs` has rows, so `torch.stack(outs)`
has that many along the new axis."""

import ast

from ._source import walk
from ._unify import Size
from ._values import IntV, ListV, Value

# Statements and expressions after which a pass may not reach its end, or may change the
# list other than by the one `append`.
_LEAVES = (
    ast.Break,
    ast.Continue,
    ast.Return,
    ast.Raise,
    ast.Try,
    ast.Yield,
    ast.YieldFrom,
    ast.Global,
    ast.Nonlocal,
    ast.FunctionDef,
    ast.AsyncFunctionDef,
    ast.Lambda,
    ast.ClassDef,
)


def appended_once(stmt: ast.For | ast.AsyncFor) -> str | None:
    """The name of the list that every pass of `stmt` appends one item to, by a statement of
    the loop's own body (`outs.append(v)`), where nothing else in the loop names it and
    every pass runs to its end; None for any other loop."""
    if stmt.orelse or not isinstance(stmt, ast.For):
        return None
    names = [
        s.value.func.value.id
        for s in stmt.body
        if isinstance(s, ast.Expr)
        and isinstance(s.value, ast.Call)
        and isinstance(s.value.func, ast.Attribute)
        and s.value.func.attr == "append"
        and isinstance(s.value.func.value, ast.Name)
        and len(s.value.args) == 1
        and not isinstance(s.value.args[0], ast.Starred)
        and not s.value.keywords
    ]
    if len(names) != 1:
        return None
    name, seen = names[0], 0
    for node in walk(ast.Module([*stmt.body, ast.Expr(stmt.target)], [])):
        if isinstance(node, _LEAVES):
            return None
        if isinstance(node, ast.Name) and node.id == name:
            seen += 1
    return name if seen == 1 else None


def passes(node: ast.expr, iterated: Value, seen: "dict[int, Value]") -> Size | None:
    """How many passes `for ... in node` makes: the first axis of a tensor, `n` of
    `range(n)`, what `zip` of tensors of one first axis or `enumerate` of one makes; None
    where it is not known."""
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and not node.keywords:
        return _called(node.func.id, node.args, seen)
    if isinstance(iterated, ListV):
        return iterated.count
    if isinstance(iterated, tuple):
        first = iterated[0] if iterated else None
        return first if isinstance(first, Size) else None
    return None


def _called(what: str, args: list[ast.expr], seen: "dict[int, Value]") -> Size | None:
    if what == "range" and len(args) == 1:
        n = seen.get(id(args[0]))
        return n.size if isinstance(n, IntV) else None
    if what == "enumerate" and len(args) == 1:
        return passes(args[0], seen.get(id(args[0])), seen)
    if what == "zip" and args:
        counts = [passes(a, seen.get(id(a)), seen) for a in args]
        first_count = counts[0]
        return first_count if all(c is not None and c == first_count for c in counts) else None
    return None

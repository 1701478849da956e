"""Symbolic dims: the text of a dim such as `embed//heads` or `{self.n}+1`, parsed into trees.

Pure Python with no torch import. A symbolic dim is parsed once into an expression tree of
nested tuples (see `Expr`). Nothing is evaluated while parsing: `"9**9**9"` is a tree like any
other, and `_unify` bounds the sizes it computes. `_contract` parses a spec's dims with this,
and `_unify` reads a `("format",)` dim's text with it once the parts' values are known.
"""

__tracebackhide__ = True  # pytest leaves this module's frames out of a failure's report

import ast
import functools
from typing import Any

# An expression tree, as nested tuples (hashable, and a constant to dynamo):
#   ("int", value)                 an int literal
#   ("size", name)                 a dim bound by a single axis
#   ("part", index)                the value of the `index`-th `{...}` part of the dim
#   ("arg", name)                  inside a part: an argument of the call
#   ("attr", expr, name)           inside a part: `expr.name`
#   ("item", expr, index_expr)     inside a part: `expr[index]`
#   ("neg", expr), ("pos", expr)
#   ("op", "+" | "-" | "*" | "/" | "//" | "%" | "**", left, right)
#   ("call", "min" | "max" | "abs", (expr, ...))
#   ("unknown",)                   any other Python: never decided by shapesafe
Expr = tuple[Any, ...]
#: A symbolic dim: its tree (with ("part", i) nodes), the trees of its `{...}` parts, and the
#: literal text between the parts. The tree is ("format",) where substituting a part's value
#: as one operand would not read as its text does (`2{n}`); then the text is formatted with
#: the parts' values and parsed, once per distinct text, as jaxtyping does.
Symbolic = tuple[Expr, tuple[Expr, ...], tuple[str, ...]]

_UNKNOWN: Expr = ("unknown",)
#: The arithmetic a symbolic dim may use, with how each operator is written.
OPERATORS: dict[type[ast.operator], str] = {
    ast.Add: "+",
    ast.Sub: "-",
    ast.Mult: "*",
    ast.Div: "/",
    ast.FloorDiv: "//",
    ast.Mod: "%",
    ast.Pow: "**",
}
_CALLS = ("min", "max", "abs")
_PART = "_shapesafe_part_"


@functools.lru_cache(maxsize=4096)
def parse_symbolic(text: str) -> Symbolic:
    """Parse a symbolic dim such as `embed//heads` or `{self.n}+1` into its trees.

    jaxtyping formats the text as an f-string over the call's arguments, then evaluates the
    result over the bound dims. The parts become trees over the arguments, and the whole a
    tree over the dims in which each part is one operand.
    """
    try:
        fstring = ast.parse("f" + repr(text), mode="eval").body
    except SyntaxError:
        return (_UNKNOWN, (), (text,))
    if not isinstance(fstring, ast.JoinedStr):
        return (_UNKNOWN, (), (text,))
    pieces: list[str] = []
    literal: list[str] = []
    parts: list[Expr] = []
    current = ""
    for value in fstring.values:
        if isinstance(value, ast.Constant) and isinstance(value.value, str):
            pieces.append(value.value)
            current += value.value
        elif (
            isinstance(value, ast.FormattedValue)
            and value.conversion == -1
            and value.format_spec is None
        ):
            pieces.append(f"{_PART}{len(parts)}")
            literal.append(current)
            current = ""
            parts.append(_convert(value.value, "arg"))
        else:
            return (_UNKNOWN, (), (text,))
    literal.append(current)
    source = "".join(pieces)
    tree = parse_expr(source) if _parts_are_operands(source, len(parts)) else ("format",)
    return (tree, tuple(parts), tuple(literal))


def _parts_are_operands(source: str, count: int) -> bool:
    """True if each part stands alone between operators, so its value can be one operand."""
    if count == 0:
        return True
    try:
        tree = ast.parse(source, mode="eval")
    except SyntaxError:
        return False
    seen = 0
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and node.id.startswith(_PART):
            seen += 1
        if isinstance(node, (ast.Attribute, ast.Subscript, ast.Call)):
            inner = node.value if not isinstance(node, ast.Call) else node.func
            if isinstance(inner, ast.Name) and inner.id.startswith(_PART):
                return False  # `{n}.real` reads differently once `n` is text
    return seen == count


@functools.lru_cache(maxsize=4096)
def parse_expr(text: str) -> Expr:
    """Parse a plain expression over dim names (no `{...}` parts) into a tree."""
    try:
        node = ast.parse(text.strip(), mode="eval").body
    except (SyntaxError, ValueError):
        return _UNKNOWN
    return _convert(node, "size")


def _convert(node: ast.expr, names: str) -> Expr:
    """A tree of whitelisted nodes; ("unknown",) for anything else Python allows."""
    if isinstance(node, ast.Constant) and type(node.value) is int:
        return ("int", node.value)
    if isinstance(node, ast.Name):
        if names == "size" and node.id.startswith(_PART):
            return ("part", int(node.id.removeprefix(_PART)))
        return (names, node.id)
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        tag = "neg" if isinstance(node.op, ast.USub) else "pos"
        return (tag, _convert(node.operand, names))
    if isinstance(node, ast.BinOp) and type(node.op) in OPERATORS:
        sign = OPERATORS[type(node.op)]
        return ("op", sign, _convert(node.left, names), _convert(node.right, names))
    if (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id in _CALLS
        and node.args
        and not node.keywords
        and not any(isinstance(a, ast.Starred) for a in node.args)
    ):
        return ("call", node.func.id, tuple(_convert(a, names) for a in node.args))
    if names == "arg":
        if isinstance(node, ast.Attribute):
            return ("attr", _convert(node.value, names), node.attr)
        if isinstance(node, ast.Subscript) and not isinstance(node.slice, ast.Slice):
            return ("item", _convert(node.value, names), _convert(node.slice, names))
    return _UNKNOWN

"""Symbolic dims: the text of a dim such as `embed//heads` or `{self.n}+1`, parsed into trees,
and the one evaluator of those trees.

Pure Python with no torch import, and no import of the rest of the package. A symbolic dim is
parsed once into an expression tree of nested tuples (see `Expr`). Nothing is evaluated while
parsing: `"9**9**9"` is a tree like any other. `_contract` parses a spec's dims with this.

`symbolic_value` computes a tree over a size domain: ints at run time (`_unify`), `SymInt`s
under dynamo (`_compile`), and the static checker's symbolic sizes (`_static._unify`), whose
arithmetic builds an expression. The static checker folds a constant expression with the same
evaluator (`evaluate` over `tree_of`), so both sides compute a dim alike, with one bound (`LIMIT`).
"""

__tracebackhide__ = True  # pytest leaves this module's frames out of a failure's report

import ast
import functools
from collections.abc import Callable, Mapping
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

#: The one bound on symbolic-dim arithmetic, at run time and statically: a `**` of ints whose
#: value's magnitude would pass it is not computed (its value is unknown), so that a dim such
#: as `9**9**9` is decided at once. No tensor has a size past it. The other operators need no
#: bound: their results grow no faster than the text that writes them. Statically, a constant
#: size past it is unknown too (`_static._unify`); at run time a value past it is compared,
#: as jaxtyping compares it, and equals no size.
LIMIT = 1 << 64


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


# Evaluation ------------------------------------------------------------------------------------


def evaluate(e: Expr, sizes: Mapping[str, Any], env: Any) -> Any:
    """The value of a tree; None where it can't be known. `env`: the parts' values (a
    sequence) in a dim's tree, or the call's arguments (a mapping) in a part's tree. The
    sizes may be of any domain whose values support the arithmetic."""
    tag = e[0]
    if tag == "size":
        return sizes.get(e[1])
    if tag == "int":
        return e[1]
    if tag == "op":
        a = evaluate(e[2], sizes, env)
        if a is None:
            return None
        b = evaluate(e[3], sizes, env)
        if b is None:
            return None
        op = e[1]
        if op == "+":
            return a + b
        if op == "-":
            return a - b
        if op == "*":
            return a * b
        if op == "//":
            return a // b
        if op == "/":
            return a / b
        if op == "%":
            return a % b
        if type(a) is int and type(b) is int and b > 0 and (a > 1 or a < -1):
            # A power of ints within `LIMIT`: |a| ** b >= 2 ** ((bits - 1) * b) tells one
            # past it without computing it.
            if (abs(a).bit_length() - 1) * b > LIMIT.bit_length():
                return None
            out = a**b
            return out if -LIMIT <= out <= LIMIT else None
        return a**b
    if tag == "part":
        return env[e[1]]
    if tag == "arg":
        return env.get(e[1])
    if tag == "attr":
        obj = evaluate(e[1], sizes, env)
        return None if obj is None else getattr(obj, e[2])
    if tag == "item":
        obj = evaluate(e[1], sizes, env)
        index = evaluate(e[2], sizes, env)
        return None if obj is None or index is None else obj[index]
    if tag == "neg" or tag == "pos":
        a = evaluate(e[1], sizes, env)
        return None if a is None else (-a if tag == "neg" else +a)
    if tag == "call":
        values = [evaluate(x, sizes, env) for x in e[2]]
        if any(v is None for v in values):
            return None
        if e[1] == "abs":
            return abs(values[0]) if len(values) == 1 else None
        return min(values) if e[1] == "min" else max(values)
    return None


def int_atom(v: Any) -> bool:
    """A part's value reads as itself when formatted: a non-negative int, or a bool."""
    t = type(v)
    return (t is int and v >= 0) or t is bool


def symbolic_value(
    sym: Symbolic,
    sizes: Mapping[str, Any],
    arguments: Mapping[str, Any] | None,
    atom: Callable[[Any], bool] = int_atom,
) -> Any:
    """The size a symbolic dim asks for, or None when it can't be known: a name not bound
    yet, a `{...}` part without arguments, Python outside the whitelist, a power past
    `LIMIT`, or an error. `atom(v)`: may a part's value stand for itself as one operand."""
    tree, parts, literal = sym
    try:
        if not parts:
            return evaluate(tree, sizes, ())
        if arguments is None:
            return None
        values = [evaluate(p, {}, arguments) for p in parts]
        if any(v is None for v in values):
            return None
        if tree[0] != "format" and all(atom(v) for v in values):
            return evaluate(tree, sizes, values)
        # As jaxtyping does: format the parts into the text, then read the text.
        text = literal[0] + "".join(
            format(v, "") + lit for v, lit in zip(values, literal[1:], strict=True)
        )
        if "{" in text or "}" in text:
            return None
        return evaluate(parse_expr(text), sizes, ())
    except Exception:
        return None


def tree_of(node: ast.expr) -> Expr:
    """The tree of an expression over dim names that is already parsed (as `parse_expr`
    gives for its text)."""
    return _convert(node, "size")

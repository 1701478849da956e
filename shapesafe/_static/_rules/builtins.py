"""Rules of Python's builtins that code uses on sizes and shapes: `len`, `int`, `zip`..."""

import ast

from .._unify import Size, fresh, lit
from .._values import IntV, ListV, NumV, TupV, Value, _item_of
from ._registry import PASS, Call, _Pass, function


def _spread(c: Call) -> bool:
    return any(isinstance(a, ast.Starred) for a in c.node.args) or bool(c.node.keywords)


@function("builtins.len")
def length(c: Call) -> Value | _Pass:
    args = c.args
    if len(args) == 1 and isinstance(args[0], tuple) and args[0]:
        first = args[0][0]
        return IntV(first) if isinstance(first, Size) else None
    if len(args) == 1 and isinstance(args[0], TupV):
        return IntV(lit(len(args[0].items)))
    return PASS


@function("builtins.int", "builtins.float", "builtins.abs", "builtins.min", "builtins.max")
@function("builtins.round")
def number(c: Call) -> Value | _Pass:
    args = c.args
    if c.name == "int" and len(args) == 1 and isinstance(args[0], IntV):
        return args[0]
    if args and all(isinstance(a, (IntV, NumV)) for a in args):
        return NumV()
    if c.name in ("float", "int") and len(args) == 1 and isinstance(args[0], tuple):
        return NumV()  # a one-element tensor as a Python number
    if c.name == "float" and len(args) == 1 and not _spread(c):
        return NumV()  # `float("-inf")`: a Python float whatever it is made from
    return PASS


@function("builtins.tuple", "builtins.list")
def sequence(c: Call) -> Value | _Pass:
    if len(c.args) == 1 and isinstance(c.args[0], TupV):
        return c.args[0]
    if len(c.args) == 1 and isinstance(c.args[0], tuple) and c.args[0] and not _spread(c):
        return ListV(_item_of(c.args[0]))  # `list(x)` of a tensor: its slices along axis 0
    return PASS


@function("builtins.dict")
def record(c: Call) -> Value | _Pass:
    keywords = c.node.keywords
    if not c.args and keywords and all(k.arg is not None for k in keywords):
        fields = tuple(str(k.arg) for k in keywords)
        return TupV(tuple(c.kwargs.get(f) for f in fields), fields)
    return PASS


@function("builtins.enumerate")
def enumerate_(c: Call) -> Value:
    if len(c.args) == 1 and not _spread(c):
        return ListV(TupV((None, _item_of(c.args[0]))))
    return None


@function("builtins.zip")
def zip_(c: Call) -> Value:
    if c.args and not _spread(c):
        return ListV(TupV(tuple(_item_of(a) for a in c.args)))
    return None


@function("builtins.range")
def range_(c: Call) -> Value:
    """Ints, of which a loop's variable is one: `x[..., i, :]` in `for i in range(n)`."""
    return ListV(IntV(fresh()))


@function(*(f"builtins.{n}" for n in "super print isinstance getattr hasattr setattr".split()))
def opaque(c: Call) -> Value:
    return None

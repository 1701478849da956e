"""Shape contracts: parsing jaxtyping dim strings into dims and expression trees.

Pure Python with no torch import, so the runtime explanations, the compiled path and the
static checker all share one parser. The grammar follows jaxtyping's (`n`, `3`, `*batch`,
`...`, `#n`, `_`, `_n`, `n=3`, symbolic `n+1` / `{arg}` expressions). Matching dims against
sizes is `_unify`'s; `unify`, `Bindings`, `Conflict` and `Source` are re-exported from there.

A symbolic dim is parsed once, here, into an expression tree of nested tuples (see `Expr`).
Nothing is evaluated while parsing: `"9**9**9"` is a tree like any other, and `_unify` bounds
the sizes it computes.
"""

__tracebackhide__ = True  # pytest leaves this module's frames out of a failure's report

import ast
import dataclasses
import functools
from typing import Any, Literal

from ._unify import (
    Binder,
    Decider,
    ReturnDecider,
    binder,
    contract_plan,
    decider,
    return_decider,
    spec_plan,
)
from ._unify import Bindings as Bindings
from ._unify import Conflict as Conflict
from ._unify import ConflictKind as ConflictKind
from ._unify import Plan as Plan
from ._unify import Source as Source
from ._unify import SpecPlan as SpecPlan
from ._unify import decide as decide
from ._unify import evaluate_symbolic as evaluate_symbolic
from ._unify import unify as unify

DimKind = Literal["named", "fixed", "symbolic", "anonymous", "variadic", "anonymous_variadic"]

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


@dataclasses.dataclass(frozen=True)
class Dim:
    """One axis of a spec such as `"*batch seq embed"`."""

    token: str
    kind: DimKind
    name: str = ""
    size: int = -1
    broadcastable: bool = False
    label: str = ""  # the documentation name of `label=expr`, e.g. "in_features"
    #: The parsed expression of a symbolic dim (`name` holds its text).
    expr: Symbolic | None = dataclasses.field(default=None, compare=False, repr=False)

    @property
    def display(self) -> str:
        """How messages name this dim: its name, else its label, else its token."""
        if self.kind in ("named", "variadic"):
            return self.name
        return self.label or self.token

    @property
    def is_variadic(self) -> bool:
        return self.kind in ("variadic", "anonymous_variadic")


@dataclasses.dataclass(frozen=True)
class Spec:
    """A parsed shape string."""

    text: str
    dims: tuple[Dim, ...]
    variadic_index: int | None

    @property
    def min_rank(self) -> int:
        return len(self.dims) - (0 if self.variadic_index is None else 1)

    @functools.cached_property
    def plan(self) -> SpecPlan:
        """The spec as `_unify` walks it, built once per spec."""
        return spec_plan(self)


@functools.lru_cache(maxsize=1024)
def parse_spec(text: str) -> Spec:
    """Parse a jaxtyping shape string. Raises `ValueError` on a malformed one."""
    if not isinstance(text, str):
        raise ValueError("a shape spec must be a string of space-separated dims")
    dims: list[Dim] = []
    variadic_index: int | None = None
    for index, token in enumerate(text.split()):
        dim = _parse_dim(token)
        if dim.is_variadic:
            if variadic_index is not None:
                raise ValueError(f"spec {text!r} has more than one variadic dim")
            variadic_index = index
        dims.append(dim)
    return Spec(text, tuple(dims), variadic_index)


def _parse_dim(token: str) -> Dim:
    if "," in token and "(" not in token:
        raise ValueError(f"dims are separated by spaces, not commas: {token!r}")
    if token == "...":
        return Dim(token, "anonymous_variadic")
    elem = token
    label = ""
    broadcastable = variadic = anonymous = False
    while elem:
        head = elem[0]
        if head == "#" and not broadcastable:
            broadcastable, elem = True, elem[1:]
        elif head == "*" and not variadic:
            variadic, elem = True, elem[1:]
        elif head == "_" and not anonymous:
            anonymous, elem = True, elem[1:]
        elif head == "?":
            elem = elem[1:]
        elif elem.count("=") == 1:
            label, elem = elem.split("=")
        else:
            break
    if elem == "" or elem.isidentifier():
        if anonymous:
            return Dim(token, "anonymous_variadic" if variadic else "anonymous")
        if variadic:
            return Dim(token, "variadic", name=elem, broadcastable=broadcastable)
        return Dim(token, "named", name=elem, broadcastable=broadcastable)
    try:
        size = int(elem)
    except ValueError:
        if variadic or anonymous:
            raise ValueError(f"a symbolic dim cannot be variadic or anonymous: {token!r}") from None
        return Dim(
            token,
            "symbolic",
            name=elem,
            broadcastable=broadcastable,
            label=label,
            expr=parse_symbolic(elem),
        )
    if variadic or anonymous:
        raise ValueError(f"a fixed dim cannot be variadic or anonymous: {token!r}")
    return Dim(token, "fixed", size=size, broadcastable=broadcastable, label=label)


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


@dataclasses.dataclass(frozen=True)
class TensorParam:
    """The contract of one tensor argument (or of the return value)."""

    name: str
    spec: Spec
    dtypes: tuple[str, ...] | None  # None: any dtype (Shaped)
    dtype_label: str  # "Float", "Int", ...
    optional: bool = False
    #: "*" for `*args`, "**" for `**kwargs`: the annotation describes each item.
    packed: str = ""


@dataclasses.dataclass(frozen=True)
class Contract:
    """An op's whole contract: its tensor parameters in order, then its return.

    `returns` describes a `tuple[...]` return, item by item (None for a non-tensor item),
    under the names `return[0]`, `return[1]`, ...; `ret` is then None.
    """

    op: str
    params: tuple[TensorParam, ...]
    ret: TensorParam | None
    returns: tuple[TensorParam | None, ...] | None = None

    @functools.cached_property
    def plan(self) -> Plan:
        """The contract as `_unify.decide` walks it, built once per contract."""
        return contract_plan(self)

    @functools.cached_property
    def decider(self) -> Decider:
        """`_unify.decide`'s code for this contract, generated once."""
        return decider(self.plan)

    @functools.cached_property
    def binder(self) -> Binder:
        """`_unify.binder`'s code for this contract's params: the dims they bind."""
        return binder(self.plan[: len(self.params)])

    @functools.cached_property
    def return_decider(self) -> ReturnDecider:
        """`_unify.return_decider`'s code: the return, given the dims the params bound."""
        return return_decider(self.plan, len(self.params))

    def return_params(self) -> tuple[TensorParam, ...]:
        """The tensor params of the return value: `ret`, or the tuple's tensor items."""
        if self.returns is not None:
            return tuple(p for p in self.returns if p is not None)
        return () if self.ret is None else (self.ret,)


@dataclasses.dataclass(frozen=True)
class Observed:
    """What arrived for one argument: a tensor's shape and dtype, or a non-tensor's type."""

    shape: tuple[int, ...] | None
    dtype: str = ""
    type_name: str = ""


def paren_note(spec: "Spec | None") -> str | None:
    """For a spec that groups axes with parentheses (`"(a b) d"`, einops style): what
    jaxtyping makes of it, and how to write the merged axis instead. A dim whose own
    parentheses balance, as in `"(n+1) d"` or `"min(a,b)"`, is an expression, not a group."""
    if spec is None:
        return None
    product: list[str] = []
    named: list[str] = []
    grouped: list[str] = []
    run: list[str] | None = None
    for token in spec.text.split():
        depth = token.count("(") - token.count(")")
        if run is None and depth <= 0:
            if depth < 0:
                return None  # a stray `)`: not a group this note can rewrite
            product.append(token)
            named.append(token)
            continue
        if run is None:
            run = []
        if depth > 0 and run:
            return None  # a second `(` before the first group closed
        grouped.append(token)
        run.append(token.strip("()"))
        if depth < 0:
            parts = [p for p in run if p]
            product.append("*".join(parts))
            named.append("_".join(parts))
            run = None
    if run is not None or not grouped:
        return None
    return (
        f"jaxtyping reads {', '.join(repr(g) for g in grouped)} as separate dims: "
        f'parentheses do not group axes; write "{" ".join(product)}" where those dims are '
        f'bound by other arguments, else name the merged axis ("{" ".join(named)}")'
    )

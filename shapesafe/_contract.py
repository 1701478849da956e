"""Shape contracts: parsing jaxtyping dim strings into dims and expression trees.

Pure Python with no torch import, so the runtime explanations, the compiled path and the
static checker all share one parser. The grammar follows jaxtyping's (`n`, `3`, `*batch`,
`...`, `#n`, `_`, `_n`, `n=3`, symbolic `n+1` / `{arg}` expressions). Matching dims against
sizes is `_unify`'s; `unify`, `Bindings`, `Conflict` and `Source` are re-exported from there.
A symbolic dim's text is parsed into its expression trees by `_symbolic` (re-exported here).
`_unify` imports nothing of this module when it runs (only its type names, for annotations),
so the two never import each other.
"""

__tracebackhide__ = True  # pytest leaves this module's frames out of a failure's report

import dataclasses
import functools
from typing import Literal

from ._symbolic import OPERATORS as OPERATORS
from ._symbolic import Expr as Expr
from ._symbolic import Symbolic as Symbolic
from ._symbolic import parse_expr as parse_expr
from ._symbolic import parse_symbolic as parse_symbolic
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

    def param(self, name: str) -> TensorParam:
        """The tensor param called `name`."""
        return next(p for p in self.params if p.name == name)

    def with_params(self, *params: TensorParam) -> "Contract":
        """This op's contract for an error its body finds: `params` (its own, or what the body
        checks of an argument beyond its annotation) in place of its tensor params, and no
        return."""
        return dataclasses.replace(self, params=params, ret=None, returns=None)


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

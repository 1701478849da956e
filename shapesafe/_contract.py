"""Shape contracts: parsing jaxtyping dim strings and unifying dims.

Pure Python with no torch import, so the runtime explanations, the compiled path and the
static checker all share one parser and one unifier. The grammar follows jaxtyping's
(`n`, `3`, `*batch`, `...`, `#n`, `_`, `_n`, `n=3`, symbolic `n+1` / `{arg}` expressions).
"""

import dataclasses
import functools
from collections.abc import Mapping, Sequence
from typing import Any, Literal

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
        return Dim(token, "symbolic", name=elem, broadcastable=broadcastable, label=label)
    if variadic or anonymous:
        raise ValueError(f"a fixed dim cannot be variadic or anonymous: {token!r}")
    return Dim(token, "fixed", size=size, broadcastable=broadcastable, label=label)


@dataclasses.dataclass(frozen=True)
class Source:
    """Where a size was read: `x.shape[2]`, or `x.shape[0:2]` for a variadic dim."""

    argument: str
    start: int
    stop: int | None = None

    def __str__(self) -> str:
        if self.stop is None:
            return f"{self.argument}.shape[{self.start}]"
        return f"{self.argument}.shape[{self.start}:{self.stop}]"


ConflictKind = Literal["type", "dtype", "rank", "size", "fixed", "symbolic", "variadic"]


@dataclasses.dataclass(frozen=True)
class Conflict:
    """The first place a call breaks its contract."""

    argument: str
    kind: ConflictKind
    spec: Spec | None
    axis: int | None = None
    dim: Dim | None = None
    expected: Any = None
    actual: Any = None
    source: Source | None = None
    note: str = ""  # replaces the "(bound by ...)" explanation when set


class Bindings:
    """Sizes bound so far in one call, with where each was bound."""

    def __init__(self) -> None:
        self.single: dict[str, tuple[int, Source]] = {}
        self.variadic: dict[str, tuple[tuple[int, ...], Source]] = {}

    def sizes(self) -> dict[str, int]:
        return {name: size for name, (size, _) in self.single.items()}

    def describe(self) -> list[str]:
        out = [f"{name}={size} from {src}" for name, (size, src) in self.single.items()]
        out += [
            f"{name}={shape} from {src}" for name, (shape, src) in self.variadic.items() if shape
        ]
        return out

    def match(
        self,
        argument: str,
        spec: Spec,
        shape: Sequence[int],
        arguments: Mapping[str, Any] | None = None,
    ) -> Conflict | None:
        """Bind `spec` against `shape`. On a conflict nothing new stays bound."""
        rank = len(shape)
        vi = spec.variadic_index
        if (vi is None and rank != len(spec.dims)) or rank < spec.min_rank:
            return Conflict(argument, "rank", spec, expected=len(spec.dims), actual=tuple(shape))
        single_before = dict(self.single)
        variadic_before = dict(self.variadic)
        if vi is None:
            axes = list(enumerate(spec.dims))
        else:
            tail = len(spec.dims) - vi - 1
            axes = list(enumerate(spec.dims[:vi]))
            axes += [(rank - tail + k, d) for k, d in enumerate(spec.dims[vi + 1 :])]
        conflict = None
        for axis, dim in axes:
            conflict = self._match_one(argument, spec, axis, dim, shape[axis], arguments)
            if conflict is not None:
                break
        if conflict is None and vi is not None:
            stop = rank - (len(spec.dims) - vi - 1)
            conflict = self._match_variadic(argument, spec, vi, stop, spec.dims[vi], shape)
        if conflict is not None:
            self.single, self.variadic = single_before, variadic_before
        return conflict

    def _match_one(
        self,
        argument: str,
        spec: Spec,
        axis: int,
        dim: Dim,
        size: int,
        arguments: Mapping[str, Any] | None,
    ) -> Conflict | None:
        if dim.kind == "anonymous" or (dim.broadcastable and size == 1):
            return None
        if dim.kind == "fixed":
            if size != dim.size:
                return Conflict(argument, "fixed", spec, axis, dim, dim.size, size)
            return None
        if dim.kind == "symbolic":
            expected = evaluate_symbolic(dim.name, self.sizes(), arguments)
            if expected is not None and expected != size:
                return Conflict(argument, "symbolic", spec, axis, dim, expected, size)
            return None
        bound = self.single.get(dim.name)
        if bound is None:
            self.single[dim.name] = (size, Source(argument, axis))
            return None
        if bound[0] != size:
            return Conflict(argument, "size", spec, axis, dim, bound[0], size, bound[1])
        return None

    def _match_variadic(
        self, argument: str, spec: Spec, start: int, stop: int, dim: Dim, shape: Sequence[int]
    ) -> Conflict | None:
        if dim.kind == "anonymous_variadic":
            return None
        got = tuple(shape[start:stop])
        bound = self.variadic.get(dim.name)
        if bound is None:
            self.variadic[dim.name] = (got, Source(argument, start, stop))
            return None
        want, src = bound
        if want == got:
            return None
        if dim.broadcastable and _broadcasts(want, got):
            return None
        if len(want) == len(got):
            # Same rank: point at the first axis that differs, as for a single dim.
            i = next(k for k in range(len(got)) if want[k] != got[k])
            one = Dim(f"{dim.token}[{i}]", "named", name=f"{dim.token}[{i}]")
            return Conflict(
                argument,
                "size",
                spec,
                start + i,
                one,
                want[i],
                got[i],
                Source(src.argument, src.start + i),
            )
        return Conflict(argument, "variadic", spec, start, dim, want, got, src)


def _broadcasts(a: tuple[int, ...], b: tuple[int, ...]) -> bool:
    for x, y in zip(reversed(a), reversed(b), strict=False):
        if x != y and x != 1 and y != 1:
            return False
    return True


def evaluate_symbolic(
    expr: str, sizes: Mapping[str, int], arguments: Mapping[str, Any] | None = None
) -> int | None:
    """Value of a symbolic dim such as `embed//heads` or `{n}`; None when it can't be known."""
    try:
        if "{" in expr:
            if arguments is None:
                return None
            expr = str(eval(f"f{expr!r}", dict(arguments)))
        value = eval(expr, dict(sizes))
    except Exception:
        return None
    return value if isinstance(value, int) else None


@dataclasses.dataclass(frozen=True)
class TensorParam:
    """The contract of one tensor argument (or of the return value)."""

    name: str
    spec: Spec
    dtypes: tuple[str, ...] | None  # None: any dtype (Shaped)
    dtype_label: str  # "Float", "Int", ...
    optional: bool = False


@dataclasses.dataclass(frozen=True)
class Contract:
    """An op's whole contract: its tensor parameters in order, then its return."""

    op: str
    params: tuple[TensorParam, ...]
    ret: TensorParam | None


@dataclasses.dataclass(frozen=True)
class Observed:
    """What arrived for one argument: a tensor's shape and dtype, or a non-tensor's type."""

    shape: tuple[int, ...] | None
    dtype: str = ""
    type_name: str = ""


def unify(
    contract: Contract,
    observed: Mapping[str, Observed | None],
    arguments: Mapping[str, Any] | None = None,
    bindings: Bindings | None = None,
    include_return: bool = True,
) -> tuple[Bindings, Conflict | None]:
    """Check observed arguments (and the return, under the name `return`) in order.

    A name absent from `observed`, or mapped to None where the param is optional, is skipped.
    """
    b = Bindings() if bindings is None else bindings
    params = list(contract.params)
    if include_return and contract.ret is not None:
        params.append(contract.ret)
    for p in params:
        if p.name not in observed:
            continue
        got = observed[p.name]
        if got is None:
            if p.optional:
                continue
            return b, Conflict(p.name, "type", p.spec, expected=p.dtype_label, actual="None")
        if got.shape is None:
            return b, Conflict(p.name, "type", p.spec, expected=p.dtype_label, actual=got.type_name)
        if p.dtypes is not None and got.dtype not in p.dtypes:
            return b, Conflict(p.name, "dtype", p.spec, expected=p.dtype_label, actual=got.dtype)
        conflict = b.match(p.name, p.spec, got.shape, arguments)
        if conflict is not None:
            return b, conflict
    return b, None

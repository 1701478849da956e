"""Rules of the functional norms: `F.layer_norm`, `F.rms_norm` and `F.group_norm`.

`F.layer_norm(x, normalized_shape, weight, bias)` normalizes the trailing dims of `x`,
which must be `normalized_shape`, and `weight` and `bias` must have that shape too.
`F.group_norm(x, groups, weight, bias)` takes a `weight` and `bias` sized by `x`'s
channels, its dim 1.
"""

from .. import _torch as T
from .._unify import Group, Size, equality_note, needs, show
from .._values import IntV, SymV, TupV, Value
from ._registry import Call, function

F = "torch.nn.functional."


def _note(a: Size, b: Size) -> str:
    note = equality_note(a, b)
    return f" ({note})" if note else ""


def _sizes(c: Call, v: Value) -> tuple[Size, ...] | None:
    """The sizes of a `normalized_shape` argument: a tuple or list of ints, or one int."""
    if isinstance(v, (IntV, SymV)):
        v = TupV((v,))
    if not isinstance(v, TupV):
        return None
    sizes = tuple(c.size_of(i) for i in v.items)
    return None if any(s is None for s in sizes) else sizes  # type: ignore[return-value]


def _plain(v: Value) -> tuple[Size, ...] | None:
    """A tensor shape with no `*` group in it, else None."""
    if not isinstance(v, tuple) or any(isinstance(i, Group) for i in v):
        return None
    return tuple(i for i in v if isinstance(i, Size))


def _text(c: Call, i: int, name: str) -> str:
    """How a message names the argument `name`, given at `i` or as a keyword."""
    node = c.nodes[i] if i < len(c.nodes) else c.kw(name)
    return name if node is None else c.text(node)


def _head(c: Call, names: list[str]) -> str:
    """The call as a message names it: its tensor and shape arguments, as they are given."""
    parts = [c.text(n) for n in c.nodes[: len(names)]]
    parts += [f"{n}={c.text(k)}" for n in names[len(parts) :] if (k := c.kw(n)) is not None]
    return f"F.{c.name}({', '.join(parts)})"


def _param(c: Call, i: int, name: str, want: tuple[Size, ...], says: str, head: str) -> bool:
    """Whether `weight` or `bias` (the `i`th argument) differs from `want`; reports it."""
    got = _plain(c.arg(i, name))
    if got is None or got == want:
        return False
    text = _text(c, i, name)
    what = name if text == name else f"{name} {text}"
    if len(got) != len(want):
        c.report(f'{head}: {what} "{show(got)}" has {len(got)} dims but {says}')
        return True
    for g, w in zip(got, want, strict=True):
        if needs(g, w) == "differ":
            c.report(f'{head}: {what} "{show(got)}" has {g} where {says}{_note(g, w)}')
            return True
    return False


@function(F + "layer_norm", F + "rms_norm")
def layer_norm(c: Call) -> Value:
    """`x` ends in `normalized_shape`, and `weight` (and `bias`) have that shape."""
    x = c.x
    if not isinstance(x, tuple):
        return None
    names = ["weight"] + (["bias"] if c.name == "layer_norm" else [])
    head = _head(c, ["input", "normalized_shape", *names])
    tx = _text(c, 0, "input")
    want = _sizes(c, c.arg(1, "normalized_shape"))
    said = _text(c, 1, "normalized_shape")
    if want is None:
        # No normalized_shape to read: the weight, where there is one, has its shape.
        want, said = _plain(c.arg(2, "weight")), _text(c, 2, "weight")
    if want is None or not want:
        return x
    c.relation()
    says = f'normalized_shape {said} is "{show(want)}"'
    if T.rank(x) is not None and len(x) < len(want):
        c.report(f'{head}: {tx} "{show(x)}" has fewer dims than {says}')
        return None
    tail = [T.size_at(x, -i) for i in range(len(want), 0, -1)]
    for got, w in zip(tail, want, strict=True):
        if got is not None and needs(got, w) == "differ":
            c.report(f'{head}: {tx} "{show(x)}" ends in {got} where {says}' + _note(got, w))
            return None
    if any(_param(c, i, n, want, says, head) for i, n in enumerate(names, 2)):
        return None
    return x


@function(F + "group_norm")
def group_norm(c: Call) -> Value:
    """`weight` and `bias` are sized by the channels of `x`, its dim 1."""
    x = c.x
    if not isinstance(x, tuple):
        return None
    channels = T.size_at(x, 1) if T.rank(x) is not None else None
    if channels is None or len(x) < 2:
        return x
    c.relation()
    tx = _text(c, 0, "input")
    head = _head(c, ["input", "num_groups", "weight", "bias"])
    says = f'{tx} "{show(x)}" has {channels} channels (dim 1)'
    if any(_param(c, i, n, (channels,), says, head) for i, n in ((2, "weight"), (3, "bias"))):
        return None
    return x

"""Rules of ops that look values up or order them: gather, sort, topk, searchsorted, nonzero."""

from .. import _torch as T
from .._unify import fresh, lit
from .._values import IntV, SymV, TupV, Value
from ._registry import PASS, Call, _Pass, function, lit_int, method


@function("torch.searchsorted")
def searchsorted(c: Call) -> Value | _Pass:
    if len(c.args) >= 2 and isinstance(c.args[1], tuple):
        return c.args[1]  # an index for each value looked up
    return PASS


@function("torch.argwhere", "torch.nonzero")
def nonzero(c: Call) -> Value | _Pass:
    x = c.x
    if not isinstance(x, tuple):
        return PASS
    if c.name == "nonzero" and "as_tuple" in c.kwargs:
        return None
    count = T.rank(x)
    return None if count is None else (fresh(), lit(count))


@method("sort", "argsort", "msort")
def sort(c: Call) -> Value:
    # `x.sort(dim)`: values and indices, each of x's shape.
    x = c.x
    return TupV((x, x), ("values", "indices")) if c.name == "sort" else x


@method("topk")
def topk(c: Call) -> Value | _Pass:
    x = c.x
    assert isinstance(x, tuple)
    if not (c.args or "k" in c.kwargs):
        return PASS
    k = c.args[0] if c.args else c.kwargs["k"]
    d = lit_int(c.arg(1, "dim", IntV(lit(-1))))
    p = None if d is None else T.axis(x, d)
    if p is None or not isinstance(k, (IntV, SymV)):
        return None
    size = c.size_of(k) or fresh()
    kept = tuple(size if i == p else s for i, s in enumerate(x))
    return TupV((kept, kept), ("values", "indices"))


@method("gather")
def gather(c: Call) -> Value | _Pass:
    if len(c.args) + len(c.kwargs) < 2:
        return PASS
    index = c.arg(1, "index")
    return index if isinstance(index, tuple) else None  # the index's shape

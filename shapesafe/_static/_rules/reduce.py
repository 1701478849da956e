"""Rules of reductions: sums, means, norms, max and min, and the pairwise reductions."""

import ast

from .. import _torch as T
from .._unify import Shape, lit, show
from .._values import IntV, Mismatch, NumV, TupV, Value
from ._numpy_scope import numpy_only
from ._registry import PASS, Call, _Pass, function, in_range, lit_int, method

REDUCTIONS = frozenset(
    """mean sum prod std var amax amin logsumexp norm all any argmax argmin count_nonzero
    nansum nanmean""".split()
)


@function("torch.nn.functional.cosine_similarity", "torch.linalg.cross")
def pairwise_function(c: Call) -> Value:
    if isinstance(c.x, tuple):
        return c.method(c.name, c.x, c.args[1:], c.node.args[1:])
    return None


@function("torch.linalg.norm", "torch.linalg.vector_norm")
def norm_function(c: Call) -> Value | _Pass:
    if not isinstance(c.x, tuple):
        return PASS
    # The order (`ord`, second by position as `p` is for `x.norm`) picks which norm, not
    # the dims it takes away: `dim` names them (a pair for a matrix norm), or all of them.
    return c.method("norm", c.x, c.args[1:], c.node.args[1:])


@method("cross", "cosine_similarity")
def pairwise(c: Call) -> Value | _Pass:
    if not (c.args and isinstance(c.args[0], tuple)):
        return PASS
    x, second, name = c.x, c.args[0], c.name
    assert isinstance(x, tuple)
    tx, to = c.receiver_text(), c.text(c.nodes[0])

    def paired() -> Shape | None:
        ranks = T.rank(x), T.rank(second)
        if name == "cross" and None not in ranks and ranks[0] != ranks[1]:
            raise Mismatch(
                f'cross: {tx} "{show(x)}" and {to} "{show(second)}" differ in rank; '
                "torch.cross needs the same number of dims"
            )
        return T.broadcast(x, second, tx, to)

    both = c.rule(paired)
    if name == "cross" or not isinstance(both, tuple):
        return both
    d = lit_int(c.arg(1, "dim", IntV(lit(1))))
    return None if d is None else T.reduce(both, [d], False)


@method(*sorted(REDUCTIONS), "max", "min", "median", "mode")
def reduction(c: Call) -> Value | _Pass:
    name, x, args, kwargs, nodes = c.name, c.x, c.args, c.kwargs, c.nodes
    assert isinstance(x, tuple)
    if name in ("max", "min") and args and isinstance(args[0], tuple):
        return PASS  # `torch.max(a, b)`: elementwise (`shape.elementwise`)
    # `axis=` and `keepdims=` as numpy (and torch, as aliases) spell them.
    dim_v = args[0] if args else kwargs.get("dim", kwargs.get("axis"))
    if name == "norm" and args:
        dim_v = c.arg(1, "dim")
    keep = kwargs.get("keepdim", kwargs.get("keepdims"))
    keep_node = c.kw("keepdim") or c.kw("keepdims")
    keepdim = isinstance(keep_node, ast.Constant) and keep_node.value is True
    if name == "norm" and len(args) > 2:
        return None  # keepdim given by position
    if (
        len(args) > 1
        and name not in ("norm",)
        and isinstance(nodes[1], ast.Constant)
        and nodes[1].value is True
    ):
        keepdim = True
    if keep is not None or (keep_node is not None and not isinstance(keep_node, ast.Constant)):
        return None
    if dim_v is None:
        if name in ("max", "min", "median") and args:
            return None
        at = 1 if name == "norm" else 0
        given = nodes[at] if len(nodes) > at else c.kw("dim") or c.kw("axis")
        if given is not None and not (isinstance(given, ast.Constant) and given.value is None):
            return None  # `x.sum(dim=d)` with d unknown: not a reduction of every axis
        return () if not keepdim else T.reduce(x, None, True)
    if isinstance(dim_v, TupV):
        dims = [lit_int(v) for v in dim_v.items]
    else:
        dims = [lit_int(dim_v)]
    if any(d is None for d in dims):
        return None
    dims = [in_range(c, x, d) for d in dims]
    if any(d is None for d in dims):
        return None
    out = T.reduce(x, [d for d in dims if d is not None], keepdim)
    if name in ("max", "min", "median", "mode"):
        return _with_indices(c, out)
    return out


def _with_indices(c: Call, out: Shape | None) -> Value:
    """(values, indices) of `x.max(dim=1)`; numpy's `a.max(axis=1)` gives the values alone."""
    if out is None:
        return None
    if c.name in ("max", "min") and c.kw("axis") is not None and numpy_only(c.reader):
        return out  # the least or greatest of each row, one array
    return TupV((out, out), ("values", "indices"))


def _reduced(c: Call, at: int, default: int | None = None) -> Shape | None:
    """`c.x` reduced along the dim given at position `at` or as `dim=` (`default` where
    none is, None for every axis), keeping it where the next position or `keepdim=` says."""
    x = c.x
    assert isinstance(x, tuple)
    dim_node = c.nodes[at] if len(c.nodes) > at else c.kw("dim")
    keep_node = c.nodes[at + 1] if len(c.nodes) > at + 1 else c.kw("keepdim")
    if keep_node is not None and not (
        isinstance(keep_node, ast.Constant) and isinstance(keep_node.value, bool)
    ):
        return None
    keep = isinstance(keep_node, ast.Constant) and keep_node.value is True
    if dim_node is None or (isinstance(dim_node, ast.Constant) and dim_node.value is None):
        if default is None:
            return T.reduce(x, None, keep)
        d: int | None = default
    else:
        d = lit_int(c.arg(at, "dim"))
    d = in_range(c, x, d)
    return None if d is None else T.reduce(x, [d], keep)


@method("quantile", "nanquantile")
def quantile(c: Call) -> Value:
    """`x.quantile(q, dim, keepdim)`: x reduced along dim (every axis where none is given),
    behind one axis for the quantiles where q is a tensor of them."""
    q, q_node = c.arg(0, "q"), c.nodes[0] if c.nodes else c.kw("q")
    out = _reduced(c, 1)
    if out is None:
        return None
    if isinstance(q, tuple):
        return out if not q else (q[0], *out) if len(q) == 1 else None
    number = isinstance(q_node, ast.Constant) and isinstance(q_node.value, (int, float))
    return out if number or isinstance(q, (IntV, NumV)) else None


@method("std_mean", "var_mean")
def with_mean(c: Call) -> Value:
    """`torch.std_mean(x, dim)`: (std, mean), each as `x.std(dim)` is."""
    if not isinstance(c.x, tuple):
        return None
    one = c.method(c.name.split("_")[0], c.x, c.args, c.nodes)
    return TupV((one, one)) if isinstance(one, tuple) else None


@method("aminmax")
def aminmax(c: Call) -> Value:
    """`x.aminmax(dim=d)` (its arguments are keywords only): (min, max)."""
    out = None if c.args else _reduced(c, 0)
    return None if out is None else TupV((out, out), ("min", "max"))


@method("kthvalue")
def kthvalue(c: Call) -> Value:
    """`x.kthvalue(k, dim=-1, keepdim=False)`: (values, indices)."""
    out = _reduced(c, 1, -1)
    return None if out is None else TupV((out, out), ("values", "indices"))


@function("torch.special.logsumexp")
def special_logsumexp(c: Call) -> Value | _Pass:
    if not isinstance(c.x, tuple):
        return PASS
    return c.method("logsumexp", c.x, c.args[1:], c.node.args[1:])

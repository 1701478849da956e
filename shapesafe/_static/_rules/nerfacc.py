"""Rules of nerfacc's volume rendering, as its documentation states them:
`accumulate_along_rays` sums each ray's weighted samples into one value per ray."""

import ast

from .._unify import Size, fresh, lit
from .._values import Value
from ._registry import Call, function


def _none(node: ast.expr | None) -> bool:
    return isinstance(node, ast.Constant) and node.value is None


@function("nerfacc.accumulate_along_rays")
def accumulate_along_rays(c: Call) -> Value:
    """`accumulate_along_rays(weights, values=v, ray_indices=ids, n_rays=n)`: with the
    samples of all rays packed (`weights` "samples", `values` "samples D", `ray_indices`
    the ray of each sample), "n D"; with samples batched per ray (`weights` "... samples",
    `values` "... samples D", no `ray_indices`), "... D". Without `values`, the weights
    alone are summed: D is 1. Only its keyword form is read: versions of nerfacc differ in
    the order of the other parameters."""
    weights = c.x
    if len(c.node.args) != 1 or not isinstance(weights, tuple) or not weights:
        return None
    values_node = c.kw("values")
    values = c.kwargs.get("values")
    if values_node is None or _none(values_node):
        width = lit(1)
    elif (
        isinstance(values, tuple)
        and len(values) == len(weights) + 1
        and isinstance(values[-1], Size)
    ):
        width = values[-1]
    else:
        return None
    ids = c.kw("ray_indices")
    if ids is None or _none(ids):
        return (*weights[:-1], width)
    if len(weights) != 1:
        return None
    rays = c.size_of(c.kwargs.get("n_rays")) if c.kw("n_rays") is not None else None
    return (rays if rays is not None else fresh(), width)

"""Reductions over chosen axes: `sum`, `mean`, `max` and `argmax`.

The axes are given by index (`dim=1`, `dim=(1, 2)`) or by name, with a pattern that names
`x`'s axes and the ones that stay: `mean(x, "batch seq embed -> batch embed")`. A pattern
also checks `x`'s rank, so `x` missing its batch axis is an error instead of a mean over
the wrong axis.
"""

__tracebackhide__ = True  # pytest leaves this module's frames out of a failure's report

import dataclasses
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

import torch
from jaxtyping import Float, Int, Real, Shaped
from torch import Tensor

from ._checked import checked_op, contract_of, raise_error
from ._contract import Conflict, Contract, Observed, parse_spec
from ._errors import ShapeError
from ._explain import OP_HINTS, explain, observe, render

if TYPE_CHECKING:
    Dims = int | tuple[int, ...] | str
else:
    # At run time the type alone: beartype checks one random item of a `tuple[int, ...]`,
    # which keeps a call from being cached; the body checks every item.
    Dims = int | tuple | str


def _spec_for(rank: int, axes: tuple[int, ...], names: list[str] | None) -> str:
    """The spec that shows which axes are reduced: the pattern's names, or `_` for the others
    and `reduced` for the reduced one."""
    if names is not None:
        return " ".join(names)
    return " ".join("reduced" if i in axes else "_" for i in range(rank))


def _x_contract(op: Callable[..., Any], spec_text: str) -> Contract:
    """`op`'s contract for the axes its body checks: `x`'s spec narrowed to `spec_text`, and
    any dtype (the body checks no dtype; with checks off, the error names the axis it found)."""
    contract = contract_of(op)
    x = dataclasses.replace(contract.param("x"), spec=parse_spec(spec_text), dtypes=None)
    return contract.with_params(x)


def _name(op: Callable[..., Any]) -> str:
    return contract_of(op).op


def _rank_error(op: Callable[..., Any], x: Tensor, spec_text: str) -> ShapeError:
    err = explain(_x_contract(op, spec_text), {"x": x})
    assert err is not None
    return err


def _dim_spec(dim: int) -> str:
    """At least enough axes for `dim`: `"_ _ dim ..."` for 2, `"... dim _"` for -2."""
    if dim >= 0:
        return " ".join(["_"] * dim + ["dim", "..."])
    return " ".join(["...", "dim", *["_"] * (-dim - 1)])


def check_dim(op: Callable[..., Any], x: Tensor, dim: int) -> None:
    """A ValueError for a `dim` that is not an int, a ShapeError when `x` has no axis `dim`.

    `op` is the op (whose argument `x` is), for its error."""
    if isinstance(dim, bool) or not isinstance(dim, int):
        raise ValueError(f"{_name(op)}(): dim must be an int, got {type(dim).__name__}")
    if not -x.ndim <= dim < x.ndim:
        raise_error(_rank_error, op, x, _dim_spec(dim))


def _parse_pattern(op: Callable[..., Any], pattern: str) -> tuple[list[str], list[str]]:
    if pattern.count("->") != 1:
        raise ValueError(f"{_name(op)}(): a pattern looks like 'b s e -> b e', got {pattern!r}")
    left, right = (side.split() for side in pattern.split("->"))
    for name in (*left, *right):
        if not name.isidentifier():
            raise ValueError(f"{_name(op)}(): {name!r} in {pattern!r} is not a dim name")
    if len(set(left)) != len(left):
        raise ValueError(f"{_name(op)}(): a dim name repeats in {pattern!r}")
    kept = [n for n in left if n in right]
    if kept != right:
        raise ValueError(
            f"{_name(op)}(): the right side of {pattern!r} must keep some of the left side's "
            "names, in their order (use permute to reorder)"
        )
    if len(right) == len(left):
        raise ValueError(f"{_name(op)}(): {pattern!r} reduces no axis")
    return left, right


def _axes(op: Callable[..., Any], x: Tensor, dim: Dims) -> tuple[tuple[int, ...], list[str] | None]:
    """The reduced axes, in `[0, x.ndim)`, and the pattern's names when `dim` is one."""
    if isinstance(dim, str):
        left, right = _parse_pattern(op, dim)
        if x.ndim != len(left):
            raise_error(_rank_error, op, x, " ".join(left))
        return tuple(i for i, n in enumerate(left) if n not in right), left
    dims = dim if isinstance(dim, tuple) else (dim,)
    if not dims:
        # torch reads an empty tuple as every axis.
        raise ValueError(f"{_name(op)}(): dim is an empty tuple; name the axes to reduce")
    for d in dims:
        if isinstance(d, bool) or not isinstance(d, int):
            raise ValueError(f"{_name(op)}(): dim must be an int, a tuple of ints or a pattern")
    for d in dims:
        check_dim(op, x, d)
    axes = tuple(d % x.ndim for d in dims)
    if len(set(axes)) != len(axes):
        raise ValueError(f"{_name(op)}(): dim {dim} names an axis twice")
    return axes, None


def _empty_error(op: Callable[..., Any], x: Tensor, axis: int, spec_text: str) -> ShapeError:
    contract = _x_contract(op, spec_text)
    spec = contract.params[0].spec
    conflict = Conflict(
        "x",
        "symbolic",
        spec,
        axis,
        spec.dims[axis],
        "at least 1",
        0,
        note=f"{contract.op} over an empty axis has no value",
    )
    return render(contract, {"x": observe(x)}, conflict, [], None)


@checked_op
def sum(x: Shaped[Tensor, "..."], dim: Dims, keepdim: bool = False) -> Shaped[Tensor, "..."]:
    """The sum over the axes `dim`, as `torch.sum`.

    **Arguments:**

    - `x`: at least one axis.
    - `dim`: an axis, a tuple of axes, or a pattern such as `"b s e -> b e"`.
    - `keepdim`: keep each reduced axis, with size 1.

    **Returns:**

    `x`'s shape without the reduced axes (or with size 1 there).
    """
    axes, _ = _axes(sum, x, dim)
    return torch.sum(x, dim=axes, keepdim=keepdim)


@checked_op
def mean(x: Float[Tensor, "..."], dim: Dims, keepdim: bool = False) -> Float[Tensor, "..."]:
    """The mean over the axes `dim`, as `torch.mean`.

    **Arguments:**

    - `x`: floating, at least one axis.
    - `dim`: an axis, a tuple of axes, or a pattern such as `"b s e -> b e"`.
    - `keepdim`: keep each reduced axis, with size 1.

    **Returns:**

    `x`'s shape without the reduced axes (or with size 1 there).
    """
    axes, _ = _axes(mean, x, dim)
    return torch.mean(x, dim=axes, keepdim=keepdim)


@checked_op
def max(x: Real[Tensor, "..."], dim: Dims, keepdim: bool = False) -> Real[Tensor, "..."]:
    """The largest value over the axes `dim`: the values only, as `torch.amax`.

    (`torch.max(x, dim)` returns the values and their indices; for the indices, use `argmax`.)

    **Arguments:**

    - `x`: integer or floating, at least one axis; every reduced axis must be non-empty.
    - `dim`: an axis, a tuple of axes, or a pattern such as `"b s e -> b e"`.
    - `keepdim`: keep each reduced axis, with size 1.

    **Returns:**

    `x`'s shape without the reduced axes (or with size 1 there).
    """
    axes, names = _axes(max, x, dim)
    for axis in axes:
        if x.shape[axis] == 0:
            raise_error(_empty_error, max, x, axis, _spec_for(x.ndim, (axis,), names))
    return torch.amax(x, dim=axes, keepdim=keepdim)


@checked_op
def argmax(x: Real[Tensor, "..."], dim: int | str, keepdim: bool = False) -> Int[Tensor, "..."]:
    """The index of the largest value along one axis, as `torch.argmax` (int64).

    **Arguments:**

    - `x`: integer or floating, at least one axis; the reduced axis must be non-empty.
    - `dim`: one axis, or a pattern that drops one name, such as `"b s vocab -> b s"`.
    - `keepdim`: keep the reduced axis, with size 1.

    **Returns:**

    `x`'s shape without the reduced axis (or with size 1 there).
    """
    axes, names = _axes(argmax, x, dim)
    if len(axes) != 1:
        raise ValueError(f"argmax(): reduces one axis, got {dim!r}")
    if x.shape[axes[0]] == 0:
        raise_error(_empty_error, argmax, x, axes[0], _spec_for(x.ndim, axes, names))
    return torch.argmax(x, dim=axes[0], keepdim=keepdim)


def _dim_hint(observed: Mapping[str, Observed | None], c: Conflict) -> str | None:
    """An axis index past `x`'s last: say which indices `x` has (they count from 0)."""
    x = observed.get("x")
    if c.kind != "rank" or c.spec is None or x is None or x.shape is None:
        return None
    if "dim" not in [d.name for d in c.spec.dims] or not x.shape:
        return None
    rank = len(x.shape)
    return (
        f"'x' has {rank} axes, 0 to {rank - 1} (or -{rank} to -1 from the end): "
        "dim counts past them, or 'x' lacks an axis"
    )


for _op in ("sum", "mean", "max", "argmax", "softmax"):
    OP_HINTS[_op] = _dim_hint

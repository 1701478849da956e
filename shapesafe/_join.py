"""Joining tensors: `cat`, `stack`, and appending new keys or values to a KV cache."""

__tracebackhide__ = True  # pytest leaves this module's frames out of a failure's report

from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import torch
from jaxtyping import Shaped
from torch import Tensor

from ._checked import checked_op, contract_of, raise_error
from ._contract import Conflict, Observed, TensorParam, parse_spec
from ._errors import ShapeError
from ._explain import OP_HINTS, explain
from ._linalg import kernel_error


def _items(op: str, tensors: object) -> list[Tensor]:
    """The tensors of a list or tuple; a ValueError for an empty or other container, and a
    ShapeError for an item that is not a tensor.

    The items are checked here, not by the annotation: beartype checks one item of a
    sequence, picked at random, so a bad item would be caught only sometimes.
    """
    if not isinstance(tensors, (list, tuple)):
        raise ValueError(
            f"{op}(): tensors must be a list or tuple of tensors, got {type(tensors).__name__}"
        )
    if not tensors:
        raise ValueError(f"{op}(): tensors is empty")
    for i, t in enumerate(tensors):
        if not isinstance(t, Tensor):
            got = type(t).__name__
            raise ShapeError(
                f"{op}(): argument 'tensors[{i}]' is {got}, expected a tensor",
                op=op,
                argument=f"tensors[{i}]",
                expected="a tensor",
                actual=got,
            )
    return list(tensors)


if TYPE_CHECKING:
    Tensors = Sequence[Tensor]
else:
    # At run time the container's type alone, which also lets a call be cached.
    Tensors = list | tuple


def _named(items: list[Tensor]) -> dict[str, Tensor | None]:
    return {f"tensors[{i}]": t for i, t in enumerate(items)}


def _check_dim(op: str, dim: object, rank: int) -> int:
    """`dim` as an axis in `[0, rank)`, from an int in `[-rank, rank)`; else a ValueError."""
    if isinstance(dim, bool) or not isinstance(dim, int):
        raise ValueError(f"{op}(): dim must be an int, got {type(dim).__name__}")
    if not -rank <= dim < rank:
        raise ValueError(
            f"{op}(): dim {dim} is out of range for {rank} dims ({-rank} to {rank - 1})"
        )
    return dim % rank


def _join_error(op: Callable[..., Any], spec_text: str, *tensors: Tensor) -> ShapeError:
    """The error for tensors that don't fit `spec_text` together: `op`'s contract, with one
    param per item of its argument `tensors` (a list, which its annotation leaves unchecked)."""
    spec = parse_spec(spec_text)
    params = [TensorParam(f"tensors[{i}]", spec, None, "Shaped") for i in range(len(tensors))]
    contract = contract_of(op).with_params(*params)
    err = explain(contract, {p.name: t for p, t in zip(params, tensors, strict=True)})
    assert err is not None
    return err


def _cat_spec(rank: int, axis: int) -> str:
    """`"d0 _ d2"` for a join along axis 1 of 3: every other axis must agree."""
    return " ".join("_" if i == axis else f"d{i}" for i in range(rank))


@checked_op
def cat(tensors: Tensors, dim: int = 0) -> Shaped[Tensor, "..."]:
    """Concatenate tensors along an existing axis, as `torch.cat`.

    Every tensor must have the same rank and the same size on every axis but `dim`. (torch
    also takes a 1-D empty tensor next to anything; here that is a rank error.)

    **Arguments:**

    - `tensors`: a non-empty list or tuple of tensors.
    - `dim`: the axis to join along, negative counting from the end.

    **Returns:**

    The first tensor's shape, with the sizes along `dim` summed.
    """
    items = _items("cat", tensors)
    rank = items[0].ndim
    if any(t.ndim == 0 for t in items) or any(t.ndim != rank for t in items):
        raise_error(_join_error, cat, "_ ..." if rank == 0 else _cat_spec(rank, 0), *items)
    axis = _check_dim("cat", dim, rank)
    first = items[0].shape
    for t in items[1:]:
        if any(t.shape[i] != first[i] for i in range(rank) if i != axis):
            raise_error(_join_error, cat, _cat_spec(rank, axis), *items)
    try:
        return torch.cat(items, dim=axis)
    except RuntimeError as e:
        raise kernel_error(e, "cat", **_named(items)) from None


@checked_op
def stack(tensors: Tensors, dim: int = 0) -> Shaped[Tensor, "..."]:
    """Stack tensors of one shape along a new axis, as `torch.stack`.

    **Arguments:**

    - `tensors`: a non-empty list or tuple of tensors, all of the same shape.
    - `dim`: where the new axis goes in the result, in `[-(rank + 1), rank]`.

    **Returns:**

    The common shape with a new axis of size `len(tensors)` at `dim`.
    """
    items = _items("stack", tensors)
    first = items[0].shape
    if any(t.shape != first for t in items[1:]):
        raise_error(_join_error, stack, "*shape", *items)
    axis = _check_dim("stack", dim, len(first) + 1)
    try:
        return torch.stack(items, dim=axis)
    except RuntimeError as e:
        raise kernel_error(
            e, "stack", **{f"tensors[{i}]": t for i, t in enumerate(items)}
        ) from None


@checked_op
def kv_append(
    cache: Shaped[Tensor, "*batch t_cache head_dim"], new: Shaped[Tensor, "*batch t_new head_dim"]
) -> Shaped[Tensor, "*batch t_cache+t_new head_dim"]:
    """Append new keys (or values) to a KV cache, along the sequence axis.

    **Arguments:**

    - `cache`: `(*batch, t_cache, head_dim)`, usually `(batch, kv_heads, t_cache, head_dim)`:
      the keys of the tokens seen so far (`t_cache` may be 0).
    - `new`: `(*batch, t_new, head_dim)`, the new tokens' keys, heads before seq as `cache`.

    **Returns:**

    `(*batch, t_cache + t_new, head_dim)`: `cache`'s tokens, then `new`'s.
    """
    try:
        return torch.cat((cache, new), dim=-2)
    except RuntimeError as e:
        raise kernel_error(e, "kv_append", cache=cache, new=new) from None


def _kv_append_hint(observed: Mapping[str, Observed | None], c: Conflict) -> str | None:
    """New keys straight from a projection, `(batch, seq, heads, head_dim)`, not transposed."""
    cache, new = observed.get("cache"), observed.get("new")
    if c.argument != "new" or cache is None or new is None:
        return None
    if cache.shape is None or new.shape is None or len(new.shape) < 3:
        return None
    swapped = (*new.shape[:-3], new.shape[-2], new.shape[-3], new.shape[-1])
    if len(swapped) == len(cache.shape) and swapped[:-2] == cache.shape[:-2]:
        if swapped[-1] == cache.shape[-1]:
            return (
                "'new' looks like (batch, seq, heads, head_dim): the cache holds heads before "
                "seq, try new.transpose(-3, -2)"
            )
    return None


OP_HINTS["kv_append"] = _kv_append_hint

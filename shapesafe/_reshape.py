"""Reshape and permute helpers for multi-head attention."""

__tracebackhide__ = True  # pytest leaves this module's frames out of a failure's report

import dataclasses

from jaxtyping import Shaped
from torch import Tensor

from ._checked import checked_op, contract_of, raise_error
from ._contract import Conflict, parse_spec
from ._errors import ShapeError
from ._explain import explain, observe, render
from ._masks import check_size


def _heads_error(x: Tensor, num_heads: int) -> ShapeError:
    contract = contract_of(split_heads)
    spec = contract.params[0].spec  # "batch seq embed"
    embed = int(x.shape[2])
    conflict = Conflict(
        "x",
        "symbolic",
        spec,
        2,
        spec.dims[2],
        f"a multiple of num_heads={num_heads}",
        embed,
        note="embed must split evenly into heads",
    )
    divisors = [h for h in range(1, min(embed, 64) + 1) if embed % h == 0]
    hint = f"num_heads must divide {embed}: one of {divisors}"
    return render(contract, {"x": observe(x)}, conflict, [], hint)


def _rank_error(x: Tensor, spec: str) -> ShapeError:
    """`permute`'s contract, with `x`'s spec the names of the pattern's left side."""
    op = contract_of(permute)
    param = dataclasses.replace(op.params[0], spec=parse_spec(spec))
    contract = op.with_params(param)
    err = explain(contract, {"x": x})
    assert err is not None
    return err


@checked_op
def split_heads(
    x: Shaped[Tensor, "batch seq embed"], num_heads: int
) -> Shaped[Tensor, "batch heads seq head_dim"]:
    """Split the embedding into heads: `(batch, seq, embed)` to `(batch, heads, seq, head_dim)`.

    **Arguments:**

    - `x`: `(batch, seq, embed)`.
    - `num_heads`: how many heads; must divide `embed`.

    **Returns:**

    `(batch, num_heads, seq, embed // num_heads)`.
    """
    check_size("split_heads", "num_heads", num_heads, minimum=1)
    batch, seq, embed = x.shape
    if embed % num_heads != 0:
        raise_error(_heads_error, x, num_heads)
    return x.reshape(batch, seq, num_heads, embed // num_heads).transpose(1, 2)


@checked_op
def merge_heads(
    x: Shaped[Tensor, "batch heads seq head_dim"],
) -> Shaped[Tensor, "batch seq heads*head_dim"]:
    """Undo `split_heads`: `(batch, heads, seq, head_dim)` to `(batch, seq, heads * head_dim)`."""
    batch, heads, seq, head_dim = x.shape
    return x.transpose(1, 2).reshape(batch, seq, heads * head_dim)


def _qkv_error(x: Tensor, num_heads: int) -> ShapeError:
    contract = contract_of(split_qkv)
    spec = contract.params[0].spec  # "batch seq fused"
    fused = int(x.shape[2])
    if fused % 3 != 0:
        want = "a multiple of 3"
        note = "q, k and v side by side, 3 * embed"
        hint = None
    else:
        want = f"a multiple of 3*num_heads={3 * num_heads}"
        note = "3 * embed, and embed must split evenly into heads"
        embed = fused // 3
        divisors = [h for h in range(1, min(embed, 64) + 1) if embed % h == 0]
        hint = f"num_heads must divide embed={embed}: one of {divisors}"
    conflict = Conflict("x", "symbolic", spec, 2, spec.dims[2], want, fused, note=note)
    return render(contract, {"x": observe(x)}, conflict, [], hint)


@checked_op
def split_qkv(
    x: Shaped[Tensor, "batch seq fused"], num_heads: int
) -> tuple[
    Shaped[Tensor, "batch heads seq head_dim"],
    Shaped[Tensor, "batch heads seq head_dim"],
    Shaped[Tensor, "batch heads seq head_dim"],
]:
    """Split a fused projection into q, k and v heads, in GPT-2's `c_attn` layout.

    `x[..., :embed]` is q, the next `embed` are k, the last `embed` are v; each is then split
    into heads as by `split_heads`.

    **Arguments:**

    - `x`: `(batch, seq, 3 * embed)`, the output of a `Linear(embed, 3 * embed)`.
    - `num_heads`: how many heads; must divide `embed`.

    **Returns:**

    `(q, k, v)`, each `(batch, num_heads, seq, embed // num_heads)`.
    """
    check_size("split_qkv", "num_heads", num_heads, minimum=1)
    batch, seq, fused = x.shape
    if fused % (3 * num_heads) != 0:
        raise_error(_qkv_error, x, num_heads)
    head_dim = fused // (3 * num_heads)
    # unbind rather than indexing: its backward stacks the three gradients in one tensor,
    # where each index would allocate a zero gradient the size of x.
    q, k, v = x.reshape(batch, seq, 3, num_heads, head_dim).permute(2, 0, 3, 1, 4).unbind(0)
    return q, k, v


def _parse_pattern(pattern: str) -> tuple[list[str], list[str]]:
    if not isinstance(pattern, str) or pattern.count("->") != 1:
        raise ValueError(f"permute(): pattern must look like 'b s h d -> b h s d', got {pattern!r}")
    left, right = (side.split() for side in pattern.split("->"))
    for side in (left, right):
        for name in side:
            if not name.isidentifier():
                raise ValueError(f"permute(): {name!r} in {pattern!r} is not a dim name")
        if len(set(side)) != len(side):
            raise ValueError(f"permute(): a dim name repeats in {pattern!r}")
    if sorted(left) != sorted(right):
        only_left = sorted(set(left) - set(right))
        only_right = sorted(set(right) - set(left))
        raise ValueError(
            f"permute(): both sides of {pattern!r} must name the same dims "
            f"(only on the left: {only_left}, only on the right: {only_right})"
        )
    return left, right


@checked_op
def permute(x: Shaped[Tensor, "..."], pattern: str) -> Shaped[Tensor, "..."]:
    """Reorder axes by name, e.g. `permute(x, "b s h d -> b h s d")`.

    **Arguments:**

    - `x`: a tensor with one axis per name on the left of the pattern.
    - `pattern`: `"<names> -> <the same names, reordered>"`.

    **Returns:**

    `x` with its axes in the order of the right-hand side.

    **Raises:**

    `ValueError` for a malformed pattern, `ShapeError` when `x`'s rank does not match it.
    """
    left, right = _parse_pattern(pattern)
    if x.ndim != len(left):
        raise_error(_rank_error, x, " ".join(left))
    return x.permute(*[left.index(name) for name in right])


@checked_op
def repeat_kv(
    x: Shaped[Tensor, "*batch kv_heads seq head_dim"], n_rep: int
) -> Shaped[Tensor, "*batch kv_heads*{n_rep} seq head_dim"]:
    """Repeat each key/value head `n_rep` times, for grouped-query attention.

    Head `j` of the result is head `j // n_rep` of `x`, as Hugging Face transformers'
    `repeat_kv` (and `torch.repeat_interleave` on the heads axis) lay them out: query heads
    `j * n_rep` to `j * n_rep + n_rep - 1` share kv head `j`. (`x.repeat(1, n_rep, 1, 1)`
    gives the same shape in another order, which pairs each query head with the wrong keys.)

    **Arguments:**

    - `x`: `(*batch, kv_heads, seq, head_dim)`, keys or values.
    - `n_rep`: `num_heads // num_kv_heads`, at least 1.

    **Returns:**

    `(*batch, kv_heads * n_rep, seq, head_dim)`.
    """
    check_size("repeat_kv", "n_rep", n_rep, minimum=1)
    if n_rep == 1:
        return x
    *batch, kv_heads, seq, head_dim = x.shape
    wide = x.unsqueeze(-3).expand(*batch, kv_heads, n_rep, seq, head_dim)
    return wide.reshape(*batch, kv_heads * n_rep, seq, head_dim)

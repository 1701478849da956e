"""Rotary position embeddings (RoPE), in the half-split layout of Llama.

Each head's `head_dim` features are two halves: feature `i` of the first half and feature
`i` of the second half form one pair, rotated by the angle `position * theta**(-2i/head_dim)`.
This is the layout of Hugging Face transformers' Llama (`rotate_half`); Meta's original
code pairs neighbouring features instead, and its checkpoints are permuted on conversion.
"""

__tracebackhide__ = True  # pytest leaves this module's frames out of a failure's report

from collections.abc import Callable, Mapping
from typing import Any

import torch
from jaxtyping import Float, Int, Shaped
from torch import Tensor

from ._checked import checked_op, contract_of, raise_error
from ._contract import Conflict, Observed
from ._errors import ShapeError
from ._explain import OP_HINTS, observe, render
from ._linalg import kernel_error
from ._masks import check_size


def _odd_error(op: Callable[..., Any], name: str, x: Tensor) -> ShapeError:
    """`op`'s argument `name` with an odd last axis (`head_dim`), drawn alone."""
    contract = contract_of(op)
    param = contract.param(name)
    contract = contract.with_params(param)
    spec = param.spec
    axis = len(spec.dims) - 1
    conflict = Conflict(
        name,
        "symbolic",
        spec,
        axis,
        spec.dims[axis],
        "an even number",
        int(x.shape[-1]),
        note="rotary embeddings rotate pairs of features",
    )
    return render(contract, {name: observe(x)}, conflict, [], None)


@checked_op
def rotate_half(x: Shaped[Tensor, "*batch head_dim"]) -> Shaped[Tensor, "*batch head_dim"]:
    """`(x1, x2) -> (-x2, x1)` over the two halves of the last axis, which must be even."""
    if x.shape[-1] % 2:
        raise_error(_odd_error, rotate_half, "x", x)
    return _rotate(x)


def _rotate(x: Tensor) -> Tensor:
    x1, x2 = x.chunk(2, dim=-1)
    return torch.cat((-x2, x1), dim=-1)


@checked_op
def rope_tables(
    positions: Int[Tensor, "*batch seq"],
    head_dim: int,
    theta: float = 10000.0,
    dtype: torch.dtype = torch.float32,
) -> tuple[Float[Tensor, "*batch seq {head_dim}"], Float[Tensor, "*batch seq {head_dim}"]]:
    """The cosine and sine tables that `apply_rope` rotates queries and keys by.

    The angles are computed in float32, as Hugging Face transformers' Llama does, and the
    tables are then cast to `dtype`.

    **Arguments:**

    - `positions`: `(*batch, seq)`, the integer position of each token. Without a cache,
      `torch.arange(seq)`. With a KV cache holding `past` tokens, the new tokens' positions
      go on from there: `torch.arange(past, past + seq)`. A `(batch, seq)` tensor gives each
      sequence its own positions (left padding).
    - `head_dim`: the size of one head; must be even.
    - `theta`: the base of the frequencies (`rope_theta`; Llama 3 uses 500000.0).
    - `dtype`: the floating dtype of the tables, usually that of `q` and `k`.

    **Returns:**

    `(cos, sin)`, each `(*batch, seq, head_dim)`.
    """
    check_size("rope_tables", "head_dim", head_dim, minimum=2)
    if head_dim % 2:
        raise ValueError(f"rope_tables(): head_dim must be even, got {head_dim}")
    if not dtype.is_floating_point:
        raise ValueError(f"rope_tables(): dtype must be a floating dtype, got {dtype}")
    steps = torch.arange(0, head_dim, 2, dtype=torch.int64, device=positions.device)
    inv_freq = 1.0 / (theta ** (steps.float() / head_dim))
    freqs = positions.float()[..., None] * inv_freq
    angles = torch.cat((freqs, freqs), dim=-1)
    return angles.cos().to(dtype), angles.sin().to(dtype)


@checked_op
def apply_rope(
    q: Float[Tensor, "*batch heads seq head_dim"],
    k: Float[Tensor, "*batch kv_heads seq head_dim"],
    cos: Float[Tensor, "*#batch seq head_dim"],
    sin: Float[Tensor, "*#batch seq head_dim"],
) -> tuple[
    Float[Tensor, "*batch heads seq head_dim"], Float[Tensor, "*batch kv_heads seq head_dim"]
]:
    """Rotate queries and keys by their positions: `x * cos + rotate_half(x) * sin`.

    **Arguments:**

    - `q`: `(*batch, heads, seq, head_dim)`, heads before seq (after `split_heads`).
    - `k`: `(*batch, kv_heads, seq, head_dim)`; `kv_heads` may be fewer than `heads`
      (grouped-query attention).
    - `cos`, `sin`: `(seq, head_dim)` or `(*batch, seq, head_dim)`, from `rope_tables` for
      the positions of these `seq` tokens (with a KV cache, the new tokens only).

    **Returns:**

    `(q, k)` rotated, with their shapes.
    """
    if q.shape[-1] % 2:
        raise_error(_odd_error, apply_rope, "q", q)
    try:
        # One axis for the heads, which share the tables (`(seq, head_dim)` tables
        # broadcast as they are).
        c, s = cos, sin
        if cos.ndim != 2 or sin.ndim != 2:
            c, s = cos.unsqueeze(-3), sin.unsqueeze(-3)
        # `_rotate`, not the checked `rotate_half`: the contract already holds.
        return q * c + _rotate(q) * s, k * c + _rotate(k) * s
    except RuntimeError as e:
        raise kernel_error(e, "apply_rope", q=q, k=k, cos=cos, sin=sin) from None


def _rope_hint(observed: Mapping[str, Observed | None], c: Conflict) -> str | None:
    """The classic RoPE mistakes: q and k not transposed after the head split, and tables
    for more positions than the tokens at hand."""
    if c.kind != "size" or c.axis is None or not isinstance(c.expected, int):
        return None
    shapes = {n: o.shape for n, o in observed.items() if o is not None and o.shape is not None}
    q, k, table = shapes.get("q"), shapes.get("k"), shapes.get(c.argument)
    if q is None or k is None or table is None or c.axis != len(table) - 2:
        return None
    hints = []
    seq = q[-2]
    tables = [shapes[n][-2] for n in ("cos", "sin") if n in shapes and len(shapes[n]) >= 2]
    transposed = len(q) == len(k) >= 4 and q[-3] == k[-3] != seq
    if transposed and all(t == q[-3] for t in tables):
        hints.append(
            "'q' and 'k' look like (batch, seq, heads, head_dim): apply_rope wants heads "
            "before seq, try q.transpose(1, 2) and k.transpose(1, 2)"
        )
    if c.argument in ("cos", "sin") and table[-2] > seq:
        hints.append(
            f"'{c.argument}' holds {table[-2]} positions and q {seq}: build the tables for "
            f"these tokens' positions (after a KV cache of `past` tokens, "
            f"torch.arange(past, past + {seq})), or slice {c.argument}[past:past + {seq}]"
        )
    elif c.argument in ("cos", "sin") and hints:
        # Too few positions for q, or q not transposed: either may be the mistake.
        hints.append(f"'{c.argument}' was built for {table[-2]} positions, q has {seq}")
    return "; or ".join(hints) if hints else None


OP_HINTS["apply_rope"] = _rope_hint

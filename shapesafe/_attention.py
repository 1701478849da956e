"""Softmax, scaled dot-product attention and layer norm."""

import math
from typing import TYPE_CHECKING, ClassVar

import torch
import torch.nn.functional as F
from jaxtyping import AbstractDtype, Float
from torch import Tensor

from ._checked import checked_op, raise_error
from ._contract import Conflict, Contract, Dim, Source, TensorParam, parse_spec
from ._errors import ShapeError
from ._explain import observe, render
from ._linalg import kernel_error
from ._reduce import check_dim


@checked_op
def softmax(x: Float[Tensor, "*batch n"], dim: int = -1) -> Float[Tensor, "*batch n"]:
    """Softmax over axis `dim`, the last by default: the values along it become weights that
    sum to 1."""
    check_dim("softmax", x, dim)
    return torch.softmax(x, dim=dim)


@checked_op
def attention_scores(
    q: Float[Tensor, "*batch s d"], k: Float[Tensor, "*batch t d"]
) -> Float[Tensor, "*batch s t"]:
    """`q @ k.T / sqrt(d)`: how much each of `s` queries matches each of `t` keys."""
    try:
        return torch.matmul(q, k.mT) / math.sqrt(q.shape[-1])
    except RuntimeError as e:
        raise kernel_error(e, "attention_scores", q=q, k=k) from None


if TYPE_CHECKING:
    # As jaxtyping does for its own dtypes: to a type checker, `BoolOrFloat[Tensor, "..."]`
    # is a Tensor.
    from typing import Annotated as BoolOrFloat
else:

    class BoolOrFloat(AbstractDtype):
        """A mask's dtype: Bool (True = attend) or floating (added to the scores)."""

        dtypes: ClassVar[list[str]] = ["bool", *Float.dtypes]


def _kv_error(q: Tensor, k: Tensor, v: Tensor) -> ShapeError:
    """`k`'s batch dims must equal `q`'s, except the heads axis, which may divide `q`'s."""
    contract = Contract(
        "attention",
        (
            TensorParam("q", parse_spec("*batch s d"), None, "Float"),
            TensorParam("k", parse_spec("*kv_batch t d"), None, "Float"),
            TensorParam("v", parse_spec("*kv_batch t e"), None, "Float"),
        ),
        None,
    )
    observed = {"q": observe(q), "k": observe(k), "v": observe(v)}
    spec = contract.params[1].spec
    want, got = tuple(q.shape[:-2]), tuple(k.shape[:-2])
    hint = None
    if len(want) != len(got):
        batch = spec.dims[0]
        conflict = Conflict("k", "variadic", spec, 0, batch, want, got, Source("q", 0, len(want)))
    else:
        i = next(a for a in range(len(want)) if want[a] != got[a])
        one = Dim(f"*kv_batch[{i}]", "named", name=f"*kv_batch[{i}]")
        if i == len(want) - 1:
            note = f"k's heads must divide q's {want[i]} heads"
            fits = [h for h in range(1, min(want[i], 64) + 1) if want[i] % h == 0]
            hint = f"grouped-query attention needs k/v heads that divide {want[i]}: one of {fits}"
        else:
            note = f"bound by q.shape[{i}]"
        conflict = Conflict("k", "size", spec, i, one, want[i], got[i], note=note)
    return render(contract, observed, conflict, [], hint)


def _kv_fits(q: Tensor, k: Tensor) -> bool:
    qb, kb = q.shape[:-2], k.shape[:-2]
    if qb == kb:
        return True
    return len(qb) == len(kb) and qb[:-1] == kb[:-1] and kb[-1] > 0 and qb[-1] % kb[-1] == 0


@checked_op
def attention(
    q: Float[Tensor, "*batch s d"],
    k: Float[Tensor, "*kv_batch t d"],
    v: Float[Tensor, "*kv_batch t e"],
    mask: BoolOrFloat[Tensor, "*#batch #s t"] | None = None,
    causal: bool = False,
    dropout_p: float = 0.0,
    scale: float | None = None,
) -> Float[Tensor, "*batch s e"]:
    """Scaled dot-product attention, `softmax(q @ k.T * scale + mask) @ v`, on torch's SDPA.

    **Arguments:**

    - `q`: queries, `(*batch, s, d)`; the last batch axis is the heads axis.
    - `k`: keys, `(*batch, t, d)`. With fewer heads than `q` (grouped-query attention),
      `(..., kv_heads, t, d)` where `kv_heads` divides `q`'s heads.
    - `v`: values, `(*batch, t, e)`, with `k`'s batch dims.
    - `mask`: broadcastable to `(*batch, s, t)`, e.g. `(s, t)`, `(b, 1, 1, t)` or
      `(b, 1, s, t)`. Bool: True where attention is allowed. Float: added to the scores
      (0 to attend, -inf to block). A float 0/1 mask, such as nanoGPT's `bias` buffer, is a
      Bool mask in disguise: pass `mask.bool()` (added as floats, it would block nothing).
    - `causal`: also mask keys after each query (`j > i`), as in a decoder.
    - `dropout_p`: dropout probability on the attention weights; pass 0.0 when evaluating.
    - `scale`: multiplies the scores; `1/sqrt(d)` when None.

    **Returns:**

    `(*batch, s, e)`.
    """
    if k.shape[:-2] != q.shape[:-2] and not _kv_fits(q, k):
        raise_error(_kv_error, q, k, v)
    gqa = k.shape[:-2] != q.shape[:-2]
    try:
        if causal and mask is not None:
            allowed = torch.ones(q.shape[-2], k.shape[-2], dtype=torch.bool, device=q.device)
            allowed = allowed.tril()
            if mask.dtype == torch.bool:
                mask = mask & allowed
            else:
                mask = mask.masked_fill(~allowed, float("-inf"))
            causal = False
        return F.scaled_dot_product_attention(
            q,
            k,
            v,
            attn_mask=mask,
            dropout_p=dropout_p,
            is_causal=causal,
            scale=scale,
            enable_gqa=gqa,
        )
    except RuntimeError as e:
        additive = mask if mask is not None and mask.dtype != torch.bool else None
        raise kernel_error(e, "attention", q=q, k=k, v=v, mask=additive) from None


@checked_op
def layer_norm(
    x: Float[Tensor, "*batch e"],
    weight: Float[Tensor, " e"],
    bias: Float[Tensor, " e"] | None = None,
    eps: float = 1e-5,
) -> Float[Tensor, "*batch e"]:
    """Normalize each row over its last axis to mean 0, variance 1, then scale and shift.

    **Arguments:**

    - `x`: `(*batch, e)`.
    - `weight`: `(e,)`, the learned scale.
    - `bias`: `(e,)` or None, the learned shift.
    - `eps`: added to the variance.

    **Returns:**

    `(*batch, e)`.
    """
    try:
        return F.layer_norm(x, (x.shape[-1],), weight, bias, eps)
    except RuntimeError as e:
        raise kernel_error(e, "layer_norm", x=x, weight=weight, bias=bias) from None

"""Softmax, scaled dot-product attention and layer norm."""

import math

import torch
import torch.nn.functional as F
from jaxtyping import Bool, Float
from torch import Tensor

from ._checked import checked_op
from ._linalg import kernel_error


@checked_op
def softmax(x: Float[Tensor, "*batch n"]) -> Float[Tensor, "*batch n"]:
    """Softmax over the last axis: each row becomes weights that sum to 1."""
    return torch.softmax(x, dim=-1)


@checked_op
def attention_scores(
    q: Float[Tensor, "*batch s d"], k: Float[Tensor, "*batch t d"]
) -> Float[Tensor, "*batch s t"]:
    """`q @ k.T / sqrt(d)`: how much each of `s` queries matches each of `t` keys."""
    try:
        return torch.matmul(q, k.mT) / math.sqrt(q.shape[-1])
    except RuntimeError as e:
        raise kernel_error(e, "attention_scores", q=q, k=k) from None


@checked_op
def attention(
    q: Float[Tensor, "*batch s d"],
    k: Float[Tensor, "*batch t d"],
    v: Float[Tensor, "*batch t e"],
    mask: Bool[Tensor, "s t"] | None = None,
    causal: bool = False,
) -> Float[Tensor, "*batch s e"]:
    """Scaled dot-product attention: `softmax(q @ k.T / sqrt(d)) @ v`.

    **Arguments:**

    - `q`: queries, `(*batch, s, d)`.
    - `k`: keys, `(*batch, t, d)`.
    - `v`: values, `(*batch, t, e)`.
    - `mask`: `(s, t)` booleans, True where attention is allowed.
    - `causal`: also mask keys after each query (`j > i`), as in a decoder.

    **Returns:**

    `(*batch, s, e)`.
    """
    try:
        scores = torch.matmul(q, k.mT) / math.sqrt(q.shape[-1])
        if causal:
            allowed = torch.ones(q.shape[-2], k.shape[-2], dtype=torch.bool, device=q.device)
            allowed = allowed.tril()
            mask = allowed if mask is None else mask & allowed
        if mask is not None:
            scores = scores.masked_fill(~mask, float("-inf"))
        return torch.matmul(torch.softmax(scores, dim=-1), v)
    except RuntimeError as e:
        raise kernel_error(e, "attention", q=q, k=k, v=v) from None


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

"""Softmax, scaled dot-product attention and layer norm."""

import math

import torch
import torch.nn.functional as F
from jaxtyping import Bool, Float
from torch import Tensor

from ._checked import checked
from ._linalg import same_dtype


@checked
def softmax(x: Float[Tensor, "*batch n"]) -> Float[Tensor, "*batch n"]:
    """Softmax over the last axis: each row becomes weights that sum to 1."""
    return torch.softmax(x, dim=-1)


@checked
def attention_scores(
    q: Float[Tensor, "*batch s d"], k: Float[Tensor, "*batch t d"]
) -> Float[Tensor, "*batch s t"]:
    """`q @ k.T / sqrt(d)`: how much each of `s` queries matches each of `t` keys."""
    same_dtype("attention_scores", "q", q, "k", k)
    return torch.matmul(q, k.mT) / math.sqrt(q.shape[-1])


@checked
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
    same_dtype("attention", "q", q, "k", k)
    same_dtype("attention", "q", q, "v", v)
    scores = torch.matmul(q, k.mT) / math.sqrt(q.shape[-1])
    if causal:
        allowed = torch.ones(q.shape[-2], k.shape[-2], dtype=torch.bool, device=q.device).tril()
        mask = allowed if mask is None else mask & allowed
    if mask is not None:
        scores = scores.masked_fill(~mask, float("-inf"))
    return torch.matmul(torch.softmax(scores, dim=-1), v)


@checked
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
    same_dtype("layer_norm", "x", x, "weight", weight)
    return F.layer_norm(x, (x.shape[-1],), weight, bias, eps)

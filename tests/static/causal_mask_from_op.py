"""The same mask built in place: causal_mask's result is square, so it cannot fit (s, t)."""

import torch
from jaxtyping import Float
from torch import Tensor

import shapesafe as ss


def masked(scores: Float[Tensor, "b s t"]) -> Float[Tensor, "b s t"]:
    mask = ss.causal_mask(scores.shape[1])
    return ss.apply_mask(scores, mask)  # expect: shape


masked(torch.randn(2, 3, 5))

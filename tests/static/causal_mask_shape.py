"""A causal mask is (s, s); scores between s queries and t keys are (s, t)."""

import torch
from jaxtyping import Bool, Float
from torch import Tensor

import shapesafe as ss


def masked(scores: Float[Tensor, "b s t"], mask: Bool[Tensor, "s s"]) -> Float[Tensor, "b s t"]:
    return ss.apply_mask(scores, mask)  # expect: shape


masked(torch.randn(2, 3, 5), ss.causal_mask(3))

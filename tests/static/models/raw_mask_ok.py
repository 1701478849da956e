"""Raw torch, fixed: the mask is (s, t), built from both lengths."""

import torch
from jaxtyping import Bool, Float
from torch import Tensor


def masked(scores: Float[Tensor, "b s t"], mask: Bool[Tensor, "s t"]) -> Float[Tensor, "b s t"]:
    return scores.masked_fill(~mask, float("-inf"))


def causal(scores: Float[Tensor, "b s s"]) -> Float[Tensor, "b s s"]:
    n = scores.size(-1)
    mask = torch.tril(torch.ones(n, n, dtype=torch.bool))
    return scores.masked_fill(mask == 0, float("-inf"))


masked(torch.randn(2, 3, 5), torch.ones(3, 5, dtype=torch.bool))
causal(torch.randn(2, 3, 3))

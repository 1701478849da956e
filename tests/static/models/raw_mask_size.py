"""Raw torch: a causal mask built for the queries' length, applied to (s, t) scores.
# runtime: RuntimeError
"""

import torch
from jaxtyping import Bool, Float
from torch import Tensor


def masked(scores: Float[Tensor, "b s t"], mask: Bool[Tensor, "s s"]) -> Tensor:
    return scores.masked_fill(~mask, float("-inf"))  # expect: shape


def masked_built(scores: Float[Tensor, "b s t"], q: Float[Tensor, "b s d"]) -> Tensor:
    n = q.shape[1]
    mask = torch.tril(torch.ones(n, n, dtype=torch.bool))
    return scores.masked_fill(~mask, float("-inf"))  # expect: shape


masked(torch.randn(2, 3, 5), torch.ones(3, 3, dtype=torch.bool))

"""Raw torch: attention scores need q @ k.transpose(-2, -1); k itself pairs the wrong dims.
# runtime: RuntimeError
"""

import math

import torch
from jaxtyping import Float
from torch import Tensor


def scores(q: Float[Tensor, "b h s d"], k: Float[Tensor, "b h t d"]) -> Tensor:
    return torch.matmul(q, k) / math.sqrt(q.size(-1))  # expect: shape


def scores_bmm(q: Float[Tensor, "b s d"], k: Float[Tensor, "b t d"]) -> Tensor:
    return torch.bmm(q, k)  # expect: shape


scores(torch.randn(2, 2, 3, 8), torch.randn(2, 2, 5, 8))

"""Raw torch: heads split with view, then moved in front of the sequence axis, as the local
annotation says."""

import torch
from jaxtyping import Float
from torch import Tensor


def scores(x: Float[Tensor, "batch seq d_model"], n_heads: int) -> Tensor:
    b, s, d = x.shape
    q = x.view(b, s, n_heads, d // n_heads).transpose(1, 2)
    att: Float[Tensor, "batch heads seq seq"] = q @ q.transpose(-2, -1)
    return att


out = scores(torch.randn(2, 3, 8), 2)
assert out.shape == (2, 2, 3, 3)

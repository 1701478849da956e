"""shapesafe ops: ss.split_heads returns (batch, heads, seq, head_dim), as the local
annotation says."""

import torch
from jaxtyping import Float
from torch import Tensor

import shapesafe as ss


def heads(x: Float[Tensor, "batch seq d_model"], n_heads: int) -> Tensor:
    qh: Float[Tensor, "batch heads seq head_dim"] = ss.split_heads(x, n_heads)
    return ss.attention(qh, qh, qh, causal=True)


out = heads(torch.randn(2, 3, 8), 2)
assert out.shape == (2, 2, 3, 4)

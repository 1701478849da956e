"""shapesafe ops: the local annotation puts the sequence axis before the heads, but
ss.split_heads returns (batch, heads, seq, head_dim). Nothing fails at run time: the
reader of the annotation is misled.
# runtime: silent
"""

import torch
from jaxtyping import Float
from torch import Tensor

import shapesafe as ss


def heads(x: Float[Tensor, "batch seq d_model"], n_heads: int) -> Tensor:
    qh: Float[Tensor, "batch seq heads head_dim"] = ss.split_heads(x, n_heads)  # expect: shape
    return ss.attention(qh, qh, qh, causal=True)


out = heads(torch.randn(2, 3, 8), 2)
assert out.shape == (2, 2, 3, 4)  # heads come second, not seq

"""Raw torch: heads split with view but left behind the sequence axis, so the product pairs
the query and key positions as batch axes.
# runtime: RuntimeError
"""

import torch
from jaxtyping import Float
from torch import Tensor


def head_scores(q: Float[Tensor, "b s d"], k: Float[Tensor, "b t d"], n_heads: int) -> Tensor:
    b, s, d = q.shape
    t = k.shape[1]
    qh = q.view(b, s, n_heads, d // n_heads)
    kh = k.view(b, t, n_heads, d // n_heads)
    return qh @ kh.transpose(-2, -1)  # expect: shape


def split_scores(
    q: Float[Tensor, "b s h e"], k: Float[Tensor, "b s h e"]
) -> Float[Tensor, "b h s s"]:
    return q @ k.transpose(-2, -1)  # expect: shape


head_scores(torch.randn(2, 3, 8), torch.randn(2, 5, 8), 2)

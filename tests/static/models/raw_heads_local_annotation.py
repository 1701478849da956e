"""Raw torch: heads split with view but never transposed, while the local annotation says the
scores are (batch, heads, seq, seq). torch pairs the heads with each other, without an error.
# runtime: silent
"""

import torch
from jaxtyping import Float
from torch import Tensor


def scores(x: Float[Tensor, "batch seq d_model"], n_heads: int) -> Tensor:
    b, s, d = x.shape
    q = x.view(b, s, n_heads, d // n_heads)
    att: Float[Tensor, "batch heads seq seq"] = q @ q.transpose(-2, -1)  # expect: shape
    return att


out = scores(torch.randn(2, 3, 8), 2)
assert out.shape == (2, 3, 2, 2)  # heads by heads, where seq by seq was meant

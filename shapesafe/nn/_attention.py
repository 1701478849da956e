"""Multi-head causal self-attention from `split_heads`, `attention` and `merge_heads`."""

import torch
from jaxtyping import Float
from torch import Tensor, nn

from .._attention import attention
from .._checked import checked
from .._masks import check_size
from .._reshape import merge_heads, split_heads
from ._linear import Linear


class CausalSelfAttention(nn.Module):
    """Multi-head self-attention where each position attends only to itself and earlier ones.

    **Arguments:**

    - `embed_dim`: size of the embedding axis.
    - `num_heads`: how many heads; must divide `embed_dim`.
    - `bias`: whether the four projections learn a bias.
    - `device`, `dtype`: where and how to create the parameters.

    The projections are `q_proj`, `k_proj`, `v_proj` and `out_proj`, each a `Linear`
    with weight `(embed_dim, embed_dim)`.
    """

    embed_dim: int
    num_heads: int
    head_dim: int

    def __init__(
        self,
        embed_dim: int,
        num_heads: int,
        bias: bool = True,
        device: torch.device | str | None = None,
        dtype: torch.dtype | None = None,
    ) -> None:
        super().__init__()
        self.embed_dim = check_size("CausalSelfAttention", "embed_dim", embed_dim, minimum=1)
        self.num_heads = check_size("CausalSelfAttention", "num_heads", num_heads, minimum=1)
        if embed_dim % num_heads != 0:
            fits = [h for h in range(1, embed_dim + 1) if embed_dim % h == 0][:12]
            raise ValueError(
                f"CausalSelfAttention(): num_heads={num_heads} must divide "
                f"embed_dim={embed_dim}; try one of {fits}"
            )
        self.head_dim = embed_dim // num_heads
        self.q_proj = Linear(embed_dim, embed_dim, bias, device, dtype)
        self.k_proj = Linear(embed_dim, embed_dim, bias, device, dtype)
        self.v_proj = Linear(embed_dim, embed_dim, bias, device, dtype)
        self.out_proj = Linear(embed_dim, embed_dim, bias, device, dtype)

    @checked
    def forward(
        self, x: Float[Tensor, "batch seq embed={self.embed_dim}"]
    ) -> Float[Tensor, "batch seq embed={self.embed_dim}"]:
        """`(batch, seq, embed)` to `(batch, seq, embed)`."""
        q = split_heads(self.q_proj(x), self.num_heads)  # (batch, heads, seq, head_dim)
        k = split_heads(self.k_proj(x), self.num_heads)
        v = split_heads(self.v_proj(x), self.num_heads)
        mixed = attention(q, k, v, causal=True)  # (batch, heads, seq, head_dim)
        out: Tensor = self.out_proj(merge_heads(mixed))
        return out

    def extra_repr(self) -> str:
        return f"embed_dim={self.embed_dim}, num_heads={self.num_heads}"

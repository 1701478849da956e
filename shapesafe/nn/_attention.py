"""Multi-head causal self-attention from `split_heads` or `split_qkv`, `attention` and
`merge_heads`."""

__tracebackhide__ = True  # pytest leaves this module's frames out of a failure's report

import torch
from jaxtyping import Float
from torch import Tensor, nn

from .._checked import checked
from .._masks import check_size
from . import _fastpath
from . import _inner as inner
from ._linear import Linear


def dropout(module: nn.Dropout, x: Tensor) -> Tensor:
    """`module(x)`, skipped where it is the identity (evaluation, or p = 0), which saves
    a copy of `x` per call in training."""
    if module.training and module.p > 0:
        out: Tensor = module(x)
        return out
    return x


def _some_divisors(n: int, limit: int = 64) -> list[int]:
    """Divisors of `n` up to `limit`, and `n` itself: a hint's worth, in time bounded by `limit`."""
    small = [h for h in range(1, min(n, limit) + 1) if n % h == 0]
    return small if n <= limit else [*small, n]


class CausalSelfAttention(nn.Module):
    """Multi-head self-attention where each position attends only to itself and earlier ones.

    **Arguments:**

    - `embed_dim`: size of the embedding axis.
    - `num_heads`: how many heads; must divide `embed_dim`.
    - `bias`: whether the projections learn a bias.
    - `device`, `dtype`: where and how to create the parameters.
    - `fused`: GPT-2's layout, so GPT-2 and nanoGPT state dicts load: one `c_attn`
      `Linear(embed_dim, 3 * embed_dim)` that computes q, k and v side by side, and `c_proj`.
      Otherwise four `Linear(embed_dim, embed_dim)`: `q_proj`, `k_proj`, `v_proj`, `out_proj`.
    - `dropout`: dropout probability on the attention weights and on the output, in training.
    """

    embed_dim: int
    num_heads: int
    head_dim: int
    fused: bool
    dropout: float

    def __init__(
        self,
        embed_dim: int,
        num_heads: int,
        bias: bool = True,
        device: torch.device | str | None = None,
        dtype: torch.dtype | None = None,
        fused: bool = False,
        dropout: float = 0.0,
    ) -> None:
        super().__init__()
        self.embed_dim = check_size("CausalSelfAttention", "embed_dim", embed_dim, minimum=1)
        self.num_heads = check_size("CausalSelfAttention", "num_heads", num_heads, minimum=1)
        if embed_dim % num_heads != 0:
            raise ValueError(
                f"CausalSelfAttention(): num_heads={num_heads} must divide "
                f"embed_dim={embed_dim}; try one of {_some_divisors(embed_dim)[:12]}"
            )
        self.head_dim = embed_dim // num_heads
        self.fused = fused
        self.dropout = dropout
        if fused:
            self.c_attn = Linear(embed_dim, 3 * embed_dim, bias, device, dtype)
            self.c_proj = Linear(embed_dim, embed_dim, bias, device, dtype)
        else:
            self.q_proj = Linear(embed_dim, embed_dim, bias, device, dtype)
            self.k_proj = Linear(embed_dim, embed_dim, bias, device, dtype)
            self.v_proj = Linear(embed_dim, embed_dim, bias, device, dtype)
            self.out_proj = Linear(embed_dim, embed_dim, bias, device, dtype)
        self.resid_dropout = nn.Dropout(dropout)

    @checked
    def forward(
        self, x: Float[Tensor, "batch seq embed={self.embed_dim}"]
    ) -> Float[Tensor, "batch seq embed={self.embed_dim}"]:
        """`(batch, seq, embed)` to `(batch, seq, embed)`."""
        return inner.run(self, x, self._attend)

    def _attend(self, x: Tensor, o: inner.Ops) -> Tensor:
        """The body of `forward`, with the ops `o` (see `_inner`)."""
        if self.fused:
            # (batch, heads, seq, head_dim) each
            q, k, v = o.split_qkv(o.call(self.c_attn, x), self.num_heads)
            out_proj = self.c_proj
        else:
            q = o.split_heads(o.call(self.q_proj, x), self.num_heads)
            k = o.split_heads(o.call(self.k_proj, x), self.num_heads)
            v = o.split_heads(o.call(self.v_proj, x), self.num_heads)
            out_proj = self.out_proj
        p = self.dropout if self.training else 0.0
        mixed = o.attention(q, k, v, causal=True, dropout_p=p)  # (batch, heads, seq, head_dim)
        return dropout(self.resid_dropout, o.call(out_proj, o.merge_heads(mixed)))

    def extra_repr(self) -> str:
        fused = ", fused=True" if self.fused else ""
        return f"embed_dim={self.embed_dim}, num_heads={self.num_heads}{fused}"


_fastpath.same_shape(CausalSelfAttention, "embed_dim", rank=3)

"""The feed-forward `MLP` and the pre-norm transformer `Block`."""

__tracebackhide__ = True  # pytest leaves this module's frames out of a failure's report

import torch
import torch.nn.functional as F
from jaxtyping import Float
from torch import Tensor, nn

from .._checked import checked
from .._errors import ShapeError
from .._masks import check_size
from . import _fastpath
from . import _inner as inner
from ._attention import CausalSelfAttention
from ._linear import Linear, blame_input
from ._norm import LayerNorm


class MLP(nn.Module):
    """Position-wise feed-forward: `Linear(embed, hidden)`, GELU, `Linear(hidden, embed)`.

    **Arguments:**

    - `embed_dim`: size of the embedding axis.
    - `hidden_dim`: size of the hidden axis; `4 * embed_dim` when None.
    - `bias`: whether the two layers learn a bias.
    - `device`, `dtype`: where and how to create the parameters.
    """

    embed_dim: int
    hidden_dim: int

    def __init__(
        self,
        embed_dim: int,
        hidden_dim: int | None = None,
        bias: bool = True,
        device: torch.device | str | None = None,
        dtype: torch.dtype | None = None,
    ) -> None:
        super().__init__()
        self.embed_dim = check_size("MLP", "embed_dim", embed_dim, minimum=1)
        hidden = 4 * embed_dim if hidden_dim is None else hidden_dim
        self.hidden_dim = check_size("MLP", "hidden_dim", hidden, minimum=1)
        self.up = Linear(embed_dim, hidden, bias, device, dtype)
        self.down = Linear(hidden, embed_dim, bias, device, dtype)

    @checked
    def forward(
        self, x: Float[Tensor, "*batch embed={self.embed_dim}"]
    ) -> Float[Tensor, "*batch embed={self.embed_dim}"]:
        """`(*batch, embed)` to `(*batch, embed)`, through `(*batch, hidden)`."""
        try:
            call = inner.ops().call
            out: Tensor = call(self.down, F.gelu(call(self.up, x)))
        except (ShapeError, RuntimeError) as e:
            raise blame_input(self, x, e) from None
        return out

    def extra_repr(self) -> str:
        return f"embed_dim={self.embed_dim}, hidden_dim={self.hidden_dim}"


class Block(nn.Module):
    """A pre-norm transformer block: `x + attn(ln1(x))`, then `x + mlp(ln2(x))`.

    **Arguments:**

    - `embed_dim`: size of the embedding axis.
    - `num_heads`: attention heads; must divide `embed_dim`.
    - `hidden_dim`: the MLP's hidden size; `4 * embed_dim` when None.
    - `bias`: whether the linear layers and layer norms learn a bias.
    - `device`, `dtype`: where and how to create the parameters.
    """

    embed_dim: int

    def __init__(
        self,
        embed_dim: int,
        num_heads: int,
        hidden_dim: int | None = None,
        bias: bool = True,
        device: torch.device | str | None = None,
        dtype: torch.dtype | None = None,
    ) -> None:
        super().__init__()
        self.embed_dim = check_size("Block", "embed_dim", embed_dim, minimum=1)
        self.ln1 = LayerNorm(embed_dim, bias=bias, device=device, dtype=dtype)
        self.attn = CausalSelfAttention(embed_dim, num_heads, bias, device, dtype)
        self.ln2 = LayerNorm(embed_dim, bias=bias, device=device, dtype=dtype)
        self.mlp = MLP(embed_dim, hidden_dim, bias, device, dtype)

    @checked
    def forward(
        self, x: Float[Tensor, "batch seq embed={self.embed_dim}"]
    ) -> Float[Tensor, "batch seq embed={self.embed_dim}"]:
        """`(batch, seq, embed)` to `(batch, seq, embed)`."""
        return inner.run(self, x, self._run)

    def _run(self, x: Tensor, o: inner.Ops) -> Tensor:
        """The body of `forward`, with the ops `o` (see `_inner`)."""
        h = o.add(x, o.call(self.attn, o.call(self.ln1, x)))
        return o.add(h, o.call(self.mlp, o.call(self.ln2, h)))


_fastpath.same_shape(MLP, "embed_dim")
_fastpath.same_shape(Block, "embed_dim", rank=3)

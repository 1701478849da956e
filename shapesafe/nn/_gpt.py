"""`GPT`: a small decoder-only language model in GPT-2's layout, from shapesafe's modules.

The module names follow GPT-2 as nanoGPT writes it (`transformer.wte`, `transformer.h.0.attn.
c_attn`, `lm_head`, ...), so a state dict saved from such a model of the same config loads.
"""

__tracebackhide__ = True  # pytest leaves this module's frames out of a failure's report

import dataclasses
from typing import cast

import torch
import torch.nn.functional as F
from jaxtyping import Float, Int
from torch import Tensor, nn

from .._checked import checked, raise_error
from .._errors import ShapeError
from .._masks import check_size
from . import _fastpath
from . import _inner as inner
from ._attention import CausalSelfAttention, dropout
from ._embedding import Embedding
from ._linear import Linear, blame_input
from ._norm import LayerNorm


@dataclasses.dataclass(frozen=True)
class GPTConfig:
    """The sizes of a `GPT`.

    - `vocab_size`: how many token ids.
    - `block_size`: the longest sequence (the number of learned positions).
    - `embed_dim`, `num_heads`, `num_layers`: width, heads per layer and depth.
    - `dropout`: dropout probability in training (embeddings, attention, residuals).
    - `bias`: whether the linear layers and layer norms learn a bias (GPT-2: yes).
    - `tied`: the output head shares the token embedding's weight (GPT-2: yes).
    """

    vocab_size: int
    block_size: int = 64
    embed_dim: int = 64
    num_heads: int = 4
    num_layers: int = 2
    dropout: float = 0.0
    bias: bool = True
    tied: bool = True


def _too_long(seq: int, block_size: int) -> ValueError:
    return ValueError(
        f"GPT.forward(): seq={seq} is longer than block_size={block_size}; "
        f"keep the last {block_size} tokens, idx[:, -{block_size}:]"
    )


class GPTMLP(nn.Module):
    """GPT-2's feed-forward: `c_fc` to `4 * embed`, GELU, `c_proj` back, then dropout."""

    embed_dim: int

    def __init__(self, config: GPTConfig) -> None:
        super().__init__()
        self.embed_dim = config.embed_dim
        self.c_fc = Linear(config.embed_dim, 4 * config.embed_dim, config.bias)
        self.c_proj = Linear(4 * config.embed_dim, config.embed_dim, config.bias)
        self.dropout = nn.Dropout(config.dropout)

    @checked
    def forward(
        self, x: Float[Tensor, "*batch embed={self.embed_dim}"]
    ) -> Float[Tensor, "*batch embed={self.embed_dim}"]:
        """`(*batch, embed)` to `(*batch, embed)`."""
        try:
            call = inner.ops().call
            return dropout(self.dropout, call(self.c_proj, F.gelu(call(self.c_fc, x))))
        except (ShapeError, RuntimeError) as e:
            raise blame_input(self, x, e) from None


class GPTBlock(nn.Module):
    """GPT-2's pre-norm block: `x + attn(ln_1(x))`, then `x + mlp(ln_2(x))`."""

    embed_dim: int

    def __init__(self, config: GPTConfig) -> None:
        super().__init__()
        self.embed_dim = config.embed_dim
        self.ln_1 = LayerNorm(config.embed_dim, bias=config.bias)
        self.attn = CausalSelfAttention(
            config.embed_dim, config.num_heads, config.bias, fused=True, dropout=config.dropout
        )
        self.ln_2 = LayerNorm(config.embed_dim, bias=config.bias)
        self.mlp = GPTMLP(config)

    @checked
    def forward(
        self, x: Float[Tensor, "batch seq embed={self.embed_dim}"]
    ) -> Float[Tensor, "batch seq embed={self.embed_dim}"]:
        """`(batch, seq, embed)` to `(batch, seq, embed)`."""
        return inner.run(self, x, self._run)

    def _run(self, x: Tensor, o: inner.Ops) -> Tensor:
        """The body of `forward`, with the ops `o` (see `_inner`)."""
        h = o.add(x, o.call(self.attn, o.call(self.ln_1, x)))
        return o.add(h, o.call(self.mlp, o.call(self.ln_2, h)))


_fastpath.same_shape(GPTMLP, "embed_dim")
_fastpath.same_shape(GPTBlock, "embed_dim", rank=3)


class GPT(nn.Module):
    """Token and position embeddings, `num_layers` blocks, a final LayerNorm and a head.

    **Arguments:**

    - `config`: a `GPTConfig`.

    Weights start as in GPT-2: normal with std 0.02, biases zero, and the residual
    projections (`c_proj`) scaled down by `sqrt(2 * num_layers)`.
    """

    config: GPTConfig
    vocab_size: int
    block_size: int

    def __init__(self, config: GPTConfig) -> None:
        super().__init__()
        check_size("GPT", "vocab_size", config.vocab_size, minimum=1)
        check_size("GPT", "block_size", config.block_size, minimum=1)
        check_size("GPT", "num_layers", config.num_layers, minimum=0)
        self.config = config
        self.vocab_size = config.vocab_size
        self.block_size = config.block_size
        self.transformer = nn.ModuleDict(
            {
                "wte": Embedding(config.vocab_size, config.embed_dim),
                "wpe": Embedding(config.block_size, config.embed_dim),
                "drop": nn.Dropout(config.dropout),
                "h": nn.ModuleList([GPTBlock(config) for _ in range(config.num_layers)]),
                "ln_f": LayerNorm(config.embed_dim, bias=config.bias),
            }
        )
        self.lm_head = Linear(config.embed_dim, config.vocab_size, bias=False)
        if config.tied:
            # Both are (vocab, embed): one row per token, read in by wte and out by lm_head.
            self.transformer["wte"].weight = self.lm_head.weight
        self.apply(self._init_weights)
        residual_std = 0.02 / (2 * max(1, config.num_layers)) ** 0.5
        with torch.no_grad():
            for name, p in self.named_parameters():
                if name.endswith("c_proj.weight"):
                    p.normal_(0.0, residual_std)

    @staticmethod
    def _init_weights(module: nn.Module) -> None:
        if isinstance(module, (nn.Linear, nn.Embedding)):
            with torch.no_grad():
                module.weight.normal_(0.0, 0.02)
                bias = getattr(module, "bias", None)
                if isinstance(bias, Tensor):
                    bias.zero_()

    @checked
    def forward(
        self, idx: Int[Tensor, "batch seq"]
    ) -> Float[Tensor, "batch seq vocab={self.vocab_size}"]:
        """Token ids `(batch, seq)` to next-token logits `(batch, seq, vocab)`."""
        seq = idx.shape[1]
        if seq > self.block_size:
            raise_error(_too_long, seq, self.block_size)
        return inner.run(self, idx, self._run, "idx")

    def _run(self, idx: Tensor, o: inner.Ops) -> Tensor:
        """The body of `forward`, with the ops `o` (see `_inner`)."""
        batch, seq = idx.shape
        t = self.transformer
        positions = o.call(t["wpe"], torch.arange(seq, device=idx.device))  # (seq, embed)
        tokens = o.call(t["wte"], idx)  # (batch, seq, embed)
        x = dropout(cast(nn.Dropout, t["drop"]), o.add(tokens, positions.expand(batch, seq, -1)))
        for block in cast(nn.ModuleList, t["h"]):
            x = o.call(block, x)
        logits: Tensor = o.call(self.lm_head, o.call(t["ln_f"], x))
        return logits

    @torch.no_grad()
    def generate(
        self,
        idx: Int[Tensor, "batch seq"],
        max_new_tokens: int,
        temperature: float = 1.0,
        top_k: int | None = None,
        generator: torch.Generator | None = None,
    ) -> Int[Tensor, "batch new"]:
        """Extend `idx` by `max_new_tokens` sampled tokens, feeding back the last `block_size`.

        **Returns:**

        `(batch, seq + max_new_tokens)` token ids.
        """
        check_size("GPT.generate", "max_new_tokens", max_new_tokens)
        for _ in range(max_new_tokens):
            logits = self(idx[:, -self.block_size :])[:, -1, :] / temperature  # (batch, vocab)
            if top_k is not None:
                kth = torch.topk(logits, min(top_k, logits.shape[-1])).values[:, -1:]
                logits = logits.masked_fill(logits < kth, float("-inf"))
            probs = torch.softmax(logits, dim=-1)
            nxt = torch.multinomial(probs, 1, generator=generator)  # (batch, 1)
            idx = torch.cat([idx, nxt], dim=1)
        return idx

    def extra_repr(self) -> str:
        c = self.config
        return (
            f"vocab_size={c.vocab_size}, block_size={c.block_size}, embed_dim={c.embed_dim}, "
            f"num_heads={c.num_heads}, num_layers={c.num_layers}"
        )

"""A nanoGPT-style model written with shapesafe ops: parameters built in __init__ from a
config, annotated forwards, blocks in an nn.ModuleList, a weight-tied head."""

import dataclasses

import torch
from jaxtyping import Float, Int
from torch import Tensor, nn

import shapesafe as ss


@dataclasses.dataclass
class GPTConfig:
    vocab_size: int = 11
    block_size: int = 8
    n_layer: int = 2
    n_head: int = 2
    n_embd: int = 8


class MLP(nn.Module):
    def __init__(self, config: GPTConfig) -> None:
        super().__init__()
        self.w_fc = nn.Parameter(torch.randn(4 * config.n_embd, config.n_embd) * 0.02)
        self.b_fc = nn.Parameter(torch.zeros(4 * config.n_embd))
        self.w_proj = nn.Parameter(torch.randn(config.n_embd, 4 * config.n_embd) * 0.02)

    def forward(self, x: Float[Tensor, "b t d"]) -> Float[Tensor, "b t d"]:
        h = torch.relu(ss.linear(x, self.w_fc, self.b_fc))
        return ss.linear(h, self.w_proj)


class Attention(nn.Module):
    def __init__(self, config: GPTConfig) -> None:
        super().__init__()
        self.n_head = config.n_head
        self.c_attn = nn.Linear(config.n_embd, 3 * config.n_embd)
        self.c_proj = nn.Linear(config.n_embd, config.n_embd)

    def forward(self, x: Float[Tensor, "b t d"]) -> Float[Tensor, "b t d"]:
        q, k, v = self.c_attn(x).split(x.size(-1), dim=2)
        q = ss.split_heads(q, self.n_head)
        k = ss.split_heads(k, self.n_head)
        v = ss.split_heads(v, self.n_head)
        scores = ss.attention_scores(q, k) / (q.size(-1) ** 0.5)
        mask = ss.causal_mask(x.size(1))
        att = ss.softmax(ss.apply_mask(scores, mask))
        y = ss.merge_heads(ss.matmul(att, v))
        return self.c_proj(y)


class Block(nn.Module):
    def __init__(self, config: GPTConfig) -> None:
        super().__init__()
        self.ln_1 = nn.LayerNorm(config.n_embd)
        self.attn = Attention(config)
        self.ln_2 = nn.LayerNorm(config.n_embd)
        self.mlp = MLP(config)

    def forward(self, x: Float[Tensor, "b t d"]) -> Float[Tensor, "b t d"]:
        x = x + self.attn(self.ln_1(x))
        return x + self.mlp(self.ln_2(x))


class GPT(nn.Module):
    def __init__(self, config: GPTConfig) -> None:
        super().__init__()
        self.transformer = nn.ModuleDict(
            dict(
                wte=nn.Embedding(config.vocab_size, config.n_embd),
                wpe=nn.Embedding(config.block_size, config.n_embd),
                h=nn.ModuleList([Block(config) for _ in range(config.n_layer)]),
                ln_f=nn.LayerNorm(config.n_embd),
            )
        )

    def forward(self, idx: Int[Tensor, "b t"]) -> Float[Tensor, "b t v"]:
        t = idx.size(1)
        pos = torch.arange(0, t, dtype=torch.long)
        x = self.transformer.wte(idx) + self.transformer.wpe(pos)
        for block in self.transformer.h:
            x = block(x)
        x = self.transformer.ln_f(x)
        return ss.linear(x, self.transformer.wte.weight)


GPT(GPTConfig())(torch.randint(0, 11, (2, 5)))

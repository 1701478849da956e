"""Modules used correctly: annotated attributes, layers built in __init__, methods and
submodules that reach annotated forwards, rebinding through ops whose shape is known."""

import torch
import torch.nn.functional as F
from jaxtyping import Float, Int
from torch import Tensor, nn


class Config:
    n_embd = 4
    n_head = 2
    vocab_size = 10
    block_size = 8


class Unembed(nn.Module):
    def __init__(self, d_model: int, d_vocab: int) -> None:
        super().__init__()
        self.W_U: Float[Tensor, "d_model d_vocab"] = nn.Parameter(torch.randn(d_model, d_vocab))
        self.b_U: Float[Tensor, " d_vocab"] = nn.Parameter(torch.zeros(d_vocab))

    def forward(self, x: Float[Tensor, "b s d_model"]) -> Float[Tensor, "b s d_vocab"]:
        x = x.to(torch.float32)
        return x @ self.W_U + self.b_U


class Attention(nn.Module):
    def __init__(self, config: Config) -> None:
        super().__init__()
        self.n_head = config.n_head
        self.n_embd = config.n_embd
        self.c_attn = nn.Linear(config.n_embd, 3 * config.n_embd)
        self.c_proj = nn.Linear(config.n_embd, config.n_embd)
        n = config.block_size
        self.register_buffer("bias", torch.tril(torch.ones(n, n)).view(1, 1, n, n))

    def scores(
        self, q: Float[Tensor, "b h s e"], k: Float[Tensor, "b h t e"]
    ) -> Float[Tensor, "b h s t"]:
        return q @ k.transpose(-2, -1) * (1.0 / q.size(-1) ** 0.5)

    def forward(self, x: Tensor) -> Tensor:
        B, T, C = x.size()
        q, k, v = self.c_attn(x).split(self.n_embd, dim=2)
        q = q.view(B, T, self.n_head, C // self.n_head).transpose(1, 2)
        k = k.view(B, T, self.n_head, C // self.n_head).transpose(1, 2)
        v = v.view(B, T, self.n_head, C // self.n_head).transpose(1, 2)
        att = self.scores(q, k)
        att = att.masked_fill(self.bias[:, :, :T, :T] == 0, float("-inf"))
        att = F.softmax(att, dim=-1)
        y = att @ v
        y = y.transpose(1, 2).contiguous().view(B, T, C)
        return self.c_proj(y)


class Model(nn.Module):
    def __init__(self, config: Config) -> None:
        super().__init__()
        self.wte = nn.Embedding(config.vocab_size, config.n_embd)
        self.attn = Attention(config)
        self.ln_f = nn.LayerNorm(config.n_embd)
        self.unembed = Unembed(config.n_embd, config.vocab_size)

    def forward(self, idx: Int[Tensor, "b s"]) -> Float[Tensor, "b s v"]:
        x = self.wte(idx)
        x = x + self.attn(x)
        x = self.ln_f(x)
        return self.unembed(x)


Model(Config())(torch.randint(0, 10, (2, 3)))

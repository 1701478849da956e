"""nn.Linear layers built in __init__ with their sizes swapped: the second layer takes the
model width, but it is fed the hidden width.
# runtime: RuntimeError
"""

import torch
import torch.nn.functional as F
from torch import Tensor, nn


class MLP(nn.Module):
    def __init__(self, d_model: int, d_hidden: int) -> None:
        super().__init__()
        self.up = nn.Linear(d_model, d_hidden)
        self.down = nn.Linear(d_model, d_hidden)

    def forward(self, x: Tensor) -> Tensor:
        h = F.gelu(self.up(x))
        return self.down(h)  # expect: shape


class Config:
    n_embd = 4
    vocab_size = 10


class Head(nn.Module):
    def __init__(self, config: Config) -> None:
        super().__init__()
        self.ln_f = nn.LayerNorm(config.n_embd)
        self.lm_head = nn.Linear(config.n_embd, config.vocab_size, bias=False)

    def forward(self, x: Tensor) -> Tensor:
        logits = self.lm_head(x)
        return self.ln_f(logits)  # expect: shape


MLP(4, 8)(torch.randn(2, 3, 4))

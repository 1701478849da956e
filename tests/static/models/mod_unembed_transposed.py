"""A module whose weight is declared as an annotated attribute, used transposed by mistake.
# runtime: RuntimeError
"""

import torch
from jaxtyping import Float
from torch import Tensor, nn


class Unembed(nn.Module):
    def __init__(self, d_model: int, d_vocab: int) -> None:
        super().__init__()
        self.W_U: Float[Tensor, "d_model d_vocab"] = nn.Parameter(torch.randn(d_model, d_vocab))
        self.b_U: Float[Tensor, " d_vocab"] = nn.Parameter(torch.zeros(d_vocab))

    def forward(self, x: Float[Tensor, "b s d_model"]) -> Float[Tensor, "b s d_vocab"]:
        return x @ self.W_U.T + self.b_U  # expect: shape


Unembed(4, 10)(torch.randn(2, 3, 4))

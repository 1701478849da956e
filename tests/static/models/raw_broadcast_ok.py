"""Raw torch, fixed: squeeze the column first; broadcast a bias along the axis it names."""

import torch
from jaxtyping import Float
from torch import Tensor


def mse(pred: Float[Tensor, "b 1"], target: Float[Tensor, " b"]) -> Tensor:
    return ((pred.squeeze(-1) - target) ** 2).mean()


def scaled(x: Float[Tensor, "b d"], w: Float[Tensor, " d"], col: Float[Tensor, "b 1"]) -> Tensor:
    return x * w + col


def pairwise(x: Float[Tensor, " n"]) -> Float[Tensor, "n n"]:
    return x[:, None] - x[None, :]


mse(torch.randn(4, 1), torch.randn(4))
scaled(torch.randn(4, 3), torch.randn(3), torch.randn(4, 1))
pairwise(torch.randn(5))

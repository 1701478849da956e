"""Raw torch, fixed: reductions over the last axis, with keepdim where they broadcast back."""

import torch
from jaxtyping import Float
from torch import Tensor

import shapesafe as ss


@ss.checked
def row_means(x: Float[Tensor, "b s d"]) -> Float[Tensor, "b s 1"]:
    return x.mean(dim=-1, keepdim=True)


def centered(x: Float[Tensor, "b s d"]) -> Float[Tensor, "b s d"]:
    mu = x.mean(dim=-1, keepdim=True)
    var = ((x - mu) ** 2).mean(-1, keepdim=True)
    return (x - mu) / torch.sqrt(var + 1e-5)


def pooled(x: Float[Tensor, "b s d"]) -> Float[Tensor, "b d"]:
    return x.sum(dim=1) / x.shape[1]


row_means(torch.randn(2, 3, 4))
centered(torch.randn(2, 3, 4))
pooled(torch.randn(2, 3, 4))

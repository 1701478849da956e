"""Raw torch: a mean over the wrong axis; keepdim keeps the rank, so only the shape tells."""

import torch
from jaxtyping import Float
from torch import Tensor

import shapesafe as ss


@ss.checked
def row_means(x: Float[Tensor, "b s d"]) -> Float[Tensor, "b s 1"]:
    return x.mean(dim=1, keepdim=True)  # expect: shape


def centered(x: Float[Tensor, "b s d"]) -> Float[Tensor, "b s d"]:
    return x - x.mean(dim=-1)  # expect: shape


row_means(torch.randn(2, 3, 4))

"""Attention scores are q @ k.T: multiplying q by k itself pairs the wrong dims."""

import torch
from jaxtyping import Float
from torch import Tensor

import shapesafe as ss


def scores(q: Float[Tensor, "b s d"], k: Float[Tensor, "b t d"]) -> Float[Tensor, "b s t"]:
    return ss.matmul(q, k)  # expect: shape


scores(torch.randn(2, 3, 8), torch.randn(2, 5, 8))

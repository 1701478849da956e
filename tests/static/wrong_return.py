"""A function that promises one shape and returns another."""

import torch
from jaxtyping import Float
from torch import Tensor

import shapesafe as ss


@ss.checked
def mixer(x: Float[Tensor, "b s d"], w: Float[Tensor, "e d"]) -> Float[Tensor, "b s d"]:
    return ss.linear(x, w)  # expect: shape


@ss.checked
def heads(x: Float[Tensor, "b s e"]) -> Float[Tensor, "b s e"]:
    h = ss.split_heads(x, 2)
    return h  # expect: shape


mixer(torch.randn(2, 3, 4), torch.randn(5, 4))

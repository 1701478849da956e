"""`*batch` dims must agree: one side has a heads axis that the other lacks."""

import torch
from jaxtyping import Float
from torch import Tensor

import shapesafe as ss


def mix(a: Float[Tensor, "b h m n"], b: Float[Tensor, "b n p"]) -> Float[Tensor, "b h m p"]:
    return ss.matmul(a, b)  # expect: shape


def residual(
    x: Float[Tensor, "*batch s d"], y: Float[Tensor, "*batch t d"]
) -> Float[Tensor, "*batch s d"]:
    return ss.add(x, y)  # expect: shape


mix(torch.randn(2, 4, 3, 5), torch.randn(2, 5, 6))

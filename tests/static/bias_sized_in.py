"""A bias must be sized by the layer's outputs, not its inputs."""

import torch
from jaxtyping import Float
from torch import Tensor

import shapesafe as ss


def dense(
    x: Float[Tensor, "b d_in"],
    weight: Float[Tensor, "d_out d_in"],
    bias: Float[Tensor, " d_in"],
) -> Float[Tensor, "b d_out"]:
    return ss.linear(x, weight, bias)  # expect: shape


dense(torch.randn(2, 4), torch.randn(6, 4), torch.randn(4))

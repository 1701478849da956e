"""The fixed version: the weight keeps nn.Linear's (out, in) layout, the bias is (out,)."""

import torch
from jaxtyping import Float
from torch import Tensor

import shapesafe as ss


def project(
    x: Float[Tensor, "b s d_in"],
    weight: Float[Tensor, "d_out d_in"],
    bias: Float[Tensor, " d_out"] | None = None,
) -> Float[Tensor, "b s d_out"]:
    return ss.linear(x, weight, bias)


def two_layers(
    x: Float[Tensor, "b s d"], w1: Float[Tensor, "h d"], w2: Float[Tensor, "d h"]
) -> Float[Tensor, "b s d"]:
    hidden = project(x, w1)
    out: Float[Tensor, "b s d"] = project(hidden, w2, None)
    return out


layer = torch.nn.Linear(4, 6)
project(torch.randn(2, 3, 4), layer.weight.detach(), layer.bias.detach())
two_layers(torch.randn(2, 3, 4), torch.randn(8, 4), torch.randn(4, 8))

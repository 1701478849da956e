"""An nn.Linear weight is stored (out, in); passing its transpose is a classic bug."""

import torch
from jaxtyping import Float
from torch import Tensor

import shapesafe as ss


def project(
    x: Float[Tensor, "b s d_in"], w_t: Float[Tensor, "d_in d_out"]
) -> Float[Tensor, "b s d_out"]:
    return ss.linear(x, w_t)  # expect: shape


layer = torch.nn.Linear(4, 6)
project(torch.randn(2, 3, 4), layer.weight.detach().T)

"""Raw torch, fixed: F.linear with an (out, in) weight and an (out,) bias."""

import torch
import torch.nn.functional as F
from jaxtyping import Float
from torch import Tensor


def project(
    x: Float[Tensor, "b s d_in"], w: Float[Tensor, "d_out d_in"], bias: Float[Tensor, " d_out"]
) -> Float[Tensor, "b s d_out"]:
    y = F.linear(x, w, bias)
    return torch.relu(y)


def project_t(x: Float[Tensor, "b s d_in"], w: Float[Tensor, "d_in d_out"]) -> Tensor:
    return F.linear(x, w.T)


project(torch.randn(2, 3, 4), torch.randn(6, 4), torch.randn(6))
project_t(torch.randn(2, 3, 4), torch.randn(4, 6))

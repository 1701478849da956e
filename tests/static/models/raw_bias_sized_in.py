"""Raw torch: the bias is sized for the layer's input instead of its output.
# runtime: RuntimeError
"""

import torch
import torch.nn.functional as F
from jaxtyping import Float
from torch import Tensor


def dense(
    x: Float[Tensor, "b d_in"], w: Float[Tensor, "d_out d_in"], bias: Float[Tensor, " d_in"]
) -> Tensor:
    return F.linear(x, w, bias)  # expect: shape


def dense_add(
    x: Float[Tensor, "b d_in"], w: Float[Tensor, "d_out d_in"], bias: Float[Tensor, " d_in"]
) -> Tensor:
    return x @ w.T + bias  # expect: shape


dense(torch.randn(2, 4), torch.randn(6, 4), torch.randn(4))

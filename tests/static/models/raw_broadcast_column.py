"""Raw torch: predictions (b, 1) minus targets (b,) broadcast to (b, b) without an error.
# runtime: silent
"""

import torch
from jaxtyping import Float
from torch import Tensor


def mse(pred: Float[Tensor, "b 1"], target: Float[Tensor, " b"]) -> Tensor:
    return ((pred - target) ** 2).mean()  # expect: shape


def weighted(x: Float[Tensor, " b"], w: Float[Tensor, " d"]) -> Tensor:
    return x * w  # expect: shape


diff = torch.randn(4, 1) - torch.randn(4)
assert diff.shape == (4, 4)  # what torch does silently
mse(torch.randn(4, 1), torch.randn(4))

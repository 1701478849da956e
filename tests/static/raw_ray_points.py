"""Points along rays whose distances carry a sample axis the origins do not have.
# runtime: RuntimeError
"""

import torch
from jaxtyping import Float
from torch import Tensor


def point_at(
    origin: Float[Tensor, "*batch 3"],
    direction: Float[Tensor, "*batch 3"],
    t: Float[Tensor, "*batch 2"],
) -> Float[Tensor, "*batch 3"]:
    return origin + direction * t  # expect: shape


point_at(torch.randn(4, 3), torch.randn(4, 3), torch.randn(4, 2))

"""A keep-mask over the batch used with torch.where against (b, d) without an axis for d.
# runtime: RuntimeError
"""

import torch
from jaxtyping import Bool, Float
from torch import Tensor


def zero_dropped(x: Float[Tensor, "b d"], keep: Bool[Tensor, " b"]) -> Float[Tensor, "b d"]:
    return torch.where(keep, x, 0.0)  # expect: shape


zero_dropped(torch.randn(2, 3), torch.ones(2, dtype=torch.bool))

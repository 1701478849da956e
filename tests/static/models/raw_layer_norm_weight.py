"""Raw torch: layer_norm over the embedding axis, with a weight sized by the sequence.
# runtime: RuntimeError
"""

import torch
import torch.nn.functional as F
from jaxtyping import Float
from torch import Tensor


def norm(
    x: Float[Tensor, "batch seq embed"], weight: Float[Tensor, "seq"]
) -> Float[Tensor, "batch seq embed"]:
    return F.layer_norm(x, (x.shape[-1],), weight)  # expect: shape


norm(torch.randn(2, 3, 4), torch.ones(3))

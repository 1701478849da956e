"""Raw torch: cross_entropy wants (N, C) logits; (b, s, v) logits need flattening first.
# runtime: RuntimeError
"""

import torch
import torch.nn.functional as F
from jaxtyping import Float, Int
from torch import Tensor


def lm_loss(logits: Float[Tensor, "b s v"], targets: Int[Tensor, "b s"]) -> Tensor:
    return F.cross_entropy(logits, targets)  # expect: shape


lm_loss(torch.randn(2, 3, 7), torch.randint(0, 7, (2, 3)))

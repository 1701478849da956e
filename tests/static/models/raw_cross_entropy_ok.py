"""Raw torch, fixed: flatten the logits to (b*s, v) and the targets to (b*s,)."""

import torch
import torch.nn.functional as F
from jaxtyping import Float, Int
from torch import Tensor


def lm_loss(logits: Float[Tensor, "b s v"], targets: Int[Tensor, "b s"]) -> Float[Tensor, ""]:
    return F.cross_entropy(logits.view(-1, logits.size(-1)), targets.view(-1))


def lm_loss_channels(logits: Float[Tensor, "b s v"], targets: Int[Tensor, "b s"]) -> Tensor:
    return F.cross_entropy(logits.transpose(1, 2), targets)


lm_loss(torch.randn(2, 3, 7), torch.randint(0, 7, (2, 3)))
lm_loss_channels(torch.randn(2, 3, 7), torch.randint(0, 7, (2, 3)))

"""Raw torch: layer_norm over the embedding axis, with a weight and bias sized by it."""

import torch
import torch.nn.functional as F
from jaxtyping import Float
from torch import Tensor


def norm(
    x: Float[Tensor, "batch seq embed"],
    weight: Float[Tensor, "embed"],
    bias: Float[Tensor, "embed"],
) -> Float[Tensor, "batch seq embed"]:
    return F.layer_norm(x, (x.shape[-1],), weight, bias)


def rms(x: Float[Tensor, "batch seq embed"], weight: Float[Tensor, "embed"]) -> Tensor:
    return F.rms_norm(x, weight.shape, weight)


def groups(x: Float[Tensor, "batch channels h w"], weight: Float[Tensor, "channels"]) -> Tensor:
    return F.group_norm(x, 2, weight, weight)


norm(torch.randn(2, 3, 4), torch.ones(4), torch.zeros(4))
rms(torch.randn(2, 3, 4), torch.ones(4))
groups(torch.randn(2, 4, 3, 3), torch.ones(4))

"""Correct twins: a mask with an axis for d, numbers as arguments, runs shared by name."""

import torch
from jaxtyping import Bool, Float
from torch import Tensor


def zero_dropped(x: Float[Tensor, "b d"], keep: Bool[Tensor, " b"]) -> Float[Tensor, "b d"]:
    return torch.where(keep[:, None], x, torch.zeros_like(x))


def unit(v: Float[Tensor, "*batch 3"], eps: float = 1e-8) -> Float[Tensor, "*batch 3"]:
    return v / (torch.linalg.norm(v, dim=-1, keepdim=True) + eps)


def point_at(
    origin: Float[Tensor, "*batch 3"],
    direction: Float[Tensor, "*batch 3"],
    t: Float[Tensor, "*batch 1"],
) -> Float[Tensor, "*batch 3"]:
    return origin + direction * t


def scaled(x: Float[Tensor, "*batch"]) -> Float[Tensor, "*batch"]:
    return x / torch.linalg.norm(x)


zero_dropped(torch.randn(2, 3), torch.ones(2, dtype=torch.bool))
assert unit(torch.randn(4, 5, 3)).shape == (4, 5, 3)
assert point_at(torch.randn(4, 3), torch.randn(4, 3), torch.randn(4, 1)).shape == (4, 3)
assert scaled(torch.randn(2, 2)).shape == (2, 2)

"""Samples along rays hold their frustums as a typed field; intervals are (starts, ends).
# runtime: RuntimeError
"""

from dataclasses import dataclass

import torch
from jaxtyping import Float
from torch import Tensor


@dataclass
class Frustums:
    origins: Float[Tensor, "*bs 3"]
    directions: Float[Tensor, "*bs 3"]
    starts: Float[Tensor, "*bs 1"]
    ends: Float[Tensor, "*bs 1"]


@dataclass
class RaySamples:
    frustums: Frustums
    deltas: Float[Tensor, "*bs 1"]


def midpoints(samples: RaySamples) -> Float[Tensor, "*bs 3"]:
    f = samples.frustums
    t = (f.starts + f.ends) / 2
    return f.origins + f.directions * t


def first_corner(
    corners: Float[Tensor, "*bs 3 2"], w: Float[Tensor, "*bs 3"]
) -> Float[Tensor, "*bs 3"]:
    return corners[..., 0, :] * w  # expect: shape


n = torch.zeros(4, 1)
samples = RaySamples(Frustums(torch.zeros(4, 3), torch.ones(4, 3), n, n + 1), n)
assert midpoints(samples).shape == (4, 3)
first_corner(torch.zeros(4, 3, 2), torch.ones(4, 3))

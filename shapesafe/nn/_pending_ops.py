"""Stand-ins for ops that belong in the op modules; removed once those land."""

import torch
import torch.nn.functional as F
from jaxtyping import Float
from torch import Tensor

from .._checked import checked_op


@checked_op
def _rms_norm(
    x: Float[Tensor, "*batch n"], weight: Float[Tensor, " n"], eps: float | None = None
) -> Float[Tensor, "*batch n"]:
    return F.rms_norm(x, (x.shape[-1],), weight, eps)


@checked_op
def _silu(x: Float[Tensor, "*shape"]) -> Float[Tensor, "*shape"]:
    return F.silu(x)


@checked_op
def _rotary(
    x: Float[Tensor, "*batch seq d"], cos: Float[Tensor, "seq d"], sin: Float[Tensor, "seq d"]
) -> Float[Tensor, "*batch seq d"]:
    half = x.shape[-1] // 2
    rotated = torch.cat((-x[..., half:], x[..., :half]), dim=-1)
    return x * cos + rotated * sin


@checked_op
def _kv_append(
    cache: Float[Tensor, "batch heads past d"], new: Float[Tensor, "batch heads seq d"]
) -> Float[Tensor, "batch heads past+seq d"]:
    return torch.cat((cache, new), dim=2)

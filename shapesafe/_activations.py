"""Elementwise activations, dropout and RMS norm: the shape-preserving steps of a block.

None of them broadcasts: each returns its input's shape.
"""

import torch
import torch.nn.functional as F
from jaxtyping import Float
from torch import Tensor

from ._checked import checked_op
from ._linalg import kernel_error


@checked_op
def relu(x: Float[Tensor, "*shape"]) -> Float[Tensor, "*shape"]:
    """`max(x, 0)`, entry by entry."""
    return F.relu(x)


@checked_op
def silu(x: Float[Tensor, "*shape"]) -> Float[Tensor, "*shape"]:
    """`x * sigmoid(x)` (also called swish), entry by entry: Llama's MLP activation."""
    return F.silu(x)


_GELU_APPROXIMATIONS = ("none", "tanh")


@checked_op
def gelu(x: Float[Tensor, "*shape"], approximate: str = "none") -> Float[Tensor, "*shape"]:
    """GELU, entry by entry, as `torch.nn.functional.gelu`.

    **Arguments:**

    - `x`: any shape, `(*shape)`.
    - `approximate`: `"none"` for the exact `x * Phi(x)`, `"tanh"` for the tanh
      approximation GPT-2 was trained with (`gelu_new` in Hugging Face transformers).

    **Returns:**

    `(*shape)`.
    """
    if approximate not in _GELU_APPROXIMATIONS:
        raise ValueError(f"gelu(): approximate must be 'none' or 'tanh', got {approximate!r}")
    return F.gelu(x, approximate=approximate)


@checked_op
def dropout(x: Float[Tensor, "*shape"], p: float | int, training: bool) -> Float[Tensor, "*shape"]:
    """Zero each entry with probability `p` and scale the rest by `1 / (1 - p)`, when training.

    `training` has no default: `torch.nn.functional.dropout` defaults it to True, so a
    functional call left as it is keeps dropping at evaluation time.

    **Arguments:**

    - `x`: any shape, `(*shape)`.
    - `p`: the probability of zeroing an entry, in `[0, 1]`.
    - `training`: drop only when True (pass `self.training` in a module); False returns `x`.

    **Returns:**

    `(*shape)`.
    """
    if isinstance(p, bool) or not 0.0 <= p <= 1.0:
        raise ValueError(f"dropout(): p must be a probability in [0, 1], got {p!r}")
    return F.dropout(x, p=p, training=training)


@checked_op
def rms_norm(
    x: Float[Tensor, "*batch e"], weight: Float[Tensor, " e"], eps: float = 1e-6
) -> Float[Tensor, "*batch e"]:
    """Scale each row over its last axis to unit root-mean-square, then by `weight`.

    As Llama's RMSNorm (`LlamaRMSNorm` in Hugging Face transformers): the mean of squares is
    taken in float32 whatever `x`'s dtype, the normalized row is cast back to `x`'s dtype,
    and then multiplied by `weight` (so a float32 `weight` gives a float32 result).

    **Arguments:**

    - `x`: `(*batch, e)`.
    - `weight`: `(e,)`, the learned scale.
    - `eps`: added to the mean of squares.

    **Returns:**

    `(*batch, e)`.
    """
    try:
        wide = x.to(torch.float32)
        normed = wide * torch.rsqrt(wide.pow(2).mean(-1, keepdim=True) + eps)
        return weight * normed.to(x.dtype)
    except RuntimeError as e:
        raise kernel_error(e, "rms_norm", x=x, weight=weight) from None

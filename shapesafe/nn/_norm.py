"""`LayerNorm` over the last axis, with its size in the contract."""

import torch
from jaxtyping import Float
from torch import Tensor, nn

from .._attention import layer_norm
from .._checked import checked
from .._masks import check_size


class LayerNorm(nn.Module):
    """A checked drop-in for `torch.nn.LayerNorm(features)` (normalizing the last axis only).

    **Arguments:**

    - `features`: size of the last axis, as `torch.nn.LayerNorm(normalized_shape=features)`.
    - `eps`: added to the variance.
    - `bias`: whether to learn an additive shift.
    - `device`, `dtype`: where and how to create the parameters.

    The parameters are those of `torch.nn.LayerNorm`: `weight` `(features,)` (ones) and
    `bias` `(features,)` (zeros), so state dicts load both ways.
    """

    features: int
    normalized_shape: tuple[int]
    eps: float
    weight: Tensor
    bias: Tensor | None

    def __init__(
        self,
        features: int,
        eps: float = 1e-5,
        bias: bool = True,
        device: torch.device | str | None = None,
        dtype: torch.dtype | None = None,
    ) -> None:
        super().__init__()
        self.features = check_size("LayerNorm", "features", features, minimum=1)
        self.normalized_shape = (features,)
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(features, device=device, dtype=dtype))
        if bias:
            self.bias = nn.Parameter(torch.zeros(features, device=device, dtype=dtype))
        else:
            self.register_parameter("bias", None)

    @checked
    def forward(
        self, x: Float[Tensor, "*batch features={self.features}"]
    ) -> Float[Tensor, "*batch features={self.features}"]:
        """`(*batch, features)` to `(*batch, features)`: each row to mean 0, variance 1."""
        return layer_norm(x, self.weight, self.bias, self.eps)

    def extra_repr(self) -> str:
        return f"{self.features}, eps={self.eps}, bias={self.bias is not None}"

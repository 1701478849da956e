"""`Linear`: `x @ weight.T + bias`, with `in_features` and `out_features` in the contract."""

import math

import torch
from jaxtyping import Float
from torch import Tensor, nn

from .._checked import checked
from .._linalg import linear
from .._masks import check_size


class Linear(nn.Module):
    """A checked drop-in for `torch.nn.Linear`.

    **Arguments:**

    - `in_features`: size of the last input axis.
    - `out_features`: size of the last output axis.
    - `bias`: whether to learn an additive bias.
    - `device`, `dtype`: where and how to create the parameters.

    The parameters are those of `torch.nn.Linear`: `weight` `(out_features, in_features)` and
    `bias` `(out_features,)`, with the same initialization, so state dicts load both ways.
    """

    in_features: int
    out_features: int
    weight: Tensor
    bias: Tensor | None

    def __init__(
        self,
        in_features: int,
        out_features: int,
        bias: bool = True,
        device: torch.device | str | None = None,
        dtype: torch.dtype | None = None,
    ) -> None:
        super().__init__()
        self.in_features = check_size("Linear", "in_features", in_features, minimum=1)
        self.out_features = check_size("Linear", "out_features", out_features, minimum=1)
        shape = (out_features, in_features)
        self.weight = nn.Parameter(torch.empty(shape, device=device, dtype=dtype))
        if bias:
            self.bias = nn.Parameter(torch.empty(out_features, device=device, dtype=dtype))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """torch.nn.Linear's initialization: uniform in `±1/sqrt(in_features)`."""
        nn.init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            bound = 1 / math.sqrt(self.in_features)
            nn.init.uniform_(self.bias, -bound, bound)

    @checked
    def forward(
        self, x: Float[Tensor, "*batch in_features={self.in_features}"]
    ) -> Float[Tensor, "*batch out_features={self.out_features}"]:
        """`(*batch, in_features)` to `(*batch, out_features)`."""
        return linear(x, self.weight, self.bias)

    def extra_repr(self) -> str:
        return (
            f"in_features={self.in_features}, out_features={self.out_features}, "
            f"bias={self.bias is not None}"
        )

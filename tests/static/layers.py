"""A user's own annotated layers, imported by `uses_layers.py`."""

from jaxtyping import Float
from torch import Tensor

import shapesafe as ss


@ss.checked
def feed_forward(
    x: Float[Tensor, "b s d"], w_in: Float[Tensor, "h d"], w_out: Float[Tensor, "d h"]
) -> Float[Tensor, "b s d"]:
    return ss.linear(ss.linear(x, w_in), w_out)

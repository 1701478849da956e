"""A call into another file's annotated function, with the two weights swapped."""

import torch
from jaxtyping import Float
from layers import feed_forward
from torch import Tensor


def block(
    x: Float[Tensor, "b s d"], w_in: Float[Tensor, "h d"], w_out: Float[Tensor, "d h"]
) -> Float[Tensor, "b s d"]:
    return feed_forward(x, w_out, w_in)  # expect: shape


block(torch.randn(2, 3, 4), torch.randn(8, 4), torch.randn(4, 8))

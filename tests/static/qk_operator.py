"""The same bug with the @ operator, which is torch's own op and not a checked one.
# runtime: RuntimeError
"""

import torch
from jaxtyping import Float
from torch import Tensor

import shapesafe as ss


def attend(
    q: Float[Tensor, "b s d"], k: Float[Tensor, "b t d"], v: Float[Tensor, "b t e"]
) -> Float[Tensor, "b s e"]:
    weights = ss.softmax(q @ k)  # expect: shape
    return ss.matmul(weights, v)


attend(torch.randn(2, 3, 8), torch.randn(2, 5, 8), torch.randn(2, 5, 4))

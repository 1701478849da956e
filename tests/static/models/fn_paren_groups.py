"""A buffer flattened for training, annotated einops-style: jaxtyping has no parentheses, so
"(batch seq) d" is three dims, `(batch`, `seq)` and `d`, and the 2-D buffer never fits.
# runtime: ShapeError
"""

import torch
from jaxtyping import Float
from torch import Tensor

import shapesafe as ss


@ss.checked
def flatten(
    acts: Float[Tensor, "batch seq d"], batch: int, seq: int
) -> Float[Tensor, "(batch seq) d"]:
    return acts.reshape(batch * seq, acts.shape[-1])  # expect: shape


flatten(torch.zeros(2, 3, 4), 2, 3)

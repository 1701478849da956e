"""The flattened buffer of fn_paren_groups.py, with the merged axis named as jaxtyping reads it."""

import torch
from jaxtyping import Float
from torch import Tensor

import shapesafe as ss


@ss.checked
def flatten(
    acts: Float[Tensor, "batch seq d"], batch: int, seq: int
) -> Float[Tensor, "batch*seq d"]:
    return acts.reshape(batch * seq, acts.shape[-1])


assert flatten(torch.zeros(2, 3, 4), 2, 3).shape == (6, 4)

"""Raw torch: F.linear takes the weight as (out, in); this one is passed as (in, out).
# runtime: RuntimeError
"""

import torch
import torch.nn.functional as F
from jaxtyping import Float
from torch import Tensor


def project(x: Float[Tensor, "b s d_in"], w: Float[Tensor, "d_in d_out"]) -> Tensor:
    return F.linear(x, w)  # expect: shape


project(torch.randn(2, 3, 4), torch.randn(4, 6))

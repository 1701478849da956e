"""Raw torch: an image annotated with any number of channels, tinted by an RGB colour. Right
only for 3 channels, and nothing says the image has 3: an RGBA image fails.
# runtime: RuntimeError
"""

import torch
from jaxtyping import Float
from torch import Tensor


def tint(img: Float[Tensor, "b h w c"], colour: Float[Tensor, "3"]) -> Tensor:
    return img * colour  # expect: shape


tint(torch.rand(1, 4, 4, 4), torch.rand(3))

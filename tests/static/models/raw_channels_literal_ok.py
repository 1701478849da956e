"""Raw torch: an image annotated with any number of channels, tinted by an RGB colour after
the code checks that it has 3."""

import torch
from jaxtyping import Float
from torch import Tensor


def tint(img: Float[Tensor, "b h w c"], colour: Float[Tensor, "3"]) -> Tensor:
    if img.shape[-1] != 3:
        raise ValueError("tint takes RGB images")
    return img * colour


def tint_asserted(img: Float[Tensor, "b h w c"], colour: Float[Tensor, "3"]) -> Tensor:
    assert img.shape[-1] == 3
    return img * colour


tint(torch.rand(1, 4, 4, 3), torch.rand(3))
tint_asserted(torch.rand(1, 4, 4, 3), torch.rand(3))

"""Literal dims: an RGB helper fed RGBA pixels."""

import torch
from jaxtyping import Float
from torch import Tensor

import shapesafe as ss


@ss.checked
def luminance(pixels: Float[Tensor, "n 3"]) -> Float[Tensor, " n"]:
    weights = torch.tensor([0.299, 0.587, 0.114])
    return ss.matvec(pixels, weights)


def gray(image: Float[Tensor, "n 4"]) -> Float[Tensor, " n"]:
    return luminance(image)  # expect: shape


def embed(tokens: Float[Tensor, "b 32"], table: Float[Tensor, "64 16"]) -> Float[Tensor, "b 64"]:
    return ss.linear(tokens, table)  # expect: shape


gray(torch.rand(5, 4))

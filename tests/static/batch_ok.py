"""`*batch` used correctly, including a batch that only one side names."""

import torch
from jaxtyping import Float
from torch import Tensor

import shapesafe as ss


def mix(a: Float[Tensor, "*batch m n"], b: Float[Tensor, "*batch n p"]) -> Float[Tensor, "*batch m p"]:
    return ss.matmul(a, b)


def rows(x: Float[Tensor, "*batch n"], y: Float[Tensor, "b n"]) -> Float[Tensor, "*batch n"]:
    # *batch may well be (b,): nothing here is certain, so nothing is reported.
    ss.add(x, y)
    return ss.normalize(x)


def norms(x: Float[Tensor, "*batch n"]) -> Float[Tensor, "*batch"]:
    return ss.l2_norm(x)


mix(torch.randn(2, 3, 4), torch.randn(2, 4, 5))
rows(torch.randn(2, 4), torch.randn(2, 4))
norms(torch.randn(2, 3, 4))

"""Hints that name a class not defined yet when the function is: its own, or a later one."""

import torch
from jaxtyping import Float
from torch import Tensor


class Op:
    def __init__(self, t: Float[Tensor, "n"]) -> None:
        self.t = t

    def plus(self, x: Float[Tensor, "n"]) -> "Op":
        return Op(self.t + x)

    def scaled(self, k: int) -> "Op":
        return Op(self.t * k)

    def later(self) -> "Later":
        return Later()


class Later:
    pass


OPS = {"plus": Op.plus}


def first(x: Float[Tensor, "n"]) -> torch.Tensor:
    return x[:1]

"""A method's contract and a submodule's forward, called with their arguments swapped.
# runtime: ShapeError
"""

import torch
from jaxtyping import Float
from torch import Tensor, nn

import shapesafe as ss


class Scores(nn.Module):
    @ss.checked
    def forward(
        self, q: Float[Tensor, "b s e"], k: Float[Tensor, "b t e"]
    ) -> Float[Tensor, "b s t"]:
        return q @ k.mT


class Attention(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.scores = Scores()

    @ss.checked
    def mix(
        self, weights: Float[Tensor, "b s t"], v: Float[Tensor, "b t e"]
    ) -> Float[Tensor, "b s e"]:
        return weights @ v

    @ss.checked
    def forward(
        self, q: Float[Tensor, "b s e"], k: Float[Tensor, "b t e"], v: Float[Tensor, "b t e"]
    ) -> Float[Tensor, "b s e"]:
        att = self.scores(k, q).softmax(-1)
        return self.mix(att, v)  # expect: shape


Attention()(torch.randn(2, 3, 4), torch.randn(2, 5, 4), torch.randn(2, 5, 4))

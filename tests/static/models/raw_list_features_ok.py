"""The correct twin of raw_list_features: the head is sized for every feature, and one of
them is appended by a helper, which the checker does not follow into, so the list's
contents are unknown after the call.
"""

import torch
from jaxtyping import Float
from torch import Tensor, nn


def add_appearance(features: list[Tensor], appearance: Tensor) -> None:
    features.append(appearance)


class Head(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.mlp = nn.Linear(16 + 8 + 4, 3)

    def forward(
        self,
        density: Float[Tensor, "n 16"],
        dirs: Float[Tensor, "n 8"],
        appearance: Float[Tensor, "n 4"],
    ) -> Float[Tensor, "n 3"]:
        mlp_in = [density, dirs]
        add_appearance(mlp_in, appearance)
        return self.mlp(torch.cat(mlp_in, dim=-1))

    def blended(
        self, density: Float[Tensor, "n 16"], dirs: Float[Tensor, "n 8"]
    ) -> Float[Tensor, "n 3"]:
        mlp_in = [density, dirs]
        mlp_in.append(torch.zeros(density.shape[0], 4))
        return self.mlp(torch.cat(mlp_in, dim=-1))


head = Head()
assert head(torch.zeros(5, 16), torch.zeros(5, 8), torch.zeros(5, 4)).shape == (5, 3)
assert head.blended(torch.zeros(5, 16), torch.zeros(5, 8)).shape == (5, 3)

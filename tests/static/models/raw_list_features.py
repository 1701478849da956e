"""Features gathered in a list, the way NeRF fields build an MLP's input: encodings appended
one at a time, then concatenated. The head was sized without the appearance embedding.
# runtime: RuntimeError
"""

import torch
from jaxtyping import Float
from torch import Tensor, nn


class Head(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.mlp = nn.Linear(16 + 8, 3)

    def forward(
        self,
        density: Float[Tensor, "n 16"],
        dirs: Float[Tensor, "n 8"],
        appearance: Float[Tensor, "n 4"],
    ) -> Float[Tensor, "n 3"]:
        mlp_in = [density, dirs]
        mlp_in.append(appearance)
        return self.mlp(torch.cat(mlp_in, dim=-1))  # expect: shape


head = Head()
head(torch.zeros(5, 16), torch.zeros(5, 8), torch.zeros(5, 4))

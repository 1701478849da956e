"""The static checker on one layer of a list of like layers: `self.layers[0](x)` and
`for layer in self.layers[1:]`, as a loop over `self.layers` reads each, where the list is
an `nn.ModuleList` of one class's instances (made in place, in a local list, or appended)."""

import re
from pathlib import Path

import pytest
import torch

from tests.test_static_attributes import check

NET = """\
class Blk(nn.Module):
    def __init__(self, d: int) -> None:
        super().__init__()
        self.lin = nn.Linear(d, d)

    def forward(self, x: Float[Tensor, "n d"], w: Float[Tensor, "2 e"]) -> Float[Tensor, "n d"]:
        return self.lin(x)


class Net(nn.Module):
    def __init__(self, d: int, k: int) -> None:
        super().__init__()
        made = [Blk(d)]
        for _ in range(k):
            made.append(Blk(d))
        self.layers = nn.ModuleList(made)

    def forward(self, x: Float[Tensor, "n d"], w: Float[Tensor, "2 e"]) -> Float[Tensor, "n d"]:
        x = self.layers[0]({first})
        for layer in self.layers[1:]:
            x = layer({rest})
        return x
"""


def test_layers_given_their_arguments_in_order_are_silent(tmp_path: Path) -> None:
    assert check(tmp_path, NET.format(first="x, w", rest="x, w")) == []


@pytest.mark.parametrize(("first", "rest", "line"), [("w, x", "x, w", 19), ("x, w", "w, x", 21)])
def test_swapped_arguments_of_one_listed_layer_are_found(
    tmp_path: Path, first: str, rest: str, line: int
) -> None:
    found = check(tmp_path, NET.format(first=first, rest=rest))
    assert found, "the swap is not found"
    assert found[0].startswith(f"{line}: forward(w, x): ")
    assert re.search(r"""dim '2' is n in x "n d", expected 2 \("2 e"\)""", found[0])


def test_a_list_of_unlike_layers_says_nothing_of_one(tmp_path: Path) -> None:
    source = NET.replace("made.append(Blk(d))", "made.append(nn.Identity())").format(
        first="x, w", rest="w, x"
    )
    # Where the list holds layers of different kinds, the checker does not pick one.
    assert check(tmp_path, source) == []


def test_torch_rejects_the_swap() -> None:
    lin = torch.nn.Linear(4, 4)
    with pytest.raises(RuntimeError, match="cannot be multiplied"):
        lin(torch.randn(2, 3))

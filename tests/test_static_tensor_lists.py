"""The static checker on `list(x)` and `tuple(x)` of a tensor: its slices along axis 0, as
`[t for t in x]` gives them, so that `torch.cat(list(x), dim=1)` keeps the other axes."""

import re
from pathlib import Path

import pytest
import torch

from tests.test_static_attributes import check

TILED = """\
def tiled(x: Float[Tensor, "b h w c"], y: Float[Tensor, "h d c"]) -> Float[Tensor, "h d c"]:
    return torch.cat({made}(x), dim={dim}) + y
"""


@pytest.mark.parametrize("made", ["list", "tuple"])
def test_slices_joined_on_their_own_axis_are_silent(tmp_path: Path, made: str) -> None:
    assert check(tmp_path, TILED.format(made=made, dim=1)) == []
    x, y = torch.randn(2, 3, 4, 5), torch.randn(3, 8, 5)
    assert (torch.cat(list(x), dim=1) + y).shape == (3, 8, 5)


@pytest.mark.parametrize("made", ["list", "tuple"])
def test_slices_joined_on_the_wrong_axis_are_found(tmp_path: Path, made: str) -> None:
    found = check(tmp_path, TILED.format(made=made, dim=0))
    assert len(found) == 1
    assert re.search(
        r'^2: torch\.cat\(.*\) \+ y: .*"\? w c" and y "h d c": w lines up with d', found[0]
    )
    x, y = torch.randn(2, 3, 4, 5), torch.randn(3, 8, 5)
    with pytest.raises(RuntimeError, match="must match"):
        torch.cat(list(x), dim=0) + y

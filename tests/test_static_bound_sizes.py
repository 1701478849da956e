"""The static checker on a helper annotated `Float[Tensor, "..."]` (a shape it does not
name), read with its caller's shapes: a size the body works out of the caller's sizes alone
(`2*n`, where it stacks halves on the wrong axis) stays that size for the caller."""

import re
from pathlib import Path

import pytest
import torch

from tests.test_static_attributes import check

ROPE = """\
def rotate_half(x: Float[Tensor, "..."]) -> Float[Tensor, "..."]:
    x1, x2 = x.chunk(2, dim=-1)
    return torch.cat([-x2, x1], dim={dim})


def rope(q: Float[Tensor, "b h n d"], sin: Float[Tensor, "n d"]) -> Float[Tensor, "b h n d"]:
    return q * sin + rotate_half(q) * sin
"""


def test_halves_put_back_on_their_axis_are_silent(tmp_path: Path) -> None:
    assert check(tmp_path, ROPE.format(dim=-1)) == []


def test_halves_stacked_on_the_wrong_axis_are_found(tmp_path: Path) -> None:
    found = check(tmp_path, ROPE.format(dim=-2))
    assert len(found) == 1
    assert re.search(
        r'^7: rotate_half\(q\) \* sin: rotate_half\(q\) "b h 2\*n \?.*2\*n lines up with n',
        found[0],
    )
    # torch agrees: the halves stacked on the sequence axis no longer line up with `sin`.
    q, sin = torch.randn(2, 3, 5, 8), torch.randn(5, 8)
    x1, x2 = q.chunk(2, dim=-1)
    with pytest.raises(RuntimeError, match="must match"):
        q * sin + torch.cat([-x2, x1], dim=-2) * sin


def test_a_size_of_the_helpers_own_stays_unknown(tmp_path: Path) -> None:
    source = (
        'def grow(x: Float[Tensor, "..."], k: int) -> Float[Tensor, "..."]:\n'
        "    return torch.cat([x] * k, dim=-1)\n"
        "\n"
        'def use(q: Float[Tensor, "n d"], w: Float[Tensor, "n d"], k: int) -> Float[Tensor, "n d"]:\n'
        "    return grow(q, k) * w\n"
    )
    # `k*d` names `k`, a size the caller does not have: nothing is said of it.
    assert check(tmp_path, source) == []

"""The static checker on `expand`: only an axis of size 1 is repeated, so an axis written as
another literal size cannot be asked for a third."""

from pathlib import Path

import pytest
import torch

from tests.helpers import static_findings

HEADER = """\
import torch
from jaxtyping import Float
from torch import Tensor
"""


def check(tmp_path: Path, source: str) -> list[str]:
    return static_findings(tmp_path, source, HEADER, relative=True)


def test_expand_of_a_literal_axis_to_another_size_is_a_finding(tmp_path: Path) -> None:
    source = (
        "def f(m: Float[Tensor, 'n 4 4'], d: Float[Tensor, 'n 2']):\n"
        "    return m[:, :3, 3].expand(d.shape)\n"
        "def g(m: Float[Tensor, 'n 3']):\n"
        "    return m.expand(5, -1, 2)\n"
    )
    assert check(tmp_path, source) == [
        '2: expand: axis 1 is 3 in m[:, :3, 3] "n 3" but the size asked for it is 2 '
        "(expand repeats only an axis of size 1)",
        '4: expand: axis 1 is 3 in m "n 3" but the size asked for it is 2 '
        "(expand repeats only an axis of size 1)",
    ]


def test_expand_of_an_axis_of_one_or_to_its_own_size_is_no_finding(tmp_path: Path) -> None:
    source = (
        "def f(m: Float[Tensor, 'n 1 3'], d: Float[Tensor, 'n 7 3']) -> Float[Tensor, 'n 7 3']:\n"
        "    return m.expand(d.shape)\n"
        "def g(m: Float[Tensor, 'n 3'], k: int) -> Float[Tensor, 'k n 3']:\n"
        "    return m.expand(k, -1, 3)\n"
    )
    assert check(tmp_path, source) == []


@pytest.mark.parametrize(("have", "want"), [((3,), (2,)), ((2, 3), (2, 4)), ((4, 1), (4, 2))])
def test_torch_agrees_on_what_expand_refuses(have: tuple[int, ...], want: tuple[int, ...]) -> None:
    refused = any(h not in (1, w) for h, w in zip(have, want, strict=True))
    try:
        torch.zeros(have).expand(want)
    except RuntimeError:
        assert refused
    else:
        assert not refused

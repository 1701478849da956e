"""Literal indices past an axis of literal size, more indices than dims, and a reduction's dim
past the rank: findings where torch raises IndexError, silence where it does not."""

from collections.abc import Callable
from pathlib import Path

import pytest
import torch

from tests.helpers import static_findings

HEADER = """\
import torch
from jaxtyping import Float
from torch import Tensor
"""


def check_source(tmp_path: Path, source: str) -> list[str]:
    return static_findings(tmp_path, source, HEADER)


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        pytest.param(
            "def f(c2w: Float[Tensor, '... 3 4']):\n    return c2w[..., 3, :]\n",
            ['5: c2w[..., 3, :]: index 3 is out of range for an axis of size 3 in c2w "... 3 4"'],
            id="index-moved-one-axis",
        ),
        pytest.param(
            "def f(x: Float[Tensor, 'n 3']):\n    return x[:, -4]\n",
            ['5: x[:, -4]: index -4 is out of range for an axis of size 3 in x "n 3"'],
            id="negative-index",
        ),
        pytest.param(
            "def f(x: Float[Tensor, 'n 3']):\n    return x[0, 1, 2]\n",
            ['5: x[0, 1, 2]: 3 indices for x "n 3", which has 2 dims (torch raises IndexError)'],
            id="too-many-indices",
        ),
        pytest.param(
            "def f(x: Float[Tensor, 'b d']) -> Float[Tensor, '']:\n"
            "    return x.abs().sum(axis=1).mean(axis=1)\n",
            [
                '5: mean: dim 1 is out of range for x.abs().sum(axis=1) "b", which has 1 dim '
                "(torch raises IndexError)"
            ],
            id="reduction-dim",
        ),
    ],
)
def test_out_of_range(tmp_path: Path, body: str, expected: list[str]) -> None:
    assert check_source(tmp_path, body) == expected


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(
            "def f(c2w: Float[Tensor, '... 3 4'], x: Float[Tensor, 'n 3']):\n"
            "    return c2w[..., 2, 3] + x[:, -3] + x[-1, 2]\n",
            id="indices-in-range",
        ),
        pytest.param(
            "def f(x: Float[Tensor, 'n m'], i: int, j: int):\n    return x[i, j] + x[5, 7]\n",
            id="named-sizes-may-be-large",
        ),
        pytest.param(
            "def f(x: Float[Tensor, 'b d']):\n"
            "    return x.sum(dim=(0, -1)) + x.sum(-2).mean(0) + x.sum().sum(0) + x.sum().sum(-1)\n",
            id="reductions-in-range",
        ),
        pytest.param(
            "def f(x: Float[Tensor, '*batch d']):\n    return x.sum(dim=5)\n",
            id="run-of-unknown-length",
        ),
    ],
)
def test_in_range_is_silent(tmp_path: Path, body: str) -> None:
    assert check_source(tmp_path, body) == []


def test_torch_agrees() -> None:
    x = torch.zeros(2, 3)
    assert x.sum().sum(0).shape == x.sum().sum(-1).shape == ()
    bad: list[Callable[[], object]] = [
        lambda: x[:, 3],
        lambda: x[:, -4],
        lambda: x[0, 1, 2],
        lambda: x.sum(1).mean(1),
    ]
    for each in bad:
        with pytest.raises(IndexError):
            each()

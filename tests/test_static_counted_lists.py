"""The static checker on lists that a loop grows by one item a pass: `torch.stack` of one has
as many items along its new axis as the loop made passes."""

from pathlib import Path

from tests.helpers import static_findings

HEADER = """\
import torch
from jaxtyping import Float
from torch import Tensor
"""


def check(tmp_path: Path, source: str) -> list[str]:
    return static_findings(tmp_path, source, HEADER, relative=True)


def test_a_stack_of_a_list_grown_once_a_pass_has_the_loop_s_length(tmp_path: Path) -> None:
    source = (
        "def rows(x: Float[Tensor, 'm n'], y: Float[Tensor, 'p n']) -> Float[Tensor, 'm n']:\n"
        "    outs = []\n"
        "    for a, b in zip(y, y):\n"
        "        outs.append(a * b)\n"
        "    return torch.stack(outs)\n"
        "def steps(x: Float[Tensor, 'b n'], k: int) -> Float[Tensor, 'k b n']:\n"
        "    outs = []\n"
        "    for i in range(k):\n"
        "        outs.append(x * i)\n"
        "    more = []\n"
        "    for i, row in enumerate(range(k + 1)):\n"
        "        more.append(x)\n"
        "    return torch.stack(outs) + torch.stack(more)\n"
    )
    assert check(tmp_path, source) == [
        '5: return of rows(): dim \'m\' is m in x "m n" but p in torch.stack(outs) "p n"',
        '13: torch.stack(outs) + torch.stack(more): torch.stack(outs) "k b n" and '
        'torch.stack(more) "k+1 b n": k lines up with k+1 (torch would broadcast silently '
        "where one is 1, and fail otherwise)",
    ]


def test_a_list_a_pass_may_not_grow_has_no_length(tmp_path: Path) -> None:
    # A pass that may skip its `append`, or a list changed after the loop: its length is
    # not the loop's.
    source = (
        "def f(x: Float[Tensor, 'm n']) -> Float[Tensor, 'n n']:\n"
        "    outs = []\n"
        "    for row in x:\n"
        "        if row.sum() > 0:\n"
        "            continue\n"
        "        outs.append(row)\n"
        "    return torch.stack(outs)\n"
        "def g(x: Float[Tensor, 'm n']) -> Float[Tensor, 'n n']:\n"
        "    outs = []\n"
        "    for row in x:\n"
        "        outs.append(row)\n"
        "    outs.append(x[0])\n"
        "    return torch.stack(outs)\n"
    )
    assert check(tmp_path, source) == []

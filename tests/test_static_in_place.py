"""The static checker on tensors changed in place: `x.scatter_(...)` and the other in-place
methods keep their tensor's shape, and give it back; the few that move axes
(`x.unsqueeze_(0)`) leave it unknown."""

from collections.abc import Callable
from pathlib import Path

import pytest
import torch

from shapesafe._static._report import KEEPS_SHAPE_IN_PLACE, MOVES_AXES_IN_PLACE
from tests.helpers import static_findings

HEADER = """\
import torch
from jaxtyping import Float, Int
from torch import Tensor, nn
"""


def check(tmp_path: Path, source: str) -> list[str]:
    return static_findings(tmp_path, source, HEADER, relative=True)


# Each in-place method the checker reads as keeping its tensor's shape, called as torch takes it.
_CALLS: dict[str, Callable[[torch.Tensor], torch.Tensor]] = {
    "scatter_": lambda x: x.scatter_(-1, torch.zeros(2, 1, dtype=torch.long), 1.0),
    "scatter_add_": lambda x: x.scatter_add_(
        -1, torch.zeros(2, 1, dtype=torch.long), torch.ones(2, 1)
    ),
    "scatter_reduce_": lambda x: x.scatter_reduce_(
        -1, torch.zeros(2, 1, dtype=torch.long), torch.ones(2, 1), "sum"
    ),
    "index_add_": lambda x: x.index_add_(0, torch.tensor([1]), torch.ones(1, 3)),
    "index_copy_": lambda x: x.index_copy_(0, torch.tensor([1]), torch.ones(1, 3)),
    "index_fill_": lambda x: x.index_fill_(1, torch.tensor([0]), 2.0),
    "index_put_": lambda x: x.index_put_((torch.tensor([0]),), torch.ones(3)),
    "index_reduce_": lambda x: x.index_reduce_(0, torch.tensor([1]), torch.ones(1, 3), "prod"),
    "masked_scatter_": lambda x: x.masked_scatter_(x > 0, torch.ones(2, 3)),
    "put_": lambda x: x.put_(torch.tensor([0]), torch.tensor([9.0])),
    "fill_diagonal_": lambda x: x.fill_diagonal_(0.0),
    "random_": lambda x: x.random_(0, 3),
    "cauchy_": lambda x: x.cauchy_(),
    "geometric_": lambda x: x.geometric_(0.5),
    "log_normal_": lambda x: x.log_normal_(),
}


@pytest.mark.filterwarnings("ignore:index_reduce:UserWarning")
@pytest.mark.parametrize("name", sorted(KEEPS_SHAPE_IN_PLACE))
def test_in_place_methods_keep_their_tensors_shape_in_torch(name: str) -> None:
    x = torch.randn(2, 3)
    out = _CALLS[name](x)
    assert out is x
    assert tuple(x.shape) == (2, 3)


@pytest.mark.parametrize(
    "name", ["unsqueeze_", "squeeze_", "t_", "transpose_", "swapdims_", "resize_"]
)
def test_the_in_place_methods_that_move_axes_are_known_as_such(name: str) -> None:
    assert name in MOVES_AXES_IN_PLACE
    assert name not in KEEPS_SHAPE_IN_PLACE


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        pytest.param(
            "    out.scatter_(-1, ids, v)\n",
            ['5: return of f(): dim \'k\' is k in ids "b k" but n in out "b n"'],
            id="scatter-keeps-the-shape",
        ),
        pytest.param(
            "    out = out.index_add_(0, ids[0], v)\n",
            ['5: return of f(): dim \'k\' is k in ids "b k" but n in out "b n"'],
            id="what-it-gives-back-has-the-shape",
        ),
        # The tensor has another shape after it; which, the checker does not know.
        pytest.param("    out.unsqueeze_(0)\n", [], id="unsqueeze-moves-axes"),
    ],
)
def test_a_tensor_changed_in_place(tmp_path: Path, change: str, expected: list[str]) -> None:
    source = (
        "def f(x: Float[Tensor, 'b n'], ids: Int[Tensor, 'b k'],\n"
        "      v: Float[Tensor, 'b k']) -> Float[Tensor, 'b k']:\n"
        "    out = torch.zeros_like(x)\n"
        f"{change}"
        "    return out\n"
    )
    assert check(tmp_path, source) == expected


def test_a_module_whose_forward_scatters_in_place_gives_its_input_shape(tmp_path: Path) -> None:
    # A top-k activation: the caller learns what its forward gives from its body.
    source = (
        "class TopK(nn.Module):\n"
        "    def __init__(self, k: int):\n"
        "        super().__init__()\n"
        "        self.k = k\n"
        "    def forward(self, x: Tensor) -> Tensor:\n"
        "        values, indices = torch.topk(x, k=self.k, dim=-1)\n"
        "        out = torch.zeros_like(x)\n"
        "        out.scatter_(-1, indices, values.relu())\n"
        "        return out\n"
        "class SAE(nn.Module):\n"
        "    def __init__(self, d_in: int, d_sae: int):\n"
        "        super().__init__()\n"
        "        self.W_enc = nn.Parameter(torch.zeros(d_in, d_sae))\n"
        "        self.act = TopK(4)\n"
        "    def encode(self, x: Float[Tensor, 'b d_in']) -> Float[Tensor, 'b d_in']:\n"
        "        return self.act(x @ self.W_enc)\n"
    )
    assert check(tmp_path, source) == [
        "16: return of encode(): dim 'd_in' is d_in in x \"b d_in\" but d_sae in"
        ' self.act(x @ self.W_enc) "b d_sae" (holds only if d_in == d_sae, and nothing here'
        " says they are equal)"
    ]

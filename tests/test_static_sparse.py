"""Static shape rules of the methods that store a tensor's values another way (`to_dense`,
`to_sparse`, `coalesce`): x's shape, as torch gives it; and a hook that gives a sparse input
back dense keeps its shape."""

from collections.abc import Callable
from pathlib import Path

import pytest
import torch

from tests.helpers import static_findings
from tests.test_static_rules import static_shape

HEADER = """\
import torch
from jaxtyping import Float
from torch import Tensor, nn
"""


# Each method, as torch runs it.
_LAYOUTS: dict[str, Callable[[torch.Tensor], torch.Tensor]] = {
    "to_sparse()": lambda x: x.to_sparse(),
    "to_dense()": lambda x: x.to_dense(),
    "to_sparse().coalesce()": lambda x: x.to_sparse().coalesce(),
    "to_sparse_csr()": lambda x: x.to_sparse_csr(),
}


@pytest.mark.filterwarnings("ignore:Sparse CSR tensor support:UserWarning")
@pytest.mark.parametrize("call", sorted(_LAYOUTS))
def test_other_layouts_keep_the_shape_as_torch_does(call: str) -> None:
    torch_shape = tuple(str(n) for n in _LAYOUTS[call](torch.randn(2, 3)).shape)
    assert static_shape([2, 3], f"x.{call}") == torch_shape


def test_a_hook_that_gives_a_sparse_input_back_dense(tmp_path: Path) -> None:
    source = (
        "class SparseHook(nn.Module):\n"
        "    def forward(self, x: Tensor) -> Tensor:\n"
        "        if x.is_sparse:\n"
        "            return x.to_dense()\n"
        "        return x\n"
        "class Block(nn.Module):\n"
        "    def __init__(self) -> None:\n"
        "        super().__init__()\n"
        "        self.hook = SparseHook()\n"
        "    def forward(self, x: Float[Tensor, 'b d']) -> Float[Tensor, 'b']:\n"
        "        return self.hook(x)\n"
    )
    assert static_findings(tmp_path, source, HEADER, relative=True) == [
        '11: return of forward(): self.hook(x) "b d" has 2 dims, expected 1 for \'return\' "b"'
    ]

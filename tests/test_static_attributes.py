"""The static checker on attributes that a method other than `__init__` assigns again: known
where every such assignment keeps the tensor's shape (in place, or a value of that very
shape), and for a config whose other fields those methods set; unknown otherwise."""

from pathlib import Path

import pytest

from shapesafe._static._report import Stats
from tests.helpers import annotated_relations, static_findings

HEADER = """\
import torch
from jaxtyping import Float
from torch import Tensor, nn
"""


def check(tmp_path: Path, source: str, stats: Stats | None = None) -> list[str]:
    return static_findings(tmp_path, source, HEADER, relative=True, stats=stats)


def sae(fold: str) -> str:
    """A module whose weight `W` is (d_in, d_sae), `fold` the body of a method that changes
    it, and whose `encode` returns it with the wrong last dim."""
    return (
        "class SAE(nn.Module):\n"
        "    def __init__(self, d_in: int, d_sae: int) -> None:\n"
        "        super().__init__()\n"
        "        self.W = nn.Parameter(torch.empty(d_in, d_sae))\n"
        "        self.V = nn.Parameter(torch.empty(d_in, d_sae))\n"
        "    @torch.no_grad()\n"
        "    def fold(self, s: float) -> None:\n"
        f"{fold}"
        "    def encode(self, x: Float[Tensor, 'b d_in']) -> Float[Tensor, 'b d_in']:\n"
        "        return x @ self.W\n"
    )


WRONG = (
    "return of encode(): dim 'd_in' is d_in in x \"b d_in\" but d_sae in x @ self.W "
    '"b d_sae" (holds only if d_in == d_sae, and nothing here says they are equal)'
)


@pytest.mark.parametrize(
    "fold",
    [
        pytest.param("        self.W.data *= s\n", id="in-place-on-data"),
        pytest.param("        self.W += s\n", id="in-place"),
        pytest.param("        self.W[0] = 0.0\n", id="item-set"),
        pytest.param(
            "        norms = self.W.norm(dim=-1).unsqueeze(1)\n"
            "        self.W.data = self.W.data / norms\n",
            id="same-shape-value",
        ),
        pytest.param("        self.W.data = self.V.data * 2\n", id="another-steady-attribute"),
    ],
)
def test_an_attribute_reassigned_with_its_own_shape_stays_known(tmp_path: Path, fold: str) -> None:
    stats = Stats()
    found = check(tmp_path, sae(fold), stats)
    assert [f.partition(": ")[2] for f in found] == [WRONG]
    assert annotated_relations(stats) == (1, 1)


@pytest.mark.parametrize(
    "fold",
    [
        pytest.param("        self.W.data = self.W.data.T.contiguous()\n", id="transposed"),
        pytest.param(
            "        self.W = nn.Parameter(torch.empty(3, 4))\n",
            id="a-new-parameter-of-another-shape",
        ),
        pytest.param("        self.W @= torch.eye(4)\n", id="matmul-assign-is-not-in-place"),
        pytest.param("        self.W, self.V = self.V, self.W\n", id="unpacked"),
        pytest.param("        self.W.requires_grad = False\n", id="another-field"),
        # `V` keeps its shape only while `W` does, and `W` does not: neither is known.
        pytest.param(
            "        self.W.data = self.W.data[:, :1]\n        self.V.data = self.W.data\n",
            id="steady-only-if-another-is",
        ),
    ],
)
def test_an_attribute_reassigned_with_another_shape_is_unknown(tmp_path: Path, fold: str) -> None:
    # Not a finding: after `fold`, `x @ self.W` is of another shape than `__init__` gives.
    stats = Stats()
    assert check(tmp_path, sae(fold), stats) == []
    assert annotated_relations(stats) == (0, 1)


CONFIGURED = """\
class SAE(nn.Module):
    def __init__(self, cfg) -> None:
        super().__init__()
        self.cfg = cfg
        self.W = nn.Parameter(torch.empty(cfg.d_in, cfg.d_sae))
    def to_device(self, device: str) -> None:
        self.cfg.device = device
        self.cfg.{field} = 0
    def encode(self, x: Float[Tensor, 'b d']) -> Float[Tensor, 'b e']:
        w = torch.empty(self.cfg.d_in, self.cfg.d_sae)
        return x @ w @ w
"""


def test_a_config_whose_other_fields_are_set_keeps_its_sizes(tmp_path: Path) -> None:
    assert check(tmp_path, CONFIGURED.format(field="metadata.name")) == [
        '11: (x @ w) @ w: inner dim is cfg.d_sae in (x @ w) "b cfg.d_sae" but cfg.d_in in w '
        '"cfg.d_in cfg.d_sae"; did you mean w.mT?'
    ]


def test_a_config_field_set_by_another_method_is_unknown(tmp_path: Path) -> None:
    # `to_device` sets `cfg.d_in`: a size read from it after `__init__` says nothing.
    assert check(tmp_path, CONFIGURED.format(field="d_in")) == []


MESH = """\
from typing import Optional
class Mesh:
    def __init__(self, v_pos: Float[Tensor, "nv 3"]) -> None:
        self.v_pos: Float[Tensor, "nv 3"] = v_pos
        self._normals: Optional[Float[Tensor, "nv 3"]] = None
    def normals(self) -> Float[Tensor, "nv {size}"]:
        if self._normals is None:
            self._normals = self.compute()
        return self._normals
    def compute(self):
        return self.v_pos.flip(0)
"""


@pytest.mark.parametrize(
    ("size", "expected"),
    [
        pytest.param(
            "4",
            [
                "9: return of normals(): dim '4' is 3 in self._normals \"? 3\", expected 4"
                ' ("nv 4") (? is an unknown size)'
            ],
            id="a-wrong-size",
        ),
        pytest.param("3", [], id="the-right-size"),
    ],
)
def test_an_attribute_set_on_one_path_keeps_its_declared_shape_on_the_other(
    tmp_path: Path, size: str, expected: list[str]
) -> None:
    # The path that does not assign `self._normals` holds what it held before: what the
    # class declares it holds.
    stats = Stats()
    assert check(tmp_path, MESH.format(size=size), stats) == expected
    assert annotated_relations(stats) == (2, 2)

"""The static checker on what `__init__` builds: methods that only it (or another such
method) calls, tensors filled in place by `torch.nn.init`, and the int fields of a config
the class declares."""

import tempfile
from pathlib import Path

import pytest
import torch

from shapesafe.shapes import shapes_of
from tests.helpers import static_findings

HEADER = """\
import dataclasses
import torch
from jaxtyping import Float
from torch import Tensor, nn
"""


def check(tmp_path: Path, source: str) -> list[str]:
    return static_findings(tmp_path, source, HEADER, relative=True)


HOOKS = """\
class SAE(nn.Module):
    def __init__(self, d_in: int, d_sae: int, gated: bool) -> None:
        super().__init__()
        self.d_in, self.d_sae = d_in, d_sae
        if gated:
            self.init_gated()
        else:
            self.init_basic()
        self.init_more()
    def init_basic(self) -> None:
        self.W = nn.Parameter(torch.empty(self.d_in, self.d_sae))
    def init_gated(self) -> None:
        self.init_basic()
        self.b_gate = nn.Parameter(torch.zeros(self.d_sae))
    def init_more(self) -> None:
{more}
    def encode(self, x: Float[Tensor, 'b d_in']) -> Float[Tensor, 'b d_in']:
        return x @ self.W
"""


def test_a_method_that_only_init_methods_call_builds_the_object(tmp_path: Path) -> None:
    assert check(tmp_path, HOOKS.format(more="        pass\n")) == [
        "19: return of encode(): dim 'd_in' is d_in in x \"b d_in\" but self.d_sae in x @ "
        'self.W "b self.d_sae" (holds only if d_in == self.d_sae, and nothing here says they '
        "are equal)"
    ]


@pytest.mark.parametrize(
    "more",
    [
        pytest.param(
            "        pass\n    def reset(self) -> None:\n        self.init_basic()\n",
            id="called-by-another-method",
        ),
        pytest.param(
            "        self.again = self.init_basic\n",
            id="kept-by-a-building-method",
        ),
    ],
)
def test_a_method_that_may_run_again_later_is_not_part_of_building(
    tmp_path: Path, more: str
) -> None:
    # `init_basic` may run at any time; what it assigns is not known at `encode`.
    assert check(tmp_path, HOOKS.format(more=more)) == []


@pytest.mark.parametrize(
    "init",
    [
        "uniform_",
        "normal_",
        "zeros_",
        "ones_",
        "xavier_uniform_",
        "xavier_normal_",
        "kaiming_uniform_",
        "kaiming_normal_",
        "trunc_normal_",
        "orthogonal_",
    ],
)
def test_nn_init_gives_back_the_tensor_it_fills(init: str) -> None:
    source = f"{HEADER}\ndef f() -> None:\n    y = nn.init.{init}(torch.empty(4, 3))\n"
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "rule.py"
        path.write_text(source)
        found = [b.shape for b in shapes_of(path) if b.name == "y"]
    real = getattr(torch.nn.init, init)(torch.empty(4, 3))
    assert found == [tuple(str(n) for n in real.shape)]


CONFIG = """\
@dataclasses.dataclass
class Config:
    d_in: int
    d_sae: int
class SAE(nn.Module):
    cfg: Config
    def __init__(self, cfg: Config) -> None:
        super().__init__()
        self.cfg = cfg
    def to_device(self, device: str) -> None:
        self.cfg.{field} = device
    def encode(self, x: Float[Tensor, 'b d']) -> Float[Tensor, 'b e']:
        w = torch.empty(self.cfg.d_in, self.cfg.d_sae)
        return x @ w @ w
"""


def test_an_int_field_of_a_declared_config_is_a_size_set_once(tmp_path: Path) -> None:
    assert check(tmp_path, CONFIG.format(field="device")) == [
        '14: (x @ w) @ w: inner dim is self.cfg.d_sae in (x @ w) "b self.cfg.d_sae" but '
        'self.cfg.d_in in w "self.cfg.d_in self.cfg.d_sae"; did you mean w.mT?'
    ]


def test_an_int_field_that_a_method_sets_is_some_number(tmp_path: Path) -> None:
    # `to_device` sets `cfg.d_in`: each read may give another size.
    assert check(tmp_path, CONFIG.format(field="d_in")) == []


@pytest.mark.parametrize(
    ("returns", "expected"),
    [
        pytest.param(
            "b",
            [
                '12: return of forward(): self.alpha.expand_as(x) "b d" has 2 dims, expected 1 for \'return\' "b"'
            ],
            id="the-wrong-rank",
        ),
        pytest.param("b d", [], id="the-right-rank"),
    ],
)
def test_a_tensor_made_of_a_float_parameter_of_init_has_no_axes(
    tmp_path: Path, returns: str, expected: list[str]
) -> None:
    # `alpha_init: float` is a number, so `torch.tensor(alpha_init)` is a tensor of no axes.
    source = (
        "class Scale(nn.Module):\n"
        "    def __init__(self, alpha_init: float = 0.5) -> None:\n"
        "        super().__init__()\n"
        "        self.alpha = nn.Parameter(\n"
        "            torch.log(torch.tensor(alpha_init, dtype=torch.float32))\n"
        "        )\n"
        "        self.beta = alpha_init * 2\n"
        "    def forward(\n"
        "        self, x: Float[Tensor, 'b d']\n"
        f"    ) -> Float[Tensor, '{returns}']:\n"
        "        y = x * self.beta\n"
        "        return self.alpha.expand_as(x)\n"
    )
    assert check(tmp_path, source) == expected

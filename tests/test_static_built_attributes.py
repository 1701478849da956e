"""The static checker on attributes that the building of an instance gives: sizes of `self`
read by a base's `__init__` and by a subclass's methods are one size, a function that a
builder calls on `self` builds too, and a vector scaled by squeezed row norms keeps its shape."""

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


# A base whose `__init__` calls a hook that builds W from its config, and a subclass with its
# own `__init__` whose hook builds a threshold of the config's `d_sae` too; a method changes the threshold by
# the norms of W's columns. `{ret}` is what `encode` is annotated to return.
SUBCLASS = """\
class Base(nn.Module):
    def __init__(self, cfg) -> None:
        super().__init__()
        self.cfg = cfg
        self.initialize_weights()
    def initialize_weights(self) -> None:
        self.W = nn.Parameter(torch.empty(self.cfg.d_in, self.cfg.d_sae))
class Sub(Base):
    def __init__(self, cfg) -> None:
        super().__init__(cfg)
    def initialize_weights(self) -> None:
        super().initialize_weights()
        self.threshold = nn.Parameter(torch.zeros(self.cfg.d_sae))
    def fold(self) -> None:
        self.threshold.data = self.threshold.data * self.W.norm(dim=0)
    def encode(self, x: Float[Tensor, 'b d_in']) -> Float[Tensor, '{ret}']:
        h = x @ self.W
        return h * (h > self.threshold)
"""


def test_a_subclass_reads_what_its_base_built_in_the_same_sizes(tmp_path: Path) -> None:
    stats = Stats()
    assert check(tmp_path, SUBCLASS.format(ret="b d_sae"), stats) == []
    assert annotated_relations(stats) == (1, 1)


def test_a_subclass_method_with_the_wrong_return_is_caught(tmp_path: Path) -> None:
    found = check(tmp_path, SUBCLASS.format(ret="b d_in"))
    assert [f.partition(": ")[2] for f in found] == [
        "return of encode(): dim 'd_in' is d_in in x \"b d_in\" but self.cfg.d_sae in "
        'h * (h > self.threshold) "b self.cfg.d_sae" (holds only if d_in == self.cfg.d_sae, '
        "and nothing here says they are equal)"
    ]


def test_a_base_built_of_its_own_parameters_is_not_read_in_the_subclass_names(
    tmp_path: Path,
) -> None:
    # The base's `v_dim` is the subclass's `d_in` here, by the call, not by the name: the
    # subclass has a `d_in` of its own, which the base's sizes must not be taken to be.
    source = (
        "import einops\n"
        "class Base(nn.Module):\n"
        "    def __init__(self, C: int, v_dim: int) -> None:\n"
        "        super().__init__()\n"
        "        self.V = nn.Parameter(torch.empty(v_dim, C))\n"
        "class Sub(Base):\n"
        "    def __init__(self, C: int, d_in: int) -> None:\n"
        "        super().__init__(C, v_dim=d_in)\n"
        "        self.d_in = d_in\n"
        "    def acts(self, x: Float[Tensor, '... d_in']) -> Float[Tensor, '... C']:\n"
        "        return einops.einsum(x, self.V, '... d_in, d_in C -> ... C')\n"
    )
    assert check(tmp_path, source) == []


# A module whose `__init__` hands `self` to a function that builds its weights.
HELPER = """\
def _init_weights(m: "SAE") -> None:
    m.W = nn.Parameter(torch.empty(m.d_in, m.d_sae))
    m.b = nn.Parameter(torch.zeros(m.d_sae))
class SAE(nn.Module):
    def __init__(self, d_in: int, d_sae: int) -> None:
        super().__init__()
        self.d_in, self.d_sae = d_in, d_sae
{call}
    def encode(self, x: Float[Tensor, 'b d_in']) -> Float[Tensor, '{ret}']:
        return x @ self.W + self.b
"""


def test_a_function_called_on_self_while_building_builds_too(tmp_path: Path) -> None:
    stats = Stats()
    source = HELPER.format(call="        _init_weights(self)", ret="b d_sae")
    assert check(tmp_path, source, stats) == []
    assert annotated_relations(stats) == (1, 1)


def test_a_wrong_return_of_weights_a_function_built_is_caught(tmp_path: Path) -> None:
    found = check(tmp_path, HELPER.format(call="        _init_weights(self)", ret="b d_in"))
    assert [f.partition(": ")[2] for f in found] == [
        "return of encode(): dim 'd_in' is d_in in x \"b d_in\" but self.d_sae in "
        'x @ self.W + self.b "b self.d_sae" (holds only if d_in == self.d_sae, '
        "and nothing here says they are equal)"
    ]


@pytest.mark.parametrize(
    "call",
    [
        # Built on one path only: on the other the weights are whatever came before.
        pytest.param("        if d_in > 2:\n            _init_weights(self)", id="on-one-path"),
        # The builder gives W a value of its own, of a shape not known, after the function ran.
        pytest.param(
            "        _init_weights(self)\n        self.W = nn.Parameter(torch.load('w.pt'))",
            id="assigned-again-by-the-builder",
        ),
    ],
)
def test_a_function_that_may_not_build_says_nothing(tmp_path: Path, call: str) -> None:
    stats = Stats()
    assert check(tmp_path, HELPER.format(call=call, ret="b d_in"), stats) == []
    assert annotated_relations(stats) == (0, 1)


# A bias of `d_sae` scaled by a column of W's row norms, squeezed: `(d_sae,)` whatever
# `d_sae` is, since where it is 1 the squeeze gives `()`, which broadcasts to `(1,)`.
FOLDED = """\
class SAE(nn.Module):
    def __init__(self, d_in: int, d_sae: int) -> None:
        super().__init__()
        self.W = nn.Parameter(torch.empty(d_sae, d_in))
        self.b = nn.Parameter(torch.zeros(d_sae))
    @torch.no_grad()
    def fold(self) -> None:
        norms = self.W.norm(dim={dim}).unsqueeze(1)
        self.b.data = self.b.data * norms.squeeze()
    def encode(self, x: Float[Tensor, 'b d_in']) -> Float[Tensor, 'b d_in']:
        return x @ self.W.T + self.b
"""


def test_a_vector_scaled_by_squeezed_norms_keeps_its_shape(tmp_path: Path) -> None:
    stats = Stats()
    found = check(tmp_path, FOLDED.format(dim=-1), stats)
    assert [f.partition(": ")[2] for f in found] == [
        "return of encode(): dim 'd_in' is d_in in x \"b d_in\" but d_sae in "
        'x @ self.W.T + self.b "b d_sae" (holds only if d_in == d_sae, '
        "and nothing here says they are equal)"
    ]
    assert annotated_relations(stats) == (1, 1)


def test_a_vector_scaled_by_squeezed_norms_of_another_axis_is_unknown(tmp_path: Path) -> None:
    # The norms are of W's columns, `(d_in, 1)` once unsqueezed: `b * (d_in,)` need not be b's
    # shape, so b is not known after `fold`, and `encode` says nothing.
    stats = Stats()
    assert check(tmp_path, FOLDED.format(dim=0), stats) == []
    assert annotated_relations(stats) == (0, 1)


# A module whose activation a function picks from its config: a layer, or a function that
# it defines and gives back. `{body}` is that function's body.
PICKED = """\
from typing import Callable
def pick(name: str) -> Callable[[Tensor], Tensor]:
    if name == "relu":
        return nn.ReLU()
    def act(x: Tensor) -> Tensor:
{body}
    return act
class SAE(nn.Module):
    def __init__(self, d_in: int, d_sae: int, name: str) -> None:
        super().__init__()
        self.W = nn.Parameter(torch.empty(d_in, d_sae))
        self.act = pick(name)
    def encode(self, x: Float[Tensor, 'b d_in']) -> Float[Tensor, 'b {ret}']:
        return self.act(x @ self.W)
"""


@pytest.mark.parametrize(
    "body",
    [
        pytest.param("        return torch.tanh(torch.relu(x))", id="elementwise"),
        pytest.param("        y = torch.relu(x)\n        return y * (y > 0.5)", id="masked"),
    ],
)
def test_a_function_that_keeps_its_input_shape_is_a_layer_that_does(
    tmp_path: Path, body: str
) -> None:
    stats = Stats()
    assert check(tmp_path, PICKED.format(body=body, ret="d_sae"), stats) == []
    assert annotated_relations(stats) == (1, 1)
    found = check(tmp_path, PICKED.format(body=body, ret="d_in"))
    assert [f.partition(": ")[2] for f in found] == [
        "return of encode(): dim 'd_in' is d_in in x \"b d_in\" but d_sae in "
        'self.act(x @ self.W) "b d_sae" (holds only if d_in == d_sae, '
        "and nothing here says they are equal)"
    ]


@pytest.mark.parametrize(
    "body",
    [
        pytest.param("        return x.sum(-1, keepdim=True)", id="a-reduction"),
        pytest.param("        return x[..., :1]", id="a-slice"),
        pytest.param("        return x.flatten()", id="a-flatten"),
    ],
)
def test_a_function_that_may_change_the_shape_says_nothing(tmp_path: Path, body: str) -> None:
    stats = Stats()
    assert check(tmp_path, PICKED.format(body=body, ret="d_in"), stats) == []
    assert annotated_relations(stats) == (0, 1)


# A function picked by the config among two annotated ones, then called.
CHOSEN = """\
def simple(x: Float[Tensor, "b d"], w: Float[Tensor, "d e"]) -> Float[Tensor, "b e"]:
    return x @ w
def scaled(x: Float[Tensor, "b d"], w: Float[Tensor, "d e"]) -> Float[Tensor, "b e"]:
    return 2 * (x @ w)
class Proj(nn.Module):
    def __init__(self, cfg) -> None:
        super().__init__()
        self.cfg = cfg
    def forward(self, x: Float[Tensor, "b i"], w: Float[Tensor, "i o"]) -> Float[Tensor, "{ret}"]:
        fn = scaled if self.cfg.scaled else simple
        return fn(x, w)
"""


def test_a_function_picked_by_name_is_called_with_its_contract(tmp_path: Path) -> None:
    stats = Stats()
    assert check(tmp_path, CHOSEN.format(ret="b o"), stats) == []
    assert annotated_relations(stats) == (5, 5)
    found = check(tmp_path, CHOSEN.format(ret="b i"))
    assert [f.partition(": ")[2] for f in found] == [
        'return of forward(): dim \'i\' is i in x "b i" but o in fn(x, w) "b o"'
    ]

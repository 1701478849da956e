"""Values whose shape is partly or wholly unknown: annotations that every shape fits
(`Float[Tensor, "..."]`), whose relations `--stats` counts apart, neither checked nor not, and
annotations that fit every shape the value may have, whose relations it counts checked; a stack of tensors of unknown shape, which has their count; and `t if c else None`,
which is t where it is a tensor, as an Optional parameter is."""

from pathlib import Path

import pytest

from shapesafe._static._report import _ANNOTATED, Stats
from shapesafe.shapes import shapes_of
from tests.helpers import static_findings

HEADER = """\
import torch
from jaxtyping import Float
from torch import Tensor
from somewhere import unet


"""


def check(tmp_path: Path, source: str) -> tuple[list[str], Stats]:
    stats = Stats()
    return static_findings(tmp_path, source, HEADER, relative=True, stats=stats), stats


@pytest.mark.parametrize("spec", ["...", "*_"])
def test_a_value_of_unknown_shape_fits_an_annotation_of_any_shape(
    tmp_path: Path, spec: str
) -> None:
    source = (
        f'def step(x: Float[Tensor, "{spec}"]) -> Float[Tensor, "{spec}"]:\n'
        f'    y: Float[Tensor, "{spec}"] = unet(x).sample\n'
        "    return unet(y).sample\n"
        "def outer(z):\n"
        "    return step(unet(z))\n"
    )
    found, stats = check(tmp_path, source)
    assert found == []
    assert stats.shapeless == 3  # the argument, the annotated local and the return
    assert sum(stats.annotated.values()) == 0
    assert sum(stats.unknown[why] for why in _ANNOTATED.values()) == 0
    assert sum(stats.lost.values()) == 0
    assert "; 3 more against annotations of any shape)" in stats.lines()[3]


def test_an_annotation_with_dims_still_needs_the_values_shape(tmp_path: Path) -> None:
    source = (
        'def step(x: Float[Tensor, "b ..."]) -> Float[Tensor, "..."]:\n'
        '    y: Float[Tensor, "b c"] = unet(x).sample\n'
        "    return y\n"
        "def outer(z):\n"
        "    return step(unet(z))\n"
    )
    found, stats = check(tmp_path, source)
    assert found == []
    assert stats.annotated["argument"] == 0
    assert stats.unknown["argument of unknown shape"] == 1
    assert stats.unknown["annotated assignment of unknown shape"] == 1
    assert stats.annotated["return"] == 0
    assert stats.shapeless == 1


def test_a_scalar_annotation_is_not_one_of_any_shape(tmp_path: Path) -> None:
    source = 'def loss(x) -> Float[Tensor, ""]:\n    return unet(x).sample\n'
    found, stats = check(tmp_path, source)
    assert found == []
    assert stats.annotated["return"] == 0
    assert stats.unknown["return value of unknown shape"] == 1


def test_a_wrong_shape_against_a_shaped_annotation_is_still_found(tmp_path: Path) -> None:
    source = (
        'def step(x: Float[Tensor, "..."]) -> Float[Tensor, "b c"]:\n'
        "    return torch.ones(2, 3, 4)\n"
    )
    found, _ = check(tmp_path, source)
    assert len(found) == 1 and "return of step()" in found[0]


def test_a_union_with_an_alternative_of_any_shape_is_counted_apart(tmp_path: Path) -> None:
    source = (
        'def step(x: Float[Tensor, "b c"] | Float[Tensor, "..."]) -> None:\n'
        "    pass\n"
        "def outer(z):\n"
        "    step(unet(z))\n"
    )
    found, stats = check(tmp_path, source)
    assert found == []
    assert stats.annotated["argument"] == 0
    assert stats.unknown["argument of unknown shape"] == 0
    assert stats.shapeless == 1


def test_a_tuple_of_any_shapes_is_counted_apart_and_one_with_dims_is_not(tmp_path: Path) -> None:
    anything = 'tuple[Float[Tensor, "..."], Float[Tensor, "..."]]'
    source = (
        f"def both(z) -> {anything}:\n"
        "    return unet(z)\n"
        'def one(z) -> tuple[Float[Tensor, "..."], Float[Tensor, "b c"]]:\n'
        "    return unet(z)\n"
    )
    found, stats = check(tmp_path, source)
    assert found == []
    assert stats.annotated["return"] == 0
    assert stats.shapeless == 1
    assert stats.unknown["return value of unknown shape"] == 1


CONTRACT = """\
def enc(x: Float[Tensor, "... d_in"]) -> Float[Tensor, "... d_sae"]:
    return unet(x).sample
"""


@pytest.mark.parametrize(
    ("source", "checked"),
    [
        pytest.param(
            'def f(x: Float[Tensor, "b d_in"]) -> Float[Tensor, "*lead d_out"]:\n'
            "    return enc(x)\n",
            True,
            id="return-names-free",
        ),
        pytest.param(
            'def f(x: Float[Tensor, "b d_in"]) -> Float[Tensor, "b d_out"]:\n    return enc(x)\n',
            False,
            id="return-name-of-a-parameter",
        ),
        pytest.param(
            'def f(x: Float[Tensor, "b d_in"]) -> Float[Tensor, "... a b c"]:\n    return enc(x)\n',
            False,
            id="return-of-more-axes-than-known",
        ),
        pytest.param(
            'def f(x: Float[Tensor, "b d_in"]) -> Float[Tensor, "... 3"]:\n    return enc(x)\n',
            False,
            id="return-of-a-literal-size",
        ),
        pytest.param(
            'def f(x: Float[Tensor, "b d_in"]) -> Float[Tensor, "... n n"]:\n    return enc(x)\n',
            False,
            id="return-name-twice",
        ),
    ],
)
def test_a_return_of_unknown_sizes_fits_names_it_alone_binds(
    tmp_path: Path, source: str, checked: bool
) -> None:
    found, stats = check(tmp_path, CONTRACT + source)
    assert found == []
    assert stats.annotated["return"] == checked  # enc's own return is unknown


def test_a_return_of_unknown_sizes_does_not_fit_a_size_the_class_holds(tmp_path: Path) -> None:
    source = CONTRACT + (
        "class SAE(torch.nn.Module):\n"
        "    def __init__(self, d_sae: int) -> None:\n"
        "        super().__init__()\n"
        "        self.d_sae = d_sae\n"
        '    def encode(self, x: Float[Tensor, "b d_in"]) -> Float[Tensor, "... d_sae"]:\n'
        "        return enc(x)\n"
    )
    found, stats = check(tmp_path, source)
    assert found == []
    assert stats.annotated["return"] == 0
    assert stats.unknown["return value of unknown shape"] == 2


@pytest.mark.parametrize(
    ("params", "checked"),
    [
        pytest.param('a: Float[Tensor, "... d_sae"]', True, id="alone"),
        pytest.param(
            'a: Float[Tensor, "... d_sae"], w: Float[Tensor, "d_sae k"]', False, id="shared"
        ),
        pytest.param(
            'a: Float[Tensor, "... d_sae"], w: Float[Tensor, "2*d_sae"]', False, id="expr"
        ),
    ],
)
def test_an_argument_of_unknown_sizes_fits_names_it_alone_binds(
    tmp_path: Path, params: str, checked: bool
) -> None:
    count = params.count(": ")
    source = CONTRACT + (
        f"def dec({params}) -> None:\n"
        "    pass\n"
        'def f(x: Float[Tensor, "b d_in"], w) -> None:\n'
        f"    dec({', '.join(['enc(x)', 'w'][:count])})\n"
    )
    found, stats = check(tmp_path, source)
    assert found == []
    assert stats.annotated["argument"] == 1 + checked, source  # x into enc, enc(x) into dec


@pytest.mark.parametrize(
    ("stacked", "returns", "found"),
    [
        pytest.param("torch.stack([unet(z), unet(z), unet(z)])", "k b", 0, id="three"),
        pytest.param("torch.stack([unet(z), unet(z), unet(z)], dim=-1)", "b k", 0, id="last"),
        pytest.param("torch.stack([unet(z), unet(z), unet(z)])", "2 b", 1, id="not-two"),
        pytest.param("torch.stack((unet(z), unet(z)), dim=-1)", "b 3", 1, id="last-not-three"),
    ],
)
def test_a_stack_of_tensors_of_unknown_shape_has_their_count(
    tmp_path: Path, stacked: str, returns: str, found: int
) -> None:
    source = f'def f(z) -> Float[Tensor, "{returns}"]:\n    return {stacked}\n'
    findings, stats = check(tmp_path, source)
    assert len(findings) == found
    assert found or stats.annotated["return"] == 1


@pytest.mark.parametrize(
    ("mask", "found"),
    [
        ('einops.repeat(m, "b p -> b 1 1 p") if m is not None else None', 0),
        ('None if m is None else einops.repeat(m, "b p -> b 1 1 p")', 0),
        ('einops.repeat(m, "b p -> b 1 p") if m is not None else None', 1),
    ],
)
def test_a_tensor_or_none_is_the_tensor_where_it_is_one(
    tmp_path: Path, mask: str, found: int
) -> None:
    source = (
        "import einops\n"
        "from typing import Optional\n"
        'def attend(x: Float[Tensor, "b p d"], mask: Optional[Float[Tensor, "b 1 1 p"]]) -> None:\n'
        "    pass\n"
        'def f(x: Float[Tensor, "b p d"], m: Optional[Float[Tensor, "b p"]]) -> None:\n'
        f"    mask = {mask}\n"
        "    attend(x, mask)\n"
    )
    findings, stats = check(tmp_path, source)
    assert len(findings) == found
    assert found or stats.annotated["argument"] == 2


def test_a_number_or_none_is_not_the_number(tmp_path: Path) -> None:
    # `x.sum(dim=None)` sums over every axis: a dim that may be None is not the number.
    path = tmp_path / "dims.py"
    path.write_text(
        HEADER + 'def f(x: Float[Tensor, "n d"], c: bool):\n'
        "    dim = 0 if c else None\n"
        "    y = x.sum(dim=dim)\n"
        "    return y\n"
    )
    shapes = {b.name: b.shape for b in shapes_of(path)}
    assert shapes["y"] is None

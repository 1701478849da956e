"""Annotations that every shape fits (`Float[Tensor, "..."]`): their relations hold whatever
the value's shape, so `--stats` counts them checked even where the value's shape is unknown,
while an annotation that says something of the shape still needs the value's."""

from pathlib import Path

import pytest

from shapesafe._static._report import Stats
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
    assert stats.annotated["argument"] == 1
    assert stats.annotated["return"] == 1
    assert stats.annotated["annotated assignment"] == 1
    assert sum(stats.lost.values()) == 0


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
    assert stats.annotated["return"] == 1


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


def test_a_union_with_an_alternative_of_any_shape_is_checked(tmp_path: Path) -> None:
    source = (
        'def step(x: Float[Tensor, "b c"] | Float[Tensor, "..."]) -> None:\n'
        "    pass\n"
        "def outer(z):\n"
        "    step(unet(z))\n"
    )
    found, stats = check(tmp_path, source)
    assert found == []
    assert stats.annotated["argument"] == 1


def test_a_tuple_of_any_shapes_is_checked_and_one_with_dims_is_not(tmp_path: Path) -> None:
    anything = 'tuple[Float[Tensor, "..."], Float[Tensor, "..."]]'
    source = (
        f"def both(z) -> {anything}:\n"
        "    return unet(z)\n"
        'def one(z) -> tuple[Float[Tensor, "..."], Float[Tensor, "b c"]]:\n'
        "    return unet(z)\n"
    )
    found, stats = check(tmp_path, source)
    assert found == []
    assert stats.annotated["return"] == 1
    assert stats.unknown["return value of unknown shape"] == 1

"""The static checker on calls that give an instance of a class it reads: a return annotated
with that class, and a `forward(*args, **kwargs)` that hands its call to another method."""

from pathlib import Path

import pytest

from tests.helpers import static_findings

HEADER = """\
from typing import Any
import torch
from jaxtyping import Float
from torch import Tensor, nn
"""

SAMPLER = """\
class Samples:
    weights: Float[Tensor, "n s 1"]
class Sampler(nn.Module):
    def generate(self, *args, **kwargs) -> Any:
        raise NotImplementedError
    def forward(self, *args, **kwargs) -> Any:
{forward}
class UniformSampler(Sampler):
    def generate(self, rays: Float[Tensor, "n 3"], s: int) -> Samples:
        return make_samples(rays, s)
class Model(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.sampler = UniformSampler()
    def render(self, rays: Float[Tensor, "n 3"]) -> Float[Tensor, "n s 2"]:
        samples = self.sampler(rays, 8)
        return samples.weights
"""


def check(tmp_path: Path, source: str) -> list[str]:
    return static_findings(tmp_path, source, HEADER, relative=True)


def test_a_forward_that_hands_its_call_on_gives_what_that_method_returns(
    tmp_path: Path,
) -> None:
    forward = "        return self.generate(*args, **kwargs)"
    assert check(tmp_path, SAMPLER.format(forward=forward)) == [
        '17: return of render(): dim \'2\' is 1 in samples.weights "n s 1", expected 2 ("n s 2")'
    ]


@pytest.mark.parametrize(
    "forward",
    [
        pytest.param("        return self.generate(*args[1:], **kwargs)", id="other-arguments"),
        pytest.param(
            "        out = self.generate(*args, **kwargs)\n        return out",
            id="more-than-a-call",
        ),
        pytest.param("        return self.generate(*args)", id="keywords-left-out"),
    ],
)
def test_a_forward_that_does_more_is_read_as_its_own_body(tmp_path: Path, forward: str) -> None:
    # Its body calls `Sampler.generate` on `self`, whose return is not known.
    assert check(tmp_path, SAMPLER.format(forward=forward)) == []


def test_a_return_annotated_with_a_class_gives_an_instance(tmp_path: Path) -> None:
    source = (
        "class Frustums:\n"
        "    starts: Float[Tensor, '*bs 1']\n"
        "def frustums(x) -> Frustums:\n"
        "    return build(x)\n"
        "def depth(x) -> Float[Tensor, '*bs 3']:\n"
        "    return frustums(x).starts\n"
        "def same(x) -> Float[Tensor, '*bs 1']:\n"
        "    return frustums(x).starts\n"
    )
    assert check(tmp_path, source) == [
        '6: return of depth(): dim \'3\' is 1 in frustums(x).starts "*bs 1", expected 3 ("*bs 3")'
    ]


@pytest.mark.parametrize(
    ("returns", "expected"),
    [
        pytest.param(
            "Tuple[Frustums, List]",
            ['8: return of depth(): dim \'3\' is 1 in f.starts "*bs 1", expected 3 ("*bs 3")'],
            id="a-tuple-of-an-instance-and-a-list",
        ),
        # How many instances the tuple holds is not known: not a finding.
        pytest.param("Tuple[Frustums, ...]", [], id="a-tuple-of-any-length"),
    ],
)
def test_a_tuple_return_annotated_with_a_class_gives_an_instance(
    tmp_path: Path, returns: str, expected: list[str]
) -> None:
    source = (
        "from typing import List, Tuple\n"
        "class Frustums:\n"
        "    starts: Float[Tensor, '*bs 1']\n"
        f"def frustums(x) -> {returns}:\n"
        "    return build(x)\n"
        "def depth(x) -> Float[Tensor, '*bs 3']:\n"
        "    f, rest = frustums(x)\n"
        "    return f.starts\n"
    )
    assert check(tmp_path, source) == expected


@pytest.mark.parametrize(
    ("size", "expected"),
    [
        pytest.param(
            "4",
            ['12: return of render(): dim \'4\' is 3 in mesh.v_pos "nv 3", expected 4 ("nv 4")'],
            id="a-wrong-size",
        ),
        pytest.param("3", [], id="the-right-size"),
    ],
)
def test_a_property_annotated_with_a_class_gives_an_instance(
    tmp_path: Path, size: str, expected: list[str]
) -> None:
    # The getter's body reads an object the checker does not know; its annotation says
    # what it gives, as a method so annotated does when called.
    source = (
        "class Mesh:\n"
        "    v_pos: Float[Tensor, 'nv 3']\n"
        "class Geometry(nn.Module):\n"
        "    def isosurface(self) -> Mesh:\n"
        "        raise NotImplementedError\n"
        "class Renderer(nn.Module):\n"
        "    @property\n"
        "    def geometry(self) -> Geometry:\n"
        "        return self.holder.geometry\n"
        f"    def render(self) -> Float[Tensor, 'nv {size}']:\n"
        "        mesh = self.geometry.isosurface()\n"
        "        return mesh.v_pos\n"
    )
    assert check(tmp_path, source) == expected

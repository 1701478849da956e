"""A parameter annotated as a Union of one tensor and types that are not tensors
(`Union[str, List[str], Int[Tensor, "b p"]]`) holds the tensor where an `isinstance` test
has ruled the other types out, with its annotation's shape."""

from pathlib import Path

import pytest

from shapesafe._static._report import Stats
from tests.helpers import annotated_relations, static_findings

HEADER = """\
from typing import List, Union

import torch
from jaxtyping import Float, Int
from torch import Tensor


def embed(t: Int[Tensor, "b p"]) -> Float[Tensor, "b p d"]: ...


"""


def check(tmp_path: Path, source: str) -> tuple[list[str], Stats]:
    stats = Stats()
    return static_findings(tmp_path, source, HEADER, relative=True, stats=stats), stats


@pytest.mark.parametrize(
    "test",
    [
        "isinstance(x, str) or isinstance(x, list)",
        "isinstance(x, (str, list))",
    ],
)
@pytest.mark.parametrize(
    ("want", "found"),
    [
        pytest.param("b p d", [], id="right"),
        pytest.param(
            "b d",
            ['4: return of f(): embed(x) "b p ?d" has 3 dims, expected 2 for \'return\' "b d"'],
            id="wrong",
        ),
    ],
)
def test_the_tensor_where_the_other_types_are_ruled_out(
    tmp_path: Path, test: str, want: str, found: list[str]
) -> None:
    source = (
        f"def f(x: Union[str, List[str], Int[Tensor, 'b p']]) -> Float[Tensor, '{want}']:\n"
        f"    if {test}:\n"
        "        raise ValueError(x)\n"
        "    return embed(x)\n"
    )
    got, stats = check(tmp_path, source)
    assert got == found
    assert annotated_relations(stats) == (2, 2)


def test_a_type_left_over_or_a_parameter_bound_again_stays_unknown(tmp_path: Path) -> None:
    source = (
        "def f(x: Union[str, List[str], Int[Tensor, 'b']]) -> None:\n"
        "    if isinstance(x, str):\n"
        "        return\n"
        "    embed(x)\n"
        "def g(x: Union[str, Int[Tensor, 'b']]) -> None:\n"
        "    x = torch.zeros(2, 3)\n"
        "    if isinstance(x, str):\n"
        "        return\n"
        "    embed(x)\n"
    )
    found, stats = check(tmp_path, source)
    assert found == []
    assert annotated_relations(stats) == (1, 2)

"""The static checker on tensors made from Python data: `torch.tensor` of lists whose items
are numbers, one-value tensors or values the checker does not know next to a number (torch
takes no list that mixes numbers with anything else), and of tuples whose length the code
declares or writes (`Tuple[float, float, float]`, `[r] * 3`)."""

from pathlib import Path

import numpy as np
import pytest
import torch

from shapesafe._static._report import Stats
from tests.helpers import annotated_relations
from tests.test_static_attributes import check

OFFSETS = """\
def offsets(points: Float[Tensor, "n 3"], cfg: object) -> Float[Tensor, "n {k} 3"]:
    eps = cfg.eps
    steps = torch.as_tensor(
        [[eps, 0.0, 0.0], [-eps, 0.0, 0.0], [0.0, eps, 0.0], [0.0, -eps, 0.0]]
    ).to(points)
    return points[:, None, :] + steps
"""


def test_a_list_with_a_number_in_it_is_a_list_of_numbers(tmp_path: Path) -> None:
    stats = Stats()
    found = check(tmp_path, OFFSETS.format(k=6), stats)
    assert found == [
        "6: return of offsets(): dim '6' is 4 in points[:, None, :] + steps \"n 4 3\", "
        'expected 6 ("n 6 3")'
    ]
    assert annotated_relations(stats) == (1, 1)
    assert check(tmp_path, OFFSETS.format(k=4)) == []


def test_torch_rejects_a_list_that_mixes_numbers_and_lists() -> None:
    # Why an item the checker does not know, next to a number, is a number.
    with pytest.raises(TypeError, match="not a sequence"):
        torch.tensor([[1.0, 2.0], 3.0])
    assert torch.tensor([torch.tensor(1.0), 2.0]).shape == (2,)


SKEW = """\
def skew(v: Float[Tensor, "3"]) -> Float[Tensor, "{shape}"]:
    m = torch.Tensor([[0, -v[2], v[1]], [v[2], 0, -v[0]], [-v[1], v[0], 0]])
    return torch.eye(3) + m
"""


def test_one_value_tensors_in_a_list_are_numbers(tmp_path: Path) -> None:
    stats = Stats()
    assert check(tmp_path, SKEW.format(shape="3 3"), stats) == []
    assert annotated_relations(stats) == (1, 1)
    found = check(tmp_path, SKEW.format(shape="3"))
    assert len(found) == 1 and "has 2 dims, expected 1" in found[0]


BOX = """\
def box(lo: Tuple[float, float, float], hi: Tuple[float, float, float], r: int) -> Float[Tensor, "{shape}"]:
    aabb = torch.tensor([lo, hi])
    dims = torch.tensor([r] * 3)
    return aabb / dims
"""


def test_declared_tuples_and_repeated_lists_have_their_length(tmp_path: Path) -> None:
    source = "from typing import Tuple\n\n\n" + BOX
    stats = Stats()
    assert check(tmp_path, source.format(shape="2 3"), stats) == []
    assert annotated_relations(stats) == (1, 1)
    found = check(tmp_path, source.format(shape="3 2"))
    assert found == ['7: return of box(): dim \'3\' is 2 in aabb / dims "2 3", expected 3 ("3 2")']


def test_an_empty_list_is_one_axis_of_size_0(tmp_path: Path) -> None:
    source = 'def f() -> Float[Tensor, "b s d"]:\n    return torch.tensor([])\n'
    found = check(tmp_path, source)
    assert found == [
        '2: return of f(): torch.tensor([]) "0" has 1 dims, expected 3 for \'return\' "b s d"'
    ]
    assert torch.tensor([]).shape == (0,)


@pytest.mark.parametrize(
    "data",
    [
        "[a, b]",  # two values of any kind: lists, arrays, tensors
        "[[a, 1.0], b]",  # rows not known to be of one length
        "xs",  # a list of unknown length
    ],
)
def test_data_of_unknown_shape_is_unknown(tmp_path: Path, data: str) -> None:
    source = (
        'def f(a: object, b: object, xs: list) -> Float[Tensor, "2"]:\n'
        f"    return torch.tensor({data})\n"
    )
    stats = Stats()
    assert check(tmp_path, source, stats) == []
    assert annotated_relations(stats) == (0, 1)


ARRAY = """\
import numpy as np


def to_tensor(a: Float[np.ndarray, "h w 3"]) -> Float[Tensor, "{shape}"]:
    t = torch.from_numpy(a.astype(np.float32) / 255.0)
    return {made}.unsqueeze(0)
"""


@pytest.mark.parametrize("made", ["t", "torch.tensor(a)", "torch.FloatTensor(a)"])
def test_a_tensor_made_from_an_array_has_its_shape(tmp_path: Path, made: str) -> None:
    stats = Stats()
    assert check(tmp_path, ARRAY.format(shape="1 h w 3", made=made), stats) == []
    assert annotated_relations(stats) == (1, 1)
    found = check(tmp_path, ARRAY.format(shape="1 3 h w", made=made))
    assert len(found) == 1 and "return of to_tensor(): dim" in found[0]


def test_torch_makes_a_tensor_of_an_arrays_shape() -> None:
    a = np.ones((2, 3), dtype=np.float32)
    for make in (torch.from_numpy, torch.tensor, torch.as_tensor, torch.FloatTensor):
        assert make(a).shape == (2, 3)

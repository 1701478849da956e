"""`a.repeat(n, axis)` of a numpy array repeats along one axis, where torch's `t.repeat(*sizes)`
tiles every axis: the checker reads a `repeat` of what may be an array (made by a numpy call,
bound to one, or a parameter annotated `np.ndarray`) as unknown, and a tensor's as torch's."""

from pathlib import Path

import numpy as np
import pytest
import torch

from tests.helpers import static_findings

HEADER = """\
import numpy as np
import torch
from jaxtyping import Float
from torch import Tensor


"""

GRID = """\
def grid(depth: np.ndarray, h: int, w: int) -> np.ndarray:
    xs = np.linspace(-1.0, 1.0, w)
    xs = xs.reshape(1, w).repeat(h, 0)[:, :, None]
    ys = np.linspace(-1.0, 1.0, h).reshape(h, 1).repeat(w, 1)[:, :, None]
    return np.concatenate([xs, ys], 2)
"""


def test_numpy_repeat_along_an_axis_is_not_read_as_torch_repeat(tmp_path: Path) -> None:
    assert static_findings(tmp_path, GRID, HEADER, relative=True) == []


def test_numpy_and_torch_repeat_differ_as_the_rule_assumes() -> None:
    row = np.zeros((1, 5))
    assert row.repeat(3, 0).shape == (3, 5)
    assert torch.zeros(1, 5).repeat(3, 1).shape == (3, 5)
    assert torch.zeros(1, 5).repeat(3, 0).shape == (3, 0)


@pytest.mark.parametrize("wrong", ["x.repeat(1, 2)", "x.repeat(2, 1)"])
def test_a_tensors_repeat_is_still_read_as_torch_repeat(tmp_path: Path, wrong: str) -> None:
    source = f'def tiled(x: Float[Tensor, "b d"]) -> Float[Tensor, "b d"]:\n    return {wrong}\n'
    found = static_findings(tmp_path, source, HEADER, relative=True)
    assert len(found) == 1
    assert found[0].startswith("2: return of tiled(): ")

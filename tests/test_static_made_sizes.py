"""The static checker on tensors made from sizes that are not spelled out as ints: the legacy
typed constructors (`torch.LongTensor(1)` is one axis of size 1, not a number), and a shape
held in a `tuple[int, ...]` that `__init__` was given (any number of axes, not one)."""

import re
from pathlib import Path

import torch

from tests.test_static_attributes import check


def test_legacy_constructor_takes_sizes(tmp_path: Path) -> None:
    source = (
        "def seed() -> Float[Tensor, '']:\n"
        "    return torch.LongTensor(1).random_(0, 2**31 - 1)[0]\n"
        "\n"
        "def grid() -> Float[Tensor, '2 3']:\n"
        "    return torch.FloatTensor(2, 3)\n"
    )
    assert check(tmp_path, source) == []
    # torch agrees: one axis of size 1, so `[0]` leaves a value of no axes.
    assert torch.LongTensor(1).random_(0, 7)[0].shape == ()
    assert torch.FloatTensor(2, 3).shape == (2, 3)


def test_legacy_constructor_sizes_still_checked(tmp_path: Path) -> None:
    source = "def grid() -> Float[Tensor, '2 3']:\n    return torch.FloatTensor(3, 2)\n"
    found = check(tmp_path, source)
    assert len(found) == 1
    assert re.search(r"^2: return of grid\(\): .*torch\.FloatTensor\(3, 2\)", found[0])


def test_data_constructor_keeps_its_literal_shape(tmp_path: Path) -> None:
    source = (
        "def three() -> Float[Tensor, '3']:\n"
        "    return torch.FloatTensor([1.0, 2.0, 3.0])\n"
        "\n"
        "def scalar() -> Float[Tensor, '']:\n"
        "    return torch.tensor(1)\n"
    )
    assert check(tmp_path, source) == []


ENV = """\
class Env(nn.Module):
    def __init__(self, state_shape: {ann}) -> None:
        super().__init__()
        self.state_shape = state_shape

    def reset(self) -> Float[Tensor, "c h w"]:
        return torch.randn(self.state_shape)
"""


def test_tuple_of_any_length_given_to_init_is_no_single_size(tmp_path: Path) -> None:
    assert check(tmp_path, ENV.format(ann="tuple[int, ...]")) == []
    assert (
        check(
            tmp_path,
            ENV.format(ann="Tuple[int, ...]").replace(
                "class", "from typing import Tuple\nclass", 1
            ),
        )
        == []
    )


def test_tuple_of_two_sizes_given_to_init_is_two_axes(tmp_path: Path) -> None:
    found = check(tmp_path, ENV.format(ann="tuple[int, int]"))
    assert len(found) == 1
    assert re.search(r"^7: return of reset\(\): .* has 2 dims, expected 3", found[0])


def test_int_given_to_init_is_still_one_size(tmp_path: Path) -> None:
    found = check(tmp_path, ENV.format(ann="int"))
    assert len(found) == 1
    assert re.search(r"^7: return of reset\(\): .* has 1 dims, expected 3", found[0])

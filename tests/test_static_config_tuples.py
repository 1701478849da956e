"""The static checker on `*self.cfg.grid_size`, where the class declares `cfg: Config` and
the config declares `grid_size: Tuple[int, int, int]`: so many sizes, each unknown; nothing
where the field is a tuple of any length, or where a method sets it."""

from pathlib import Path

import torch

from shapesafe._static._report import Stats
from tests.helpers import annotated_relations
from tests.test_static_attributes import check

GRID = """\
from dataclasses import dataclass, field
from typing import Tuple

@dataclass
class Outer:
    size: {outer}

class Grid(nn.Module):
    @dataclass
    class Config:
        n: int = 3
        grid_size: {ann} = field(default_factory=lambda: (8, 8, 8))

    cfg: Config
    other: Outer

    def __init__(self, cfg: Config, other: Outer) -> None:
        super().__init__()
        self.cfg = cfg
        self.other = other
        self.configure()

    def configure(self) -> None:
        self.grid_size = self.cfg.grid_size
        self.grid = nn.Parameter(torch.zeros(1, self.cfg.n, *self.grid_size))
        self.plane = nn.Parameter(torch.zeros(2, *self.other.size))
{extra}
    def sample(self, grid: Float[Tensor, "1 f d h w"]) -> Float[Tensor, "1 f d h w"]:
        return grid

    def flat(self, plane: Float[Tensor, "2 h w"]) -> Float[Tensor, "2 h w"]:
        return plane

    def forward(self) -> Float[Tensor, "1 f d h"]:
        self.flat(self.plane)
        return self.sample(self.grid)
"""

TUPLE3 = "Tuple[int, int, int]"
TUPLE2 = "tuple[int, int]"


def test_a_config_tuple_of_ints_splices_so_many_sizes(tmp_path: Path) -> None:
    stats = Stats()
    found = check(tmp_path, GRID.format(ann=TUPLE3, outer=TUPLE2, extra=""), stats)
    # The grid has rank 5: returned where rank 4 is declared, a finding.
    assert found == [
        '36: return of forward(): self.sample(self.grid) "1 self.cfg.n ? ? ?" has 5 dims, '
        "expected 4 for 'return' \"1 f d h\" (? is an unknown size)"
    ]
    assert annotated_relations(stats) == (5, 5)
    grid = torch.zeros(1, 3, *(8, 8, 8))
    assert grid.ndim == 5


def test_sizes_of_a_config_tuple_are_unknown_not_its_defaults(tmp_path: Path) -> None:
    # The default (8, 8, 8) says nothing of the config built: its sizes are not 8, and not
    # other than 8 either.
    source = GRID.format(ann=TUPLE3, outer=TUPLE2, extra="").replace(
        'grid: Float[Tensor, "1 f d h w"]) -> Float[Tensor, "1 f d h w"]',
        'grid: Float[Tensor, "1 f 8 8 8"]) -> Float[Tensor, "1 f 8 8 8"]',
    )
    assert check(tmp_path, source) == [
        '36: return of forward(): self.sample(self.grid) "1 self.cfg.n 8 8 8" has 5 dims, '
        "expected 4 for 'return' \"1 f d h\""
    ]


def test_a_tuple_of_any_length_or_a_field_set_again_is_unknown(tmp_path: Path) -> None:
    # Only the relations of sample's own return, whatever its argument, are checked.
    declared = (
        '36: return of forward(): self.sample(self.grid) "1 ?f ?d ?h ?w" has 5 dims, '
        "expected 4 for 'return' \"1 f d h\""
    )
    stats = Stats()
    source = GRID.format(ann="Tuple[int, ...]", outer="list[int]", extra="")
    assert check(tmp_path, source, stats) == [declared]
    assert annotated_relations(stats) == (3, 5)
    stats = Stats()
    extra = "\n    def resize(self) -> None:\n        self.cfg.grid_size = (4, 4)\n"
    found = check(tmp_path, GRID.format(ann=TUPLE3, outer="list[int]", extra=extra), stats)
    assert found == [declared.replace("36: ", "39: ")]
    assert annotated_relations(stats) == (3, 5)


RANGES = """\
from dataclasses import dataclass
from typing import Any, Tuple

@dataclass
class CameraConfig:
    batch_size: int = 4
    fovy_range: {ann} = (40.0, 70.0)

class Cameras:
    def __init__(self, cfg: Any) -> None:
        self.cfg: CameraConfig = cfg
        self.fovy_range = self.cfg.fovy_range

    def sample(self, n: int) -> Float[Tensor, "n"]:
        fovy: Float[Tensor, "n"] = (
            torch.rand(n) * (self.fovy_range[1] - self.fovy_range[0]) + self.fovy_range[0]
        )
        wide: Float[Tensor, "n 2"] = torch.rand(n) * self.cfg.fovy_range[1]
        return fovy
"""


def test_a_config_tuple_of_floats_holds_numbers(tmp_path: Path) -> None:
    stats = Stats()
    found = check(tmp_path, RANGES.format(ann="Tuple[float, float]"), stats)
    assert found == [
        '18: wide: torch.rand(n) * self.cfg.fovy_range[1] "n" has 1 '
        "dims, expected 2 for 'wide' \"n 2\""
    ]
    assert annotated_relations(stats) == (3, 3)
    fovy = torch.rand(4) * (70.0 - 40.0) + 40.0
    assert fovy.shape == (4,)


def test_a_config_field_of_another_type_holds_nothing_known(tmp_path: Path) -> None:
    stats = Stats()
    assert check(tmp_path, RANGES.format(ann="Any"), stats) == []
    assert annotated_relations(stats) == (1, 3)

"""A call through a base class reaches an override. Where an abstract method's overrides take
other parameters than it declares, its contract is not what runs; where they take the same
ones, the abstract contract is checked as any method's."""

from pathlib import Path

from shapesafe._static import check_file

BASE = """\
from abc import ABC, abstractmethod
from jaxtyping import Float, Int64
from torch import Tensor


class Sampler(ABC):
    @abstractmethod
    def sample(
        self, extrinsics: Float[Tensor, "view 4 4"], intrinsics: Float[Tensor, "view 3 3"]
    ) -> Int64[Tensor, " target"]:
        pass
"""

SUB = """\
from torch import Tensor
from .base import Sampler


class Refine(Sampler):
    def sample(self, extrinsics: Tensor, {second}: Tensor) -> Tensor:
        return {second}[:2]
"""

USER = """\
from jaxtyping import Float, Int64
from torch import Tensor
from .base import Sampler


class Data:
    sampler: Sampler
    refine: Sampler

    def __init__(self, sampler: Sampler, refine: Sampler) -> None:
        self.sampler = sampler
        self.refine = refine

    def load(
        self, extrinsics: Float[Tensor, "view 4 4"], intrinsics: Float[Tensor, "view 3 3"]
    ) -> Int64[Tensor, " r"]:
        target = self.sampler.sample(extrinsics, intrinsics)
        return self.refine.sample(extrinsics, target)
"""


def _project(tmp_path: Path, second: str) -> Path:
    pkg = tmp_path / "pkg"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "base.py").write_text(BASE)
    (pkg / "refine.py").write_text(SUB.format(second=second))
    (pkg / "user.py").write_text(USER)
    return pkg / "user.py"


def test_overrides_that_take_other_parameters_leave_the_call_unchecked(tmp_path: Path) -> None:
    found = check_file(_project(tmp_path, "target_indices"))
    assert [f.message for f in found] == []


def test_overrides_that_agree_keep_the_abstract_contract(tmp_path: Path) -> None:
    found = [f.message for f in check_file(_project(tmp_path, "intrinsics"))]
    assert len(found) == 1
    assert "'intrinsics' \"view 3 3\"" in found[0]
    assert "sample(extrinsics, target)" in found[0]

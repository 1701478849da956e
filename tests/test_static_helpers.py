"""The static checker reads an unannotated helper's return shape from its body, with the
shapes that the caller gives its parameters: in the same file, or imported from another
checked file."""

from pathlib import Path

from shapesafe._static import check_file

HEAD = """\
import torch
from jaxtyping import Float
from torch import Tensor
"""

DOT = """
def dot(x, y):
    return torch.sum(x * y, -1, keepdim=True)
"""


def check(path: Path) -> list[str]:
    return [f.message for f in check_file(path)]


def write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def test_a_helper_in_the_same_file_gives_its_bodys_shape(tmp_path: Path) -> None:
    path = write(
        tmp_path / "m.py",
        HEAD
        + DOT
        + """

def wrong(a: Float[Tensor, "n 3"], b: Float[Tensor, "n 3"]) -> Float[Tensor, "n"]:
    return dot(a, b)


def right(a: Float[Tensor, "n 3"], b: Float[Tensor, "n 3"]) -> Float[Tensor, "n 1"]:
    return dot(a, b)
""",
    )
    assert check(path) == [
        'return of wrong(): dot(a, b) "n 1" has 2 dims, expected 1 for \'return\' "n"'
    ]


def test_an_imported_helper_gives_its_bodys_shape(tmp_path: Path) -> None:
    pkg = tmp_path / "pkg"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    write(pkg / "ops.py", "import torch\n" + DOT)
    path = write(
        pkg / "user.py",
        HEAD
        + """
from pkg import ops
from pkg.ops import dot


def f(a: Float[Tensor, "n 3"], b: Float[Tensor, "n 3"]) -> Float[Tensor, "n"]:
    return dot(a, b)


def g(a: Float[Tensor, "n 3"], b: Float[Tensor, "n 3"]) -> Float[Tensor, "n 1"]:
    return ops.dot(a, b)
""",
    )
    assert check(path) == [
        'return of f(): dot(a, b) "n 1" has 2 dims, expected 1 for \'return\' "n"'
    ]


def test_a_method_without_annotations_on_self(tmp_path: Path) -> None:
    path = write(
        tmp_path / "m.py",
        HEAD
        + """

class Renderer:
    def alpha(self, sdf, dists):
        return torch.exp(-sdf * dists)

    def render(
        self, sdf: Float[Tensor, "n 1"], dists: Float[Tensor, "n 1"]
    ) -> Float[Tensor, "n"]:
        return self.alpha(sdf, dists)
""",
    )
    assert check(path) == [
        'return of render(): self.alpha(sdf, dists) "n 1" has 2 dims, expected 1 for \'return\' "n"'
    ]


def test_a_module_made_by_a_method_is_applied(tmp_path: Path) -> None:
    # `self.act = self.make_act()` with `return nn.ReLU()`: the attribute is a ReLU.
    path = write(
        tmp_path / "m.py",
        HEAD
        + """from torch import nn


class Encoder(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.act = self.make_act()

    def make_act(self):
        return nn.ReLU()

    def forward(self, x: Float[Tensor, "b d"]) -> Float[Tensor, "b"]:
        return self.act(x)
""",
    )
    assert check(path) == [
        'return of forward(): self.act(x) "b d" has 2 dims, expected 1 for \'return\' "b"'
    ]


def test_a_cast_picks_among_the_modules_a_factory_may_make(tmp_path: Path) -> None:
    # A factory gives one of two modules; `cast(Wide, ...)` says which, and its attribute
    # has a shape.
    path = write(
        tmp_path / "m.py",
        HEAD
        + """from typing import cast

from torch import nn


class Wide(nn.Module):
    w: Float[Tensor, "d h"]


class Narrow(nn.Module):
    v: Float[Tensor, "d"]


def make(wide: bool):
    if wide:
        return Wide()
    return Narrow()


class Block(nn.Module):
    def __init__(self, wide: bool) -> None:
        super().__init__()
        self.mlp = make(wide)

    def weight(self) -> Float[Tensor, "d"]:
        return cast(Wide, self.mlp).w
""",
    )
    assert check(path) == [
        'return of weight(): cast(Wide, self.mlp).w "d h" has 2 dims, expected 1 for \'return\' "d"'
    ]

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
        'return of render(): self.alpha(sdf, dists) "n 1" has 2 dims, expected 1 for '
        "'return' \"n\""
    ]

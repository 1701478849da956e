"""The static checker reads jaxtyping's names where a project takes them from its own modules:
re-exports, renames, aliases, and shape aliases defined in a project's `types.py`."""

import os
from pathlib import Path

import pytest

from shapesafe._static import Run, check_file
from shapesafe._static._report import Stats

USER = """\
from torch import Tensor
{imports}


def f(x: {x}) -> {ret}:
    return x.sum(-1)
"""
# The return drops the last dim: a finding wherever both annotations are read.
WRONG = ['return of f(): x.sum(-1) "b" has 1 dims, expected 2 for \'return\' "b d"']


def package(tmp_path: Path, files: dict[str, str]) -> Path:
    pkg = tmp_path / "pkg"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    for name, text in files.items():
        (pkg / name).write_text(text)
    return pkg


def check(path: Path, run: Run | None = None) -> list[str]:
    return [f.message for f in check_file(path, run=run)]


def user(pkg: Path, imports: str, x: str, ret: str) -> Path:
    path = pkg / "user.py"
    path.write_text(USER.format(imports=imports, x=x, ret=ret))
    return path


TYPING_MODULES = [
    pytest.param("from jaxtyping import Float, Int\n", id="re-export"),
    pytest.param("import jaxtyping\nFloat = jaxtyping.Float\n", id="alias"),
    pytest.param("from jaxtyping import Float as F32\nFloat = F32\n", id="rename"),
    pytest.param("from .inner import *\n", id="star-of-a-star"),
    pytest.param("from .inner import Float\n", id="two-hops"),
]


@pytest.mark.parametrize("typing", TYPING_MODULES)
@pytest.mark.parametrize(
    "imports",
    ["from pkg.typing import Float", "from .typing import Float", "from . import typing as T"],
)
def test_a_dtype_taken_from_the_projects_own_module(
    tmp_path: Path, typing: str, imports: str
) -> None:
    pkg = package(tmp_path, {"typing.py": typing, "inner.py": "from jaxtyping import Float, Int\n"})
    head = "T.Float" if "as T" in imports else "Float"
    path = user(pkg, imports, f'{head}[Tensor, "b d"]', f'{head}[Tensor, "b d"]')
    found = check(path)
    assert found == WRONG


def test_a_renamed_dtype_and_an_imported_module(tmp_path: Path) -> None:
    pkg = package(tmp_path, {"types.py": "from jaxtyping import Float as F32\n"})
    path = user(
        pkg, "import pkg.types", 'pkg.types.F32[Tensor, "b d"]', 'pkg.types.F32[Tensor, "b d"]'
    )
    found = check(path)
    assert found == WRONG


def test_a_shape_alias_defined_in_the_project(tmp_path: Path) -> None:
    pkg = package(
        tmp_path,
        {
            "types.py": (
                "from jaxtyping import Float\nfrom torch import Tensor\n"
                'Features = Float[Tensor, "b d"]\n'
            )
        },
    )
    path = user(
        pkg, "from pkg.types import Features\nfrom pkg import types", "Features", "types.Features"
    )
    found = check(path)
    assert found == WRONG


def test_an_array_type_as_the_array_puts_its_dims_after_the_new_ones(tmp_path: Path) -> None:
    # jaxtyping reads `Float[Float[Tensor, "d"], "b"]` as "b d"
    pkg = package(
        tmp_path,
        {
            "types.py": (
                "from jaxtyping import Float\nfrom torch import Tensor\n"
                'Row = Float[Tensor, "d"]\nRows = Float[Row, "b"]\n'
            )
        },
    )
    path = user(pkg, "from pkg.types import Rows", "Rows", "Rows")
    assert check(path) == WRONG
    path.write_text(
        "from jaxtyping import Float\nfrom torch import Tensor\nfrom pkg.types import Rows\n\n\n"
        'def f(x: Rows) -> Float[Tensor, "b"]:\n    return x.sum(-1)\n\n\n'
        "def g(x: Rows) -> Rows:\n    return x.sum(-1)\n"
    )
    assert check(path) == [
        'return of g(): x.sum(-1) "b" has 1 dims, expected 2 for \'return\' "b d"'
    ]


def test_a_module_re_exported_by_a_project_module_is_that_module(tmp_path: Path) -> None:
    # `from pkg.common import torch` where pkg/common.py does `import torch`: `torch.zeros`
    # is torch's; a name the project module defines itself is not taken for a module.
    pkg = package(
        tmp_path,
        {
            "common.py": (
                "import torch\nimport torch.nn.functional as F\nfrom jaxtyping import Float\n"
                "def zeros(*sizes: int) -> None:\n    return None\n"
            )
        },
    )
    path = pkg / "user.py"
    path.write_text(
        "from pkg.common import F, Float, torch, zeros\nfrom torch import Tensor\n\n\n"
        'def f(x: Float[Tensor, "b d"], k: int) -> Float[Tensor, "b k"]:\n'
        "    return torch.zeros(k, x.shape[0])\n\n\n"
        'def g(x: Float[Tensor, "b d"]) -> Float[Tensor, "b"]:\n'
        "    return F.softmax(x, dim=-1)\n\n\n"
        'def h(x: Float[Tensor, "b d"]) -> Float[Tensor, "b"]:\n'
        "    return zeros(3)\n"
    )
    assert check(path) == [
        'return of f(): dim \'b\' is b in x "b d" but k in torch.zeros(k, x.shape[0]) "k b"',
        'return of g(): F.softmax(x, dim=-1) "b d" has 2 dims, expected 1 for \'return\' "b"',
    ]


@pytest.mark.parametrize(
    "typing",
    [
        pytest.param("Float = float\n", id="not-jaxtyping"),
        pytest.param("from pkg.user import Float\n", id="cycle"),
        pytest.param("from jaxtyping import Float\nFloat = float\n", id="rebound"),
        pytest.param("from nowhere import Float\n", id="not-found"),
    ],
)
def test_names_that_are_not_jaxtypings_stay_unread(tmp_path: Path, typing: str) -> None:
    pkg = package(tmp_path, {"typing.py": typing})
    path = user(pkg, "from pkg.typing import Float", 'Float[Tensor, "b d"]', 'Float[Tensor, "b d"]')
    stats = Stats()
    assert check_file(path, stats=stats) == []
    assert sum(stats.annotated.values()) == 0


def test_an_edited_typing_module_is_read_again(tmp_path: Path) -> None:
    run = Run()
    pkg = package(tmp_path, {"typing.py": "Float = float\n"})
    path = user(pkg, "from pkg.typing import Float", 'Float[Tensor, "b d"]', 'Float[Tensor, "b d"]')
    assert check_file(path, run=run) == []
    (pkg / "typing.py").write_text("from jaxtyping import Float\n")
    os.utime(pkg / "typing.py", ns=(10**18, 10**18))
    found = check(path, run)
    assert found == WRONG

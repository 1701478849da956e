"""Which function bodies the static checker reads for what they return: a generator's
gives a generator, whatever its `return` says, and a body with no `return` of a value
gives nothing, however its lines end."""

from pathlib import Path

import pytest

from shapesafe._static import Run, check_file

SOURCE = """\
import torch
from jaxtyping import Float
from torch import Tensor


def gen(x: Float[Tensor, "b 3"]):
    if x.ndim:
        return x
    yield x


def plain(x: Float[Tensor, "b 3"]):
    return x


def nothing(x: Float[Tensor, "b 3"]):
    assert x.ndim == 2
    return None


def from_gen(x: Float[Tensor, "b 3"]) -> Float[Tensor, "b 4"]:
    return gen(x)


def from_plain(x: Float[Tensor, "b 3"]) -> Float[Tensor, "b 4"]:
    return plain(x)


def from_nothing(x: Float[Tensor, "b 3"]) -> Float[Tensor, "b 4"]:
    return nothing(x)
"""


@pytest.mark.parametrize("newline", ["\n", "\r\n", "\r"], ids=["lf", "crlf", "cr"])
def test_only_a_body_that_returns_a_value_gives_its_shape(tmp_path: Path, newline: str) -> None:
    path = tmp_path / "m.py"
    path.write_bytes(SOURCE.replace("\n", newline).encode())
    found = [(f.line, f.message) for f in check_file(path, run=Run())]
    assert found == [
        (26, """return of from_plain(): dim '4' is 3 in plain(x) "b 3", expected 4 ("b 4")""")
    ]

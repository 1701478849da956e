"""The static checker on norms given an order: `torch.linalg.norm(x, ord=2, dim=-1)` and
numpy's `np.linalg.norm(x, ord=2, axis=1, keepdims=True)` take away the dims named, whatever
the order; and `np.linalg.cholesky` reads as torch's."""

import re
from pathlib import Path

import numpy as np
import torch

from tests.helpers import static_findings

HEADER = """\
import numpy as np
import torch
from jaxtyping import Float
from torch import Tensor
"""


def check(tmp_path: Path, source: str) -> list[str]:
    return static_findings(tmp_path, source, HEADER, relative=True)


def test_ordered_norm_with_keepdim_is_silent(tmp_path: Path) -> None:
    source = (
        "def unit(x: Float[Tensor, 'n d']) -> Float[Tensor, 'n d']:\n"
        "    return x / torch.linalg.norm(x, ord=2, dim=-1, keepdim=True)\n"
        "\n"
        "def unit_np(x: Float[np.ndarray, 'n d']) -> Float[np.ndarray, 'n d']:\n"
        "    return x / np.linalg.norm(x, ord=2, axis=1, keepdims=True)\n"
        "\n"
        "def lengths(x: Float[Tensor, 'n d']) -> Float[Tensor, 'n']:\n"
        "    return torch.linalg.vector_norm(x, 2, -1)\n"
        "\n"
        "def whole(x: Float[Tensor, 'n d']) -> Float[Tensor, '']:\n"
        "    return torch.linalg.norm(x, ord='fro')\n"
    )
    assert check(tmp_path, source) == []
    x = torch.randn(4, 3)
    assert (x / torch.linalg.norm(x, ord=2, dim=-1, keepdim=True)).shape == (4, 3)
    assert torch.linalg.vector_norm(x, 2, -1).shape == (4,)
    assert torch.linalg.norm(x, ord="fro").shape == ()
    a = np.ones((4, 3))
    assert (a / np.linalg.norm(a, ord=2, axis=1, keepdims=True)).shape == (4, 3)


def test_ordered_norm_without_keepdim_is_found(tmp_path: Path) -> None:
    source = (
        "def unit(x: Float[Tensor, 'n d']) -> Float[Tensor, 'n d']:\n"
        "    return x / torch.linalg.norm(x, ord=2, dim=1)\n"
        "\n"
        "def unit_np(x: Float[np.ndarray, 'n d']) -> Float[np.ndarray, 'n d']:\n"
        "    return x / np.linalg.norm(x, ord=2, axis=1)\n"
    )
    found = check(tmp_path, source)
    assert len(found) == 2
    assert re.search(
        r"^2: x / torch\.linalg\.norm\(x, ord=2, dim=1\): .*d lines up with n", found[0]
    )
    assert re.search(r"^5: x / np\.linalg\.norm\(x, ord=2, axis=1\): .*d lines up with n", found[1])
    # torch agrees where the sizes differ.
    x = torch.randn(4, 3)
    try:
        x / torch.linalg.norm(x, ord=2, dim=1)
    except RuntimeError as err:
        assert "must match" in str(err)
    else:
        raise AssertionError("torch broadcast (4, 3) with (4,)")


def test_numpy_cholesky_reads_as_torch(tmp_path: Path) -> None:
    source = (
        "def whiten(x: Float[np.ndarray, 'n d'], cov: Float[np.ndarray, 'd d'], mu: "
        "Float[np.ndarray, 'c d']) -> Float[np.ndarray, 'c d']:\n"
        "    L = np.linalg.cholesky(cov)\n"
        "    return mu @ L\n"
        "\n"
        "def swapped(cov: Float[np.ndarray, 'd d'], mu: Float[np.ndarray, 'c d']) "
        "-> Float[np.ndarray, 'c d']:\n"
        "    L = np.linalg.cholesky(cov)\n"
        "    return L @ mu\n"
    )
    found = check(tmp_path, source)
    assert len(found) == 1
    assert re.search(r"^7: L @ mu: inner dim is d in L \"d d\" but c in mu", found[0])


def test_ordered_norm_by_position_is_a_vector_norm(tmp_path: Path) -> None:
    source = (
        "def f(x: Float[Tensor, 'b d'], w: Float[Tensor, 'e d']):\n"
        "    return torch.linalg.norm(x, 2, -1) @ w\n"
    )
    found = check(tmp_path, source)
    assert len(found) == 1
    assert re.search(r"^2: torch\.linalg\.norm\(x, 2, -1\) @ w: .*\bb\b.*\be\b", found[0])
    assert torch.linalg.norm(torch.randn(4, 3), 2, -1).shape == (4,)

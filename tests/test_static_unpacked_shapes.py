"""`a, b = x.shape` of a local whose shape the checker does not know: x has two axes after
it (the unpacking fails otherwise), each a size of its own."""

from pathlib import Path

import pytest
import torch
from torch import Tensor

from tests.helpers import run_source, static_findings

HEADER = "import torch\nfrom jaxtyping import Float\nfrom torch import Tensor\n"
SIGNATURE = "def f(q: Float[Tensor, 'b n d'], rope) -> Float[Tensor, 'b n d']:\n"


def _run(body: str) -> Tensor:
    rope = (torch.randn(5, 4), torch.randn(5, 4))
    out = run_source(HEADER + SIGNATURE + body, torch.randn(2, 5, 4), rope)  # run by torch
    assert isinstance(out, Tensor)
    return out


def test_a_shape_unpacked_gives_an_unknown_its_rank(tmp_path: Path) -> None:
    right = "    sin, cos = rope\n    n_pos, d = sin.shape\n    return q * sin\n"
    assert static_findings(tmp_path, SIGNATURE + right, HEADER) == []
    assert _run(right).shape == (2, 5, 4)
    wrong = "    sin, cos = rope\n    n_pos, d = sin.shape\n    return (q * sin).sum(0)\n"
    assert static_findings(tmp_path, SIGNATURE + wrong, HEADER) == [
        '7: return of f(): (q * sin).sum(0) "n d" has 2 dims, expected 3 for \'return\' "b n d"'
    ]
    assert _run(wrong).shape == (5, 4)


def test_a_shape_of_another_rank_fails_there(tmp_path: Path) -> None:
    body = "    sin, cos = rope\n    n_pos, d, e = sin.shape\n    return q\n"
    with pytest.raises(ValueError, match="not enough values to unpack"):
        _run(body)

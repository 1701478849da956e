"""`x[mask] = v`: picks of one mask in one assignment have as many rows, and a value of a
literal number of rows other than 1 fits only a mask that picks exactly that many."""

from pathlib import Path

import pytest
import torch
from torch import Tensor

from tests.helpers import run_source, static_findings

HEADER = "import torch\nfrom jaxtyping import Bool, Float\nfrom torch import Tensor\n"
SIGNATURE = "def f(pos: Float[Tensor, 'e 3'], m: Bool[Tensor, ' e']) -> Float[Tensor, 'e 3']:\n"


def _run(body: str) -> Tensor:
    mask = torch.tensor([True, False, True, True, False, True, True])
    out = run_source(HEADER + SIGNATURE + body, torch.randn(7, 3), mask)  # run by torch
    assert isinstance(out, Tensor)
    return out


NORMS = (
    "    norm = torch.ones((pos.shape[0], 1))\n"
    "    norm[m] = torch.sqrt(torch.sum(pos[m] ** 2, dim={dim}).unsqueeze(1)) + 1\n"
    "    return pos / norm\n"
)


def test_a_value_of_three_rows_into_the_rows_a_mask_picks(tmp_path: Path) -> None:
    wrong = NORMS.format(dim=0)
    assert static_findings(tmp_path, SIGNATURE + wrong, HEADER) == [
        "6: norm[m] = torch.sqrt(torch.sum(pos[m] ** 2, dim...: torch.sqrt(torch.sum(pos[m] "
        '** 2, dim... "3 1" has 3 rows, but norm[m] has as many rows as m holds True (holds '
        "only if it holds True 3 times)"
    ]
    with pytest.raises(RuntimeError, match="shape mismatch"):
        _run(wrong)


def test_picks_of_one_mask_have_as_many_rows(tmp_path: Path) -> None:
    right = NORMS.format(dim=1)
    assert static_findings(tmp_path, SIGNATURE + right, HEADER) == []
    pos = torch.randn(7, 3)
    assert _run(right).shape == pos.shape


def test_one_row_broadcasts_and_other_masks_are_left_alone(tmp_path: Path) -> None:
    body = (
        "    out = pos.clone()\n"
        "    out[m] = pos[m].mean(dim=0, keepdim=True)\n"
        "    out[m] = torch.zeros(3)\n"
        "    out[~m] = pos[~m] * 2\n"
        "    return out\n"
    )
    assert static_findings(tmp_path, SIGNATURE + body, HEADER) == []
    assert _run(body).shape == (7, 3)

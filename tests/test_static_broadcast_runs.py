"""`*#batch` runs: the arguments' runs broadcast together, and the return's `*batch` is what
they give; two literal sizes that can never broadcast are a finding. An argument of unknown
shape, or a run of unknown length, leaves the return's run unknown."""

from pathlib import Path

import pytest
import torch

from shapesafe._static import check_file
from shapesafe.shapes import shapes_of

SOURCE = """\
import torch
from jaxtyping import Float
from torch import Tensor


def unproject(
    coordinates: Float[Tensor, "*#batch dim"],
    z: Float[Tensor, "*#batch"],
    intrinsics: Float[Tensor, "*#batch dim+1 dim+1"],
) -> Float[Tensor, "*batch dim+1"]:
    return torch.cat([coordinates, z[..., None]], dim=-1) @ intrinsics.mT


def g(xy: Float[Tensor, "4 2"], k: Float[Tensor, "b 1 3 3"], z: Float[Tensor, "1"], u, x):
    y = BODY
    return y
"""


def run(tmp_path: Path, body: str) -> tuple[tuple[str, ...] | None, list[str]]:
    path = tmp_path / "runs.py"
    path.write_text(SOURCE.replace("BODY", body))
    found = [b for b in shapes_of(path) if b.name == "y"]
    shape = found[0].shape if found and found[0].shape else None
    return shape, [f"{f.line}: {f.message}" for f in check_file(path)]


@pytest.mark.parametrize(
    ("body", "shape"),
    [
        pytest.param("unproject(xy, z, k)", ("b", "4", "3"), id="runs-broadcast"),
        pytest.param("unproject(xy, torch.ones(1), k)", ("b", "4", "3"), id="a-made-one"),
        pytest.param("unproject(xy, z, k[0])", ("4", "3"), id="shorter-run"),
        pytest.param("unproject(xy, u, k)", ("...", "3"), id="an-argument-of-unknown-shape"),
        pytest.param("unproject(xy, x.sum(-1), k)", ("...", "3"), id="a-run-of-unknown-length"),
    ],
)
def test_return_run_is_what_the_runs_give(
    tmp_path: Path, body: str, shape: tuple[str, ...]
) -> None:
    assert run(tmp_path, body) == (shape, [])


def test_literal_runs_that_cannot_broadcast(tmp_path: Path) -> None:
    shape, findings = run(tmp_path, "unproject(xy, torch.ones(2), k)")
    assert shape is None
    assert findings == [
        "15: unproject(xy, torch.ones(2), k): dims '*batch' are (4) in xy \"4 2\" but (2) in "
        'torch.ones(2) "2"'
    ]


def test_torch_agrees() -> None:
    # The runs of xy (4), z (1) and k (b 1) broadcast to (b 4); (4) and (2) never do.
    def runs(*shapes: tuple[int, ...]) -> tuple[int, ...]:
        summed = sum((torch.zeros(s) for s in shapes), torch.zeros(()))
        return tuple(summed.shape)

    assert runs((4,), (1,), (5, 1)) == (5, 4)
    assert runs((4,), (1,), (1,)) == (4,)
    with pytest.raises(RuntimeError):
        runs((4,), (2,))

"""`*#batch` runs: the arguments' runs broadcast together, and the return's `*batch` is what
they give; two literal sizes that can never broadcast are a finding. An argument of unknown
shape, or a run of unknown length, leaves the return's run unknown, unless every argument
holds that one same run."""

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


def test_one_run_of_the_caller_in_every_argument_is_the_return_run(tmp_path: Path) -> None:
    # Every argument holds the caller's own `*n`: they broadcast to it, so the return is
    # "*n 3" and its `norm(dim=-1)` is "*n"; the runs of two callers' parameters stay unknown.
    source = SOURCE.replace("def g(", "def g_(") + (
        "\n\ndef h(xy: Float[Tensor, '*n 2'], z: Float[Tensor, '*n'], k: Float[Tensor, '*n 3 3'],"
        " m: Float[Tensor, '*m']) -> Float[Tensor, '*n 2']:\n"
        "    y = unproject(xy, z, k)\n"
        "    w = unproject(xy, m, k)\n"
        "    return y.norm(dim=-1)\n"
    )
    path = tmp_path / "runs.py"
    path.write_text(source)
    got = {b.name: b.shape for b in shapes_of(path) if b.name in ("y", "w")}
    assert got == {"y": ("*n", "3"), "w": ("...", "3")}
    assert [f"{f.line}: {f.message}" for f in check_file(path)] == [
        '22: return of h(): y.norm(dim=-1) "*n" has 0 dims besides *n, expected 1 for '
        "'return' \"*n 2\""
    ]

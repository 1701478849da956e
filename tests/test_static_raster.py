"""nvdiffrast's rasterizer, as its documentation states it: `rasterize` gives images of the
resolution it is asked for, `interpolate` the attributes at each of their pixels, and
`antialias` a color image of the shape it is given."""

from pathlib import Path

import pytest

from shapesafe._static._report import Stats
from shapesafe.shapes import shapes_of
from tests.helpers import static_findings

HEADER = """\
import nvdiffrast.torch as dr
from jaxtyping import Float, Int
from torch import Tensor


"""

RENDER = """\
def render(
    ctx,
    pos: Float[Tensor, "B Nv 4"],
    tri: Int[Tensor, "Nf 3"],
    color: Float[Tensor, "B Nv C"],
    bg: Float[Tensor, "B H W 3"],
) -> Float[Tensor, "B H W 3"]:
    h, w = bg.shape[1], bg.shape[2]
    rast, rast_db = dr.rasterize(ctx, pos, tri, {resolution})
    img, _ = dr.interpolate({attr}, rast, tri)
    mask = rast[..., 3:] > 0
    return dr.antialias(img * mask + bg * ~mask, rast, pos, tri)
"""


def check(tmp_path: Path, source: str) -> tuple[list[str], Stats]:
    stats = Stats()
    return static_findings(tmp_path, source, HEADER, relative=True, stats=stats), stats


def _shapes(path: Path) -> dict[str, tuple[str, ...] | None]:
    return {b.name: b.shape for b in shapes_of(path)}


def test_the_right_render_is_silent_and_checked(tmp_path: Path) -> None:
    source = RENDER.format(resolution="(h, w)", attr="color[..., :3]")
    found, stats = check(tmp_path, source)
    assert found == []
    assert stats.annotated["return"] == 1
    assert stats.calls_known["nvdiffrast"] == 3


def test_the_shapes_of_a_render(tmp_path: Path) -> None:
    path = tmp_path / "render.py"
    path.write_text(HEADER + RENDER.format(resolution="(h, w)", attr="color"))
    shapes = _shapes(path)
    assert shapes["rast"] == shapes["rast_db"] == ("B", "H", "W", "4")
    assert shapes["img"] == ("B", "H", "W", "C")


@pytest.mark.parametrize(
    ("resolution", "attr", "names"),
    [
        pytest.param("(w, h)", "color[..., :3]", "W lines up with H", id="width-height-swapped"),
        pytest.param("(h, w)", "color", "C lines up with 3", id="attributes-not-colors"),
    ],
)
def test_a_wrong_render_is_found(tmp_path: Path, resolution: str, attr: str, names: str) -> None:
    found, _ = check(tmp_path, RENDER.format(resolution=resolution, attr=attr))
    assert len(found) == 1 and names in found[0]


@pytest.mark.parametrize(
    "call",
    [
        "dr.rasterize(ctx, pos, tri, (h, w), ranges=ranges)",  # range mode: pos is "Nv 4"
        "dr.rasterize(ctx, pos, tri, h)",
        "dr.rasterize(ctx, pos[0], tri, (h, w))",
    ],
)
def test_a_rasterization_not_in_instanced_mode_is_unknown(tmp_path: Path, call: str) -> None:
    source = (
        'def f(ctx, pos: Float[Tensor, "B Nv 4"], tri: Int[Tensor, "Nf 3"], ranges, h: int,'
        " w: int):\n"
        f"    rast, _ = {call}\n"
        "    return rast\n"
    )
    path = tmp_path / "modes.py"
    path.write_text(HEADER + source)
    assert _shapes(path)["rast"] is None


def test_without_grad_db_the_second_output_is_unknown(tmp_path: Path) -> None:
    source = (
        'def f(ctx, pos: Float[Tensor, "B Nv 4"], tri: Int[Tensor, "Nf 3"], h: int, w: int):\n'
        "    rast, db = dr.rasterize(ctx, pos, tri, [h, w], grad_db=False)\n"
        "    return rast\n"
    )
    path = tmp_path / "plain.py"
    path.write_text(HEADER + source)
    shapes = _shapes(path)
    assert (shapes["rast"], shapes["db"]) == (("B", "h", "w", "4"), None)

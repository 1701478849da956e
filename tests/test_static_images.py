"""The static checker on images read with OpenCV: `cv2.imread` gives (h, w, 3) in color,
`cv2.cvtColor` the channels of the layout it converts to, `cv2.resize(img, (w, h))` h rows
and w columns with the channels the image had; unknown where a flag or the channel count
leaves the shape to the file."""

from pathlib import Path

import pytest

from shapesafe._static._report import Stats
from tests.helpers import annotated_relations
from tests.test_static_attributes import check

IMAGE = """\
import cv2
import numpy as np


def load(path: str, width: int, height: int) -> Float[Tensor, "{shape}"]:
    rgba = cv2.cvtColor(cv2.imread(path, cv2.IMREAD_UNCHANGED), cv2.COLOR_BGRA2RGBA)
    rgba = cv2.resize(rgba, (width, height)).astype(np.float32) / 255.0
    return torch.from_numpy({pick}).unsqueeze(0)
"""


@pytest.mark.parametrize(
    ("pick", "shape"),
    [("rgba[..., :3]", "1 h w 3"), ("rgba[..., 3:] > 0.5", "1 h w 1"), ("rgba", "1 h w 4")],
)
def test_a_converted_and_resized_image_is_read(tmp_path: Path, pick: str, shape: str) -> None:
    stats = Stats()
    assert check(tmp_path, IMAGE.format(pick=pick, shape=shape), stats) == []
    assert annotated_relations(stats) == (1, 1)


def test_the_wrong_channel_count_is_found(tmp_path: Path) -> None:
    found = check(tmp_path, IMAGE.format(pick="rgba[..., :3]", shape="1 h w 4"))
    assert len(found) == 1 and "dim '4' is 3 in torch.from_numpy(rgba[..., :3])" in found[0]


def test_a_color_image_read_and_flipped_has_three_channels(tmp_path: Path) -> None:
    source = (
        "import cv2\n\n\n"
        'def load(path: str, w: int, h: int) -> Float[Tensor, "{shape}"]:\n'
        "    img = cv2.imread(path)[:, :, ::-1].copy()\n"
        "    return torch.FloatTensor(cv2.resize(img, (w, h))) / 255\n"
    )
    assert check(tmp_path, source.format(shape="h w 3")) == []
    found = check(tmp_path, source.format(shape="3 h w"))
    assert len(found) == 1 and "return of load(): dim" in found[0]


@pytest.mark.parametrize(
    "read",
    [
        "cv2.imread(path, cv2.IMREAD_UNCHANGED)",  # the file decides its channels
        "cv2.resize(cv2.imread(path, cv2.IMREAD_UNCHANGED), (w, h))",
        "cv2.resize(cv2.imread(path), (0, 0), fx=0.5, fy=0.5)",  # sizes scaled
        "cv2.cvtColor(cv2.imread(path), cv2.COLOR_YUV2RGB_NV12)",  # rows change
    ],
)
def test_an_image_whose_shape_the_file_decides_is_unknown(tmp_path: Path, read: str) -> None:
    source = (
        "import cv2\n\n\n"
        'def load(path: str, w: int, h: int) -> Float[Tensor, "h w 3"]:\n'
        f"    return torch.from_numpy({read})\n"
    )
    stats = Stats()
    assert check(tmp_path, source, stats) == []
    assert annotated_relations(stats) == (0, 1)


def test_a_gray_image_has_no_channel_axis(tmp_path: Path) -> None:
    source = (
        "import cv2\n\n\n"
        'def load(path: str, w: int, h: int) -> Float[Tensor, "h w 1"]:\n'
        "    return torch.from_numpy(cv2.resize(cv2.imread(path, 0), (w, h)))\n"
    )
    found = check(tmp_path, source)
    assert len(found) == 1 and "has 2 dims, expected 3" in found[0]

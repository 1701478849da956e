"""Rules of OpenCV's image functions (`cv2`), whose images are arrays of (height, width) or
(height, width, channels): what `imread`, `cvtColor` and `resize` give, where the flags
written in the call say it. Sizes an image file holds are unknown."""

import ast

from .._source import dotted_name
from .._unify import Size, fresh, lit
from .._values import TupV, Value
from ._registry import Call, function, kw, lit_int, method

# The color layouts whose channel count a conversion's name gives (0: no channel axis).
_CHANNELS = {"RGB": 3, "BGR": 3, "RGBA": 4, "BGRA": 4, "GRAY": 0}


def _flag(node: ast.expr | None) -> str | int | None:
    """A flag as written: the last part of `cv2.IMREAD_COLOR`, or an int literal."""
    if isinstance(node, ast.Constant) and type(node.value) is int:
        return node.value
    name = dotted_name(node) if node is not None else None
    return name.rsplit(".", 1)[-1] if name else None


def _image(height: Size, width: Size, channels: int) -> tuple[Size, ...]:
    return (height, width, lit(channels)) if channels else (height, width)


@function("cv2.imread")
def imread(c: Call) -> Value:
    """`cv2.imread(path)`: a color image (height, width, 3); a gray one (height, width) with
    `cv2.IMREAD_GRAYSCALE`; with any other flag, of a shape the file decides."""
    flag = _flag(c.node.args[1] if len(c.node.args) > 1 else kw(c.node, "flags"))
    if flag in (None, "IMREAD_COLOR", 1):
        return _image(fresh(), fresh(), 3)
    return _image(fresh(), fresh(), 0) if flag in ("IMREAD_GRAYSCALE", 0) else None


@function("cv2.cvtColor")
def convert(c: Call) -> Value:
    """`cv2.cvtColor(img, cv2.COLOR_BGRA2RGBA)`: the image's height and width, with the
    channels of the layout converted to; cv2 rejects an image of other channels."""
    code = _flag(c.node.args[1] if len(c.node.args) > 1 else kw(c.node, "code"))
    if not (isinstance(code, str) and code.startswith("COLOR_")):
        return None
    parts = code.removeprefix("COLOR_").split("2")
    if len(parts) != 2:
        return None
    if parts[0] not in _CHANNELS or parts[1] not in _CHANNELS:
        return None
    x = c.x
    sized = isinstance(x, tuple) and len(x) >= 2 and all(isinstance(i, Size) for i in x)
    height, width = (x[0], x[1]) if sized else (fresh(), fresh())  # type: ignore[index]
    return _image(height, width, _CHANNELS[parts[1]])  # type: ignore[arg-type]


@function("cv2.resize")
def resize(c: Call) -> Value:
    """`cv2.resize(img, (w, h))`: an image of h rows and w columns, with the channels it had.
    An image of one channel comes back without its channel axis, so an image whose channel
    count is not known gives a shape not known."""
    x, dsize = c.x, c.arg(1, "dsize")
    if not (isinstance(x, tuple) and isinstance(dsize, TupV) and len(dsize.items) == 2):
        return None
    if any(lit_int(i) == 0 for i in dsize.items):
        return None  # `(0, 0)`: sizes scaled by `fx` and `fy`
    width, height = (c.size_of(i) or fresh() for i in dsize.items)
    if len(x) == 2 and all(isinstance(i, Size) for i in x):
        return (height, width)
    channels = x[2] if len(x) == 3 and all(isinstance(i, Size) for i in x) else None
    if isinstance(channels, Size) and channels.kind == "int" and channels.value != 1:
        return (height, width, channels)
    return None


@method("copy")
def copy(c: Call) -> Value:
    """`a.copy()` of a numpy array: an array of its shape."""
    return c.x if isinstance(c.x, tuple) and not c.args and not c.kwargs else None

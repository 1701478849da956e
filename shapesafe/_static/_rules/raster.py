"""Rules of nvdiffrast's differentiable rasterizer (`nvdiffrast.torch`), as its documentation
states them, in its instanced mode (clip-space positions "minibatch vertices 4", no
`ranges`): `rasterize` gives images of the resolution asked for, `interpolate` the attributes
at each pixel of those images, `antialias` a color image of the shape it is given."""

from .._unify import Item, Shape, lit
from .._values import TupV, Value
from ._registry import Call, function


def _resolution(c: Call, v: Value) -> tuple[Item, Item] | None:
    """`(height, width)`, as two sizes, or None where they are not known."""
    if not isinstance(v, TupV) or v.uncertain or len(v.items) != 2:
        return None
    height, width = (c.size_of(i) for i in v.items)
    return None if height is None or width is None else (height, width)


def _images(rast: Value) -> Shape | None:
    """The "minibatch height width" of a rasterizer's output "minibatch height width 4"."""
    return rast[:3] if isinstance(rast, tuple) and len(rast) == 4 else None


@function("nvdiffrast.torch.rasterize")
def rasterize(c: Call) -> Value:
    """`rast, rast_db = dr.rasterize(ctx, pos, tri, (height, width))` with `pos` of shape
    "minibatch vertices 4": both "minibatch height width 4" (`rast_db` only with the default
    `grad_db=True`; without it, an empty tensor)."""
    pos, size = c.arg(1, "pos"), _resolution(c, c.arg(3, "resolution"))
    ranges = c.arg(4, "ranges")
    if ranges is not None or c.kw("ranges") is not None or len(c.node.args) > 4:
        return None
    if not isinstance(pos, tuple) or len(pos) != 3 or size is None:
        return None
    out = (pos[0], *size, lit(4))
    grad_db = c.kw("grad_db")
    plain = grad_db is None or getattr(grad_db, "value", None) is True
    return TupV((out, out if plain else None))


@function("nvdiffrast.torch.interpolate")
def interpolate(c: Call) -> Value:
    """`out, out_da = dr.interpolate(attr, rast, tri)`: `out` holds, at each pixel of
    `rast`'s "minibatch height width", the attributes of `attr` ("minibatch vertices
    attributes", "1 vertices attributes" or "vertices attributes"): "minibatch height width
    attributes". Its derivatives `out_da` are not modeled."""
    attr, images = c.x, _images(c.arg(1, "rast"))
    if not isinstance(attr, tuple) or len(attr) not in (2, 3) or images is None:
        return None
    return TupV(((*images, attr[-1]), None))


@function("nvdiffrast.torch.antialias")
def antialias(c: Call) -> Value:
    """`dr.antialias(color, rast, pos, tri)`: the color image "minibatch height width
    channels", antialiased, in the shape it had."""
    color = c.x
    return color if isinstance(color, tuple) and len(color) == 4 else None

"""The static checker on einops' `pack` and `unpack`: `pack([a, b], "b * d")` flattens each
tensor's axes between the named ones and joins the tensors along that axis (so the named
axes must agree), and `unpack` gives each tensor back its own axes, from the shapes that
`pack` returned; a helper that packs one tensor (`pack_one`) is read through."""

import tempfile
from pathlib import Path

from shapesafe.shapes import shapes_of
from tests.test_static_rules import HEADER, check_source


def _shapes(body: str) -> dict[str, tuple[str, ...] | None]:
    source = f"{HEADER}from einops import pack, unpack\n\n\n{body}"
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "packed.py"
        path.write_text(source)
        return {b.name: b.shape for b in shapes_of(path)}


def test_pack_joins_along_the_star_and_unpack_splits_back() -> None:
    found = _shapes(
        "def f(a: Float[Tensor, 'b s d'], c: Float[Tensor, 'b d'], e: Float[Tensor, 'b h w d']):\n"
        "    p, ps = pack([a, c, e], 'b * d')\n"
        "    x, y, z = unpack(p, ps, 'b * d')\n"
        "    q, _ = pack([e], '* d')\n"
    )
    assert found["p"] == ("b", "h*w+s+1", "d")
    assert (found["x"], found["y"], found["z"]) == (
        ("b", "s", "d"),
        ("b", "d"),
        ("b", "h", "w", "d"),
    )
    assert found["q"] == ("b*h*w", "d")


def test_a_packed_run_is_one_axis_of_unknown_length(tmp_path: Path) -> None:
    source = (
        "from einops import pack\n"
        "def pack_one(t, pattern):\n"
        "    return pack([t], pattern)\n"
        "def f(r: Float[Tensor, '... n'], v: Float[Tensor, '... n+1']) -> None:\n"
        "    r, _ = pack_one(r, '* n')\n"
        "    v, _ = pack_one(v, '* n')\n"
        "    right = r + v[:, 1:] - v[:, :-1]\n"
        "    wrong = r + v[:, 2:]\n"
    )
    assert check_source(tmp_path, source) == [
        '12: r + v[:, 2:]: r "? n" and v[:, 2:] "? n-1": n lines up with n-1 (torch would '
        "broadcast silently where one is 1, and fail otherwise) (? is an unknown size)"
    ]


def test_packed_tensors_must_agree_on_the_named_axes(tmp_path: Path) -> None:
    source = (
        "from einops import pack\n"
        "def f(a: Float[Tensor, 'b s d'], c: Float[Tensor, 'b d']) -> None:\n"
        "    p, ps = pack([a, c.transpose(0, 1)], 'b * d')\n"
    )
    assert check_source(tmp_path, source) == [
        '7: einops.pack: axis \'b\' is b in a "b s d" but d in c.transpose(0, 1) "d b"'
    ]

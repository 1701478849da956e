"""Sizes that code computes (`h + 2 * border`, `n - 1`) as polynomials in the named sizes:
the shapes they give, the findings where two of them differ, and silence where they are the
same size written two ways, or where a fact says they are equal."""

from pathlib import Path

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from shapesafe._static import _poly
from shapesafe._static._unify import Size, certain, lit, name
from tests.helpers import static_findings

HEADER = """\
import torch
from jaxtyping import Float
from torch import Tensor
import shapesafe as ss
"""


def check_source(tmp_path: Path, source: str) -> list[str]:
    return static_findings(tmp_path, source, HEADER)


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        pytest.param(
            "def pad(image: Float[Tensor, 'c h w'], border: int) -> Float[Tensor, 'c hh ww']:\n"
            "    c, h, w = image.shape\n"
            "    return torch.empty((h + 2 * border, c, w + 2 * border))\n",
            [
                "7: return of pad(): dim 'c' is c in image \"c h w\" but 2*border+h in "
                'torch.empty((h + 2 * border, c, w + 2... "2*border+h c 2*border+w"'
            ],
            id="sum-against-name",
        ),
        pytest.param(
            "def f(x: Float[Tensor, 'b h*d'], w: Float[Tensor, 'e k']):\n"
            "    return ss.linear(x, w)\n",
            ['6: linear(x, w): dim \'in_features\' is h*d in x "b h*d" but k in w "e k"'],
            id="product-against-name",
        ),
        pytest.param(
            "def f(q: Float[Tensor, 's d']) -> Float[Tensor, 's s']:\n"
            "    s = q.shape[0]\n"
            "    mask = torch.ones((s, s + 1))\n"
            "    return q @ q.mT + mask\n",
            [
                '8: (q @ q.mT) + mask: (q @ q.mT) "s s" and mask "s s+1": s lines up with s+1 '
                "(torch would broadcast silently where one is 1, and fail otherwise)"
            ],
            id="offset-by-one",
        ),
        pytest.param(
            "import einops\n"
            "def f(x: Float[Tensor, '... s d'], r: Float[Tensor, 's 2 2']):\n"
            "    pairs = einops.rearrange(x, '... s (k g) -> ... s k g', g=2)\n"
            "    return torch.einsum('...t,...t->...', r[..., 0, :], pairs)\n",
            [
                "8: einsum: the axes '...' stands for: r[..., 0, :] \"s\" and pairs "
                '"... s d//2": s lines up with d//2 (torch would broadcast silently where one is '
                "1, and fail otherwise)"
            ],
            id="einops-split-is-exact",
        ),
        pytest.param(
            "def f(x: Float[Tensor, 'b s d'], w: Float[Tensor, 'e']):\n"
            "    return x.reshape(x.numel()) * w\n",
            [
                '6: x.reshape(x.numel()) * w: x.reshape(x.numel()) "b*d*s" and w "e": b*d*s '
                "lines up with e (torch would broadcast silently where one is 1, and fail "
                "otherwise)"
            ],
            id="numel-is-the-product",
        ),
        pytest.param(
            "def f(x: Float[Tensor, 'n a'], y: Float[Tensor, 'n b'], z: Float[Tensor, 'n c']):\n"
            "    xy = torch.cat([x, y], dim=1)\n"
            "    return xy + torch.cat([y, z], dim=1)\n",
            [
                '7: xy + torch.cat([y, z], dim=1): xy "n a+b" and torch.cat([y, z], dim=1) '
                '"n b+c": a+b lines up with b+c (torch would broadcast silently where one is 1, '
                "and fail otherwise)"
            ],
            id="two-sums",
        ),
    ],
)
def test_sizes_that_differ_as_polynomials(tmp_path: Path, body: str, expected: list[str]) -> None:
    assert check_source(tmp_path, body) == expected


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(
            "def pad(image: Float[Tensor, 'c h w'], border: int) -> Float[Tensor, 'c hh ww']:\n"
            "    c, h, w = image.shape\n"
            "    return torch.empty((c, h + 2 * border, w + 2 * border))\n",
            id="right-order",
        ),
        pytest.param(
            "def f(x: Float[Tensor, 'n a'], y: Float[Tensor, 'n b']) -> Float[Tensor, 'n a+b']:\n"
            "    both = torch.cat([y, x], dim=1)\n"
            "    return both + torch.zeros(x.shape[0], y.shape[1] + x.shape[1])\n",
            id="same-sum-two-ways",
        ),
        pytest.param(
            "def f(x: Float[Tensor, 'n a'], y: Float[Tensor, 'n b'], k: int):\n"
            "    assert k == x.shape[1] + y.shape[1]\n"
            "    return torch.cat([x, y], dim=1) + torch.zeros(x.shape[0], k)\n",
            id="a-fact-says-equal",
        ),
        pytest.param(
            "def f(x: Float[Tensor, 'n a'], y: Float[Tensor, 'n b'], k: int):\n"
            "    assert k == x.shape[1]\n"
            "    return torch.cat([x, y], dim=1) + torch.zeros(x.shape[0], k + y.shape[1])\n",
            id="a-fact-on-one-name",
        ),
        pytest.param(
            "def f(x: Float[Tensor, 'b s d'], y: Float[Tensor, '*r d']):\n"
            "    return x.reshape(x.numel()) + x.flatten() + y.reshape(y.numel())[: x.numel()]\n",
            id="numel-alike-and-of-a-run",
        ),
        pytest.param(
            "import einops\n"
            "def f(q: Float[Tensor, 'b s d'], k: Float[Tensor, 'b t d'], h: int):\n"
            "    qh = einops.rearrange(q, 'b s (h e) -> b h s e', h=h)\n"
            "    kh = einops.rearrange(k, 'b t (h e) -> b h t e', h=h)\n"
            "    return qh @ kh.mT\n",
            id="heads-split-alike",
        ),
        pytest.param(
            "def f(x: Float[Tensor, 'n a'], y):\n"
            "    return torch.cat([x, y], dim=1) + torch.zeros(x.shape[0], x.shape[1] + 1)\n",
            id="an-unknown-part",
        ),
    ],
)
def test_same_polynomials_are_silent(tmp_path: Path, body: str) -> None:
    assert check_source(tmp_path, body) == []


_names = st.sampled_from(["a", "b", "c"])
_terms = st.lists(st.tuples(st.integers(-3, 3), _names, _names), min_size=1, max_size=3)


def _size_of(terms: list[tuple[int, str, str]], const: int) -> Size:
    out = lit(const)
    for coef, x, y in terms:
        text = f"{coef}*{x}*{y}"
        term = _poly.size(_poly.form(Size("expr", text)) or {})
        out = _poly.add(out, term) or out
    return out


@settings(max_examples=60, deadline=None)
@given(_terms, _terms, st.integers(-2, 2), st.integers(-2, 2))
def test_polynomial_verdicts_agree_with_evaluation(
    ta: list[tuple[int, str, str]], tb: list[tuple[int, str, str]], ca: int, cb: int
) -> None:
    """`same` where the two sizes are equal at every point tried; `differ` where some point
    tells them apart."""
    a, b = _size_of(ta, ca), _size_of(tb, cb)

    def value(terms: list[tuple[int, str, str]], const: int, env: dict[str, int]) -> int:
        return const + sum(c * env[x] * env[y] for c, x, y in terms)

    primes = [(2, 3, 5), (7, 11, 13), (17, 19, 23), (29, 31, 37), (41, 43, 47), (1, 53, 59)]
    points = [dict(zip("abc", p, strict=True)) for p in primes]
    equal_everywhere = all(value(ta, ca, p) == value(tb, cb, p) for p in points)
    verdict = certain(a, b)
    if verdict == "same":
        assert equal_everywhere
    if verdict == "differ":
        assert not equal_everywhere
    if equal_everywhere:
        assert verdict == "same"


def test_polynomial_text_is_canonical() -> None:
    h, border = name("h"), name("border")
    two_b = _poly.size(_poly.form(Size("expr", "2*border")) or {})
    assert _poly.add(h, two_b) == _poly.add(two_b, h) == Size("expr", "2*border+h")
    assert _poly.add(_poly.add(h, border) or h, border, -1) == h
    assert certain(Size("expr", "h*w"), Size("expr", "w*h")) == "same"
    assert certain(Size("expr", "d//2"), lit(2)) == "differ"
    assert _poly.form(Size("expr", "d//2", 7)) is None  # an expression of syms or fresh sizes
    # torch agrees that the widths differ for sizes where the polynomials do.
    assert torch.zeros(2, 3 + 2 * 4).shape[1] != 3


def test_a_parameter_annotated_with_a_bare_jaxtyping_int_is_a_size(tmp_path: Path) -> None:
    # `n_samples: Int` (jaxtyping's dtype, written bare for a Python int) is a size of its
    # own, as `n_samples: int` is: the tensors made from it have it as an axis.
    source = (
        "from jaxtyping import Int\n"
        "def sample(n_samples: Int, normal: Float[Tensor, 'n 3']) -> Float[Tensor, 'n s 3']:\n"
        "    dirs = torch.stack([torch.rand(n_samples)] * 3, dim=-1)\n"
        "    return normal[:, None, :] * dirs[None, :, :]\n"
        "def wrong(n_samples: Int, normal: Float[Tensor, 'n 3']) -> Float[Tensor, 'n 3']:\n"
        "    dirs = torch.stack([torch.rand(n_samples)] * 3, dim=-1)\n"
        "    return normal + dirs\n"
    )
    assert check_source(tmp_path, source) == [
        '11: normal + dirs: normal "n 3" and dirs "n_samples 3": n lines up with n_samples '
        "(torch would broadcast silently where one is 1, and fail otherwise)"
    ]

"""The static checker on tensors whose leading axes are a run of unknown length (`...`, `*batch`):
ops on the known trailing axes keep what they know about them."""

import re
from collections.abc import Callable
from pathlib import Path

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from shapesafe._static import _joins as J
from shapesafe._static import _torch as T
from shapesafe._static._rules.shape import _repeated_run
from shapesafe._static._unify import Group, Shape, Size, anonymous_group, lit, run_item
from shapesafe._static._values import Mismatch
from tests.helpers import static_findings

HEADER = """\
import torch
from jaxtyping import Float
from torch import Tensor
"""


def check(tmp_path: Path, source: str) -> list[str]:
    return static_findings(tmp_path, source, HEADER, relative=True)


FOUND = [
    pytest.param(
        "def f(x: Float[Tensor, '... d']) -> Float[Tensor, '... d']:\n    return x / x.mean(-1)\n",
        [
            """2: x / x.mean(-1): x "... d" and x.mean(-1) "...": d lines up with the last axes """
            "of ..., the run both share (torch fails unless ... is empty or ends in 1s or d)"
        ],
        id="keepdim-dropped",
    ),
    pytest.param(
        "def f(x: Float[Tensor, '*b n 3'], y: Float[Tensor, '*b 3']) -> Float[Tensor, '*b n 3']:\n"
        "    return x + y\n",
        [
            """2: x + y: x "*b n 3" and y "*b 3": n lines up with the last axes of *b, the run """
            "both share (torch fails unless *b is empty or ends in 1s or n)"
        ],
        id="new-axis-missing",
    ),
    pytest.param(
        "def f(x: Float[Tensor, '*b n 3']) -> Float[Tensor, '*b n 3']:\n    return x.sum(-1)\n",
        [
            """2: return of f(): x.sum(-1) "*b n" has 1 dims besides *b, expected 2 for """
            """'return' "*b n 3\""""
        ],
        id="reduced-return",
    ),
    pytest.param(
        "def f(p: Float[Tensor, '*batch dim']) -> Float[Tensor, '*batch dim+1']:\n"
        "    return torch.cat([p, torch.ones_like(p[..., :1])], dim=-2)\n",
        [
            """2: torch.cat: axis -1 is dim in p "*batch dim" but 1 in """
            """torch.ones_like(p[..., :1]) "*batch 1\""""
        ],
        id="cat-along-the-run",
    ),
    pytest.param(
        "def f(p: Float[Tensor, '*batch dim']) -> None:\n    torch.cat([p, p[..., -1:]], dim=-2)\n",
        ['2: torch.cat: axis -1 is dim in p "*batch dim" but 1 in p[..., -1:] "*batch 1"'],
        id="last-one-kept",
    ),
    pytest.param(
        "def f(a: Float[Tensor, '*b 3'], c: Float[Tensor, '*b 4']) -> Float[Tensor, '*b 2 3']:\n"
        "    return torch.stack([a, c], dim=-3)\n",
        ['2: torch.stack: axis -1 is 3 in a "*b 3" but 4 in c "*b 4"'],
        id="stack-into-the-run",
    ),
]


FOUND.append(
    pytest.param(
        # `*#b` of two parameters: runs that broadcast together. y's run would have to end in
        # 1s or n for `x + y`, which its annotation does not say (`y[..., None, :]` is right).
        "def f(x: Float[Tensor, '*#b n 3'], y: Float[Tensor, '*#b 3']) -> Float[Tensor, '*#b n 3']:\n"
        "    return x + y\n",
        [
            '2: x + y: x "*b n 3" and y "*b 3": n lines up with the last axes of *b, the run '
            "both share (torch fails unless *b is empty or ends in 1s or n)"
        ],
        id="broadcastable-runs",
    )
)


FOUND.append(
    pytest.param(
        "def f(\n"
        "    a: Float[Tensor, '*#batch 3'], b: Float[Tensor, '*#batch 3']\n"
        ") -> Float[Tensor, '*batch 4']:\n"
        "    return a + b\n",
        ["""4: return of f(): dim '4' is 3 in a + b "*batch 3", expected 4 ("*batch 4")"""],
        id="two-runs-of-their-own",
    )
)


FOUND.append(
    pytest.param(
        "def f(\n"
        "    o: Float[Tensor, '... b s v'], target: Float[Tensor, '... b s']\n"
        ") -> Float[Tensor, '... b s']:\n"
        "    picked = torch.squeeze(o.gather(-1, target[..., torch.newaxis]), dim=-1)\n"
        "    return picked - torch.exp(o).sum(dim=-2)\n",
        [
            '5: picked - torch.exp(o).sum(dim=-2): picked "... b s" and '
            'torch.exp(o).sum(dim=-2) "... b v": s lines up with v (torch would broadcast '
            "silently where one is 1, and fail otherwise)"
        ],
        id="newaxis-and-runs-of-their-own",
    )
)


FOUND += [
    pytest.param(
        "def f(q: Float[Tensor, '... s d'], k: Float[Tensor, '... t e']) -> None:\n"
        "    torch.einsum('...qd,...kd->...qk', q, k)\n",
        ["""2: einsum: 'd' is d in q "... s d" but e in k "... t e\""""],
        id="einsum-ellipsis-letter",
    ),
    pytest.param(
        "def f(m: Float[Tensor, '*b i j'], v: Float[Tensor, '*b j']) -> Float[Tensor, '*b j']:\n"
        "    return torch.einsum('...ij,...j->...i', m, v)\n",
        [
            """2: return of f(): dim 'j' is j in m "*b i j" but i in """
            """torch.einsum('...ij,...j->...i', m, v) "*b i\""""
        ],
        id="einsum-ellipsis-output",
    ),
    pytest.param(
        "import einops\n"
        "def f(x: Float[Tensor, '*b d'], w: Float[Tensor, 'f p']) -> Float[Tensor, '*b d f p']:\n"
        "    return einops.einsum(x, w, '... d, f p -> ... f d p')\n",
        [
            """3: return of f(): dim 'f' is f in w "f p" but d in """
            """einops.einsum(x, w, '... d, f p -> ..... "*b f d p\""""
        ],
        id="einops-einsum-ellipsis",
    ),
    pytest.param(
        "from fancy_einsum import einsum\n"
        "def f(m: Float[Tensor, '*b i j'], v: Float[Tensor, '*b k']) -> None:\n"
        "    einsum('... i j, ... j -> ... i', m, v)\n",
        ["""3: einsum: 'j' is j in m "*b i j" but k in v "*b k\""""],
        id="fancy-einsum-ellipsis",
    ),
    pytest.param(
        "def f(q: Float[Tensor, 'b h s d'], k: Float[Tensor, 'b g t d']) -> None:\n"
        "    torch.einsum('...qd,...kd->...qk', q, k)\n",
        [
            """2: einsum: the axes '...' stands for: q "b h" and k "b g": h lines up with g """
            "(torch would broadcast silently where one is 1, and fail otherwise)"
        ],
        id="einsum-ellipsis-runs-clash",
    ),
]

SILENT_EINSUM = [
    pytest.param(
        "def f(q: Float[Tensor, '... s d'], k: Float[Tensor, '... t d']) -> Float[Tensor, '... s t']:\n"
        "    return torch.einsum('...qd,...kd->...qk', q, k)\n",
        id="einsum-ellipsis",
    ),
    pytest.param(
        "import einops\n"
        "def f(m: Float[Tensor, '*b i j'], v: Float[Tensor, '*b j']) -> Float[Tensor, '*b i']:\n"
        "    return einops.einsum(m, v, '... i j, ... j -> ... i')\n",
        id="einops-einsum-ellipsis",
    ),
    pytest.param(
        "def f(q: Float[Tensor, 'b h s d'], k: Float[Tensor, 'b h t d']) -> Float[Tensor, 'b h s t']:\n"
        "    return torch.einsum('...qd,...kd->...qk', q, k)\n",
        id="einsum-ellipsis-fixed-rank",
    ),
    pytest.param(
        # each `*#b` is a run of its own: what `...` broadcasts to is not known, and not guessed
        "def f(q: Float[Tensor, '*#b s d'], k: Float[Tensor, '*#b t d']) -> Float[Tensor, 'x s t']:\n"
        "    return torch.einsum('...qd,...kd->...qk', q, k)\n",
        id="einsum-ellipsis-own-runs",
    ),
]

# A run reduced from the back (`x.sum(-1)` of "*d" is "*d[:-1]") beside the whole run.
FOUND_AT_THE_RUNS_END = [
    pytest.param(
        "def f(x: Float[Tensor, '*d']) -> Float[Tensor, '*d']:\n"
        "    y = x * 2\n"
        "    y /= (x**2).sum(dim=-1).sqrt()\n"
        "    return y\n",
        [
            """3: y /= (x**2).sum(dim=-1).sqrt(): y "*d" and (x**2).sum(dim=-1).sqrt() "*d[:-1]": """
            "each axis of *d lines up with the one before it (torch fails unless *d has at "
            "most 1 axis, or its axes are equal or 1)"
        ],
        id="keepdim-dropped-on-a-whole-run",
    ),
]


@pytest.mark.parametrize(("source", "expected"), FOUND + FOUND_AT_THE_RUNS_END)
def test_ops_beside_a_run(tmp_path: Path, source: str, expected: list[str]) -> None:
    assert check(tmp_path, source) == expected


SILENT = [
    pytest.param(
        "def f(x: Float[Tensor, '... d']) -> Float[Tensor, '... d']:\n"
        "    return x / x.mean(-1, keepdim=True)\n",
        id="keepdim",
    ),
    pytest.param(
        "def f(x: Float[Tensor, '*b n 3'], y: Float[Tensor, '*b 3']) -> Float[Tensor, '*b n 3']:\n"
        "    return x + y[..., None, :]\n",
        id="new-axis",
    ),
    pytest.param(
        "def f(x: Float[Tensor, '*#b n 3'], y: Float[Tensor, '*#b 3']) -> Float[Tensor, '*#b n 3']:\n"
        "    return x + y[..., None, :]\n",
        id="broadcastable-runs",
    ),
    pytest.param(
        # The run's last axis lines up with a 1, which broadcasts whatever it is.
        "def f(x: Float[Tensor, '*b 1'], y: Float[Tensor, '*b']) -> None:\n    z = x + y\n",
        id="lines-up-with-a-1",
    ),
    pytest.param(
        "def f(p: Float[Tensor, '*batch dim']) -> Float[Tensor, '*batch dim+1']:\n"
        "    return torch.cat([p, torch.ones_like(p[..., :1])], dim=-1)\n",
        id="cat-along-the-last",
    ),
    pytest.param(
        # dim 1 is the last axis where `*b` holds one: which axis it is, is unknown
        "def f(a: Float[Tensor, '*b 3'], c: Float[Tensor, '*b 4']) -> None:\n"
        "    torch.cat([a, c], dim=1)\n",
        id="cat-along-an-axis-from-the-front",
    ),
    pytest.param(
        "def f(x: Float[Tensor, '*b n 3']) -> Float[Tensor, '*b 3']:\n    return x.sum(-2)\n",
        id="reduced-inside-the-tail",
    ),
    pytest.param(
        "def f(x: Float[Tensor, '*d']) -> Float[Tensor, '*d']:\n"
        "    return x / (x**2).sum(dim=-1, keepdim=True).sqrt()\n",
        id="keepdim-on-a-whole-run",
    ),
    pytest.param(
        "def f(x: Float[Tensor, '*d']) -> Float[Tensor, '*d[:-1]']:\n"
        "    return x.sum(-1) + x.mean(-1)\n",
        id="both-reduced-from-the-back",
    ),
]


@pytest.mark.parametrize("source", SILENT + SILENT_EINSUM)
def test_right_ops_beside_a_run_are_silent(tmp_path: Path, source: str) -> None:
    assert check(tmp_path, source) == []


def test_a_rank_test_narrows_a_run(tmp_path: Path) -> None:
    source = (
        "def f(x: Float[Tensor, '... d']) -> Float[Tensor, 'b d']:\n"
        "    if x.ndim == 2:\n"
        "        return x.sum(0)\n"
        "    return x.reshape(-1, x.shape[-1])\n"
        "def g(x: Float[Tensor, '... d']) -> Float[Tensor, 'b d']:\n"
        "    if 2 == len(x.shape):\n"
        "        return x\n"
        "    return x.reshape(-1, x.shape[-1])\n"
        "def h(x: Float[Tensor, '*b n d']) -> Float[Tensor, 'n']:\n"
        "    assert x.dim() == 2\n"
        "    return x.sum(0)\n"
        "def k(x: Float[Tensor, '... d']) -> Float[Tensor, '... d']:\n"
        "    if x.ndim == 3:\n"
        "        x.sum(0)\n"
        "    return x / x.mean(-1)\n"  # the run is whole again after the `if`
        "def m(x: Float[Tensor, '... d']) -> Float[Tensor, 'b d']:\n"
        "    if x.ndim != 2:\n"
        "        raise ValueError('a matrix')\n"
        "    return x.sum(0)\n"
    )
    assert check(tmp_path, source) == [
        """3: return of f(): x.sum(0) "d" has 1 dims, expected 2 for 'return' "b d\"""",
        """11: return of h(): dim 'n' is n in x "*b n d" but d in x.sum(0) "d\"""",
        """15: x / x.mean(-1): x "... d" and x.mean(-1) "...": d lines up with the last axes """
        "of ..., the run both share (torch fails unless ... is empty or ends in 1s or d)",
        """19: return of m(): x.sum(0) "d" has 1 dims, expected 2 for 'return' "b d\"""",
    ]


_sizes = st.lists(st.integers(1, 3), min_size=0, max_size=3)


@settings(max_examples=200, deadline=None)
@given(
    run=_sizes, ones=st.lists(st.booleans(), max_size=3), cut=st.integers(0, 3), a=_sizes, b=_sizes
)
def test_two_runs_of_their_own_agree_with_torch(
    run: list[int], ones: list[bool], cut: int, a: list[int], b: list[int]
) -> None:
    # "*#batch a" and "*#batch b" of two arguments: runs that broadcast, tails of one length.
    b = b[: len(a)] + [1] * (len(a) - len(b))
    other = [1 if i < len(ones) and ones[i] else n for i, n in enumerate(run)][cut:]
    sa: Shape = (anonymous_group(), *map(lit, a))
    sb: Shape = (anonymous_group(), *map(lit, b))
    try:
        rule = T.broadcast(sa, sb, "a", "b")
    except Mismatch:
        with pytest.raises(RuntimeError):
            torch.empty(run + a, device="meta") + torch.empty(other + b, device="meta")
        return
    real = (torch.empty(run + a, device="meta") + torch.empty(other + b, device="meta")).shape
    if rule is not None:
        assert isinstance(rule[0], Group)
        tail = [int(i.value) for i in rule[1:] if isinstance(i, Size)]
        assert len(tail) == len(rule) - 1 and tuple(real[len(real) - len(tail) :]) == tuple(tail)


def test_a_rank_test_in_an_and_narrows_and_names_the_axes_it_makes(tmp_path: Path) -> None:
    source = (
        "def p(x: Float[Tensor, '*B n d'], y: Float[Tensor, 'n']) -> Float[Tensor, 'n']:\n"
        "    assert y.ndim == 1 and x.ndim == 2\n"
        "    return x.sum(0)\n"
        "def q(x: Float[Tensor, '*B n d'], flag: bool) -> Float[Tensor, 'n d']:\n"
        "    if flag and x.ndim == 4:\n"
        "        return x.sum(0)\n"
        "    return x.reshape(-1, x.shape[-2], x.shape[-1]).sum(0)\n"
        "def r(x: Float[Tensor, '... d']) -> Float[Tensor, 'd']:\n"
        "    assert len(x.shape) == 2, 'a matrix'\n"
        "    return x.T\n"
    )
    assert check(tmp_path, source) == [
        """3: return of p(): dim 'n' is n in x "*B n d" but d in x.sum(0) "d\"""",
        """6: return of q(): x.sum(0) "?B[1] n d" has 3 dims, expected 2 for 'return' "n d\"""",
        """10: return of r(): x.T "d ?x.shape[0]" has 2 dims, expected 1 for 'return' "d\"""",
    ]


# Ops that reach into a run from the front: `x[0]`, `x.sum(0)`, `torch.stack(xs)` of
# "*batch 3" read the run's first axis, `?batch[0]`, and leave `*batch[1:]`.

FRONT_FOUND = [
    pytest.param(
        "def f(x: Float[Tensor, '*b d'], w: Float[Tensor, 'e d']) -> None:\n    x[0] @ w\n",
        ['2: x[0] @ w: inner dim is d in x[0] "*b[1:] d" but e in w "e d"; did you mean w.mT?'],
        id="index-then-matmul",
    ),
    pytest.param(
        "def f(x: Float[Tensor, '*b 3']) -> None:\n    x.new_zeros(*x.shape[:-1], 4) + x\n",
        [
            '2: x.new_zeros(*x.shape[:-1], 4) + x: x.new_zeros(*x.shape[:-1], 4) "*b 4" and '
            'x "*b 3": 4 lines up with 3 (torch would broadcast silently where one is 1, and '
            "fail otherwise)"
        ],
        id="new-zeros-of-the-run",
    ),
    pytest.param(
        "def g(y: Float[Tensor, '4 *r']) -> None: ...\n"
        "def f(x: Float[Tensor, '*b 3']) -> None:\n    g(torch.moveaxis(x, -1, 0))\n",
        [
            """3: g(torch.moveaxis(x, -1, 0)): dim '4' is 3 in torch.moveaxis(x, -1, 0) "3 *b", """
            'expected 4 ("4 *r")'
        ],
        id="moveaxis-to-the-front",
    ),
]


FRONT_FOUND.append(
    pytest.param(
        "def f(x: Float[Tensor, '*b n 1']) -> None:\n"
        "    torch.ones((*x.shape[:-1], 2)) + x.new_zeros([*x.shape[:-1], 3])\n",
        [
            "2: torch.ones((*x.shape[:-1], 2)) + x.new_zeros([*x.shape[:-1], 3]): "
            'torch.ones((*x.shape[:-1], 2)) "*b n 2" and x.new_zeros([*x.shape[:-1], 3]) '
            '"*b n 3": 2 lines up with 3 (torch would broadcast silently where one is 1, and '
            "fail otherwise)"
        ],
        id="sizes-spliced-in-a-tuple",
    )
)

FRONT_FOUND.append(
    pytest.param(
        "def f(x: Float[Tensor, '*b 1'], c: Float[Tensor, '*b 3 4']) -> None:\n"
        "    torch.ones(x.shape[:-1] + (3,)) + c.broadcast_to(x.shape[:-1] + (3, 4))\n",
        [
            "2: torch.ones(x.shape[:-1] + (3,)) + c.broadcast_to(x.shape[:-1] + (3, 4)): "
            'torch.ones(x.shape[:-1] + (3,)) "*b 3" and c.broadcast_to(x.shape[:-1] + (3, 4)) '
            '"*b 3 4": 3 lines up with 4 (torch would broadcast silently where one is 1, and '
            "fail otherwise)"
        ],
        id="sizes-added-to-a-shape",
    )
)

FRONT_FOUND.append(
    pytest.param(
        "def g(y: Float[Tensor, '*r m 2']) -> None: ...\n"
        "def f(x: Float[Tensor, '*b n 1'], y: Float[Tensor, '*c 1']) -> None:\n"
        "    g(x * y)\n",
        ["""3: g(x * y): dim '2' is 1 in x * y "... n 1", expected 2 ("*r m 2")"""],
        id="runs-of-their-own-with-tails-of-two-lengths",
    )
)

FRONT_FOUND.append(
    pytest.param(
        "def g(y: Float[Tensor, 'h w 4']) -> None: ...\n"
        "def f(x: Float[Tensor, '*b 1']) -> None:\n"
        "    g(x.repeat(1, 1, 3))\n",
        [
            """3: g(x.repeat(1, 1, 3)): dim '4' is 3 in x.repeat(1, 1, 3) "? ? 3", expected 4 """
            """("h w 4") (? is an unknown size)"""
        ],
        id="repeat-of-a-run",
    )
)

FRONT_FOUND.append(
    pytest.param(
        "def g(y: Float[Tensor, '*r n 4']) -> None: ...\n"
        "def f(x: Float[Tensor, '*b 1'], y: Float[Tensor, 'n 3']) -> None:\n"
        "    g(x * y)\n",
        ["""3: g(x * y): dim '4' is 3 in x * y "... n 3", expected 4 ("*r n 4")"""],
        id="a-run-beside-a-longer-shape",
    )
)

FRONT_FOUND += [
    pytest.param(
        "def f(p: Float[Tensor, '*N Di']) -> Float[Tensor, '*N 1']:\n"
        "    return (p**2).sum(dim=-2, keepdim=True)\n",
        [
            """2: return of f(): dim '1' is Di in (p**2).sum(dim=-2, keepdim=True) """
            """"*N[:-1] 1 Di", expected 1 ("*N 1")"""
        ],
        id="sum-over-the-run's-last-axis",
    ),
    pytest.param(
        "def f(p: Float[Tensor, '*N Di']) -> Float[Tensor, '*N Di']:\n    return p.sum(-2)\n",
        [
            """2: return of f(): p.sum(-2) "*N[:-1] Di" has 0 dims besides *N (*N[:-1] is *N """
            """without its last axis), expected 1 for 'return' "*N Di\""""
        ],
        id="the-run's-last-axis-missing",
    ),
]

_LESS = "(*b[1:] is *b without its first axis)"

FRONT_FOUND += [
    pytest.param(
        "def f(x: Float[Tensor, '*b c']) -> Float[Tensor, '*b c']:\n    return x.mean(0)\n",
        [
            f"""2: return of f(): x.mean(0) "*b[1:] c" has 0 dims besides *b {_LESS}, """
            """expected 1 for 'return' "*b c\""""
        ],
        id="mean-over-the-run's-first-axis",
    ),
    pytest.param(
        "def g(x: Float[Tensor, '*r c'], y: Float[Tensor, '*r c']) -> None: ...\n"
        "def f(x: Float[Tensor, '*b c']) -> None:\n"
        "    g(x, x.sum(0))\n"
        "    w: Float[Tensor, '*b c'] = x[0]\n",
        [
            f"""3: g(x, x.sum(0)): x.sum(0) "*b[1:] c" has 0 dims besides *b {_LESS}, """
            """expected 1 for 'y' "*r c\"""",
            f"""4: w: x[0] "*b[1:] c" has 0 dims besides *b {_LESS}, expected 1 for 'w' "*b c\"""",
        ],
        id="a-row-for-the-whole",
    ),
]


@pytest.mark.parametrize(("source", "expected"), FRONT_FOUND)
def test_ops_into_a_run_from_the_front(tmp_path: Path, source: str, expected: list[str]) -> None:
    assert check(tmp_path, source) == expected


FRONT_SILENT = [
    pytest.param(
        "def f(x: Float[Tensor, '*b 3']) -> Float[Tensor, '*b 3']:\n    return x + x.mean(0)\n",
        id="mean-over-the-first-axis-broadcasts-back",
    ),
    pytest.param(
        "def f(x: Float[Tensor, '*b 3']) -> Float[Tensor, '2 *b 3']:\n"
        "    return torch.stack([x, x])\n",
        id="stack-in-front",
    ),
    pytest.param(
        "def f(x: Float[Tensor, '*b 3']) -> Float[Tensor, '*b 3']:\n"
        "    return x[:, None][:, 0] + x.unsqueeze(1).squeeze(1)\n",
        id="the-first-axis-put-back",
    ),
    pytest.param(
        # Three axes into "*n 4 4": code that means a run of one axis (`n 4 4`).
        "def f(poses: Float[Tensor, '*n 4 4'], focus: Float[Tensor, '3']) -> None:\n"
        "    focus - poses[:, :3, 3:4].squeeze(-1)\n",
        id="indexing-past-the-run's-first-axis",
    ),
    pytest.param(
        "def f(poses: Float[Tensor, '*n 4 4'], w: Float[Tensor, '3 3']) -> None:\n"
        "    poses.transpose(0, 1) @ w\n"
        "    poses[0][0] @ w\n",
        id="two-axes-into-the-run",
    ),
    pytest.param(
        "def g(y: Float[Tensor, '*r 3']) -> None: ...\n"
        "def f(x: Float[Tensor, '*b 3'], i: int) -> None:\n"
        "    g(x[i])\n"
        "    g(torch.cat([x, x], dim=0))\n"
        "    for row in x:\n"
        "        g(row)\n",
        id="rows",
    ),
    pytest.param(
        # A row's first axis is the run's second: not read.
        "def g(y: Float[Tensor, '*r e']) -> None: ...\n"
        "def f(x: Float[Tensor, '*b d']) -> None:\n"
        "    for row in x:\n"
        "        g(row.mean(0))\n",
        id="a-row-of-a-row",
    ),
]


FRONT_SILENT.append(
    pytest.param(
        # A helper's row, read from its body, in each caller's run: `*b[1:]` of "n m" is "m",
        # of "m" nothing, and of no axes at all, unknown (`x[0]` took `d` then).
        "def first(x: Float[Tensor, '*b d']):\n"
        "    return x[0]\n"
        "def f(y: Float[Tensor, 'n m d'], z: Float[Tensor, 'm d'], v: Float[Tensor, 'd']) -> None:\n"
        "    a: Float[Tensor, 'm d'] = first(y)\n"
        "    b: Float[Tensor, 'd'] = first(z)\n"
        "    c: Float[Tensor, ''] = first(v)\n",
        id="a-helper's-row",
    )
)

FRONT_SILENT.append(
    pytest.param(
        # Ops at the run's known end keep it whole.
        "def f(x: Float[Tensor, '*batch 3'], a: Float[Tensor, '*batch']) -> Float[Tensor, '*batch 2']:\n"
        "    y: Float[Tensor, '*batch'] = x.sum(dim=-1) + x[..., 0] + x.new_ones(*x.shape[:-1])\n"
        "    z: Float[Tensor, '*batch 3 1'] = x[..., None] + x.unsqueeze(-1)\n"
        "    return torch.stack([a, y], dim=-1)\n",
        id="ops-at-the-known-end",
    )
)

FRONT_SILENT.append(
    pytest.param(
        "def g(y: Float[Tensor, '*r n 3']) -> None: ...\n"
        "def f(x: Float[Tensor, '*b 1'], y: Float[Tensor, 'n 3']) -> None:\n"
        "    g(x * y)\n",
        id="a-run-beside-a-longer-shape",
    )
)

FRONT_SILENT.append(
    pytest.param(
        "def f(p: Float[Tensor, '*N Di']) -> Float[Tensor, '*N Di']:\n"
        "    q: Float[Tensor, '*M Di'] = p.sum(-2)\n"
        "    r = p.sum(-2).sum(0) + p.sum(0).sum(-2)\n"  # two axes out of one run: unknown
        "    return p.unsqueeze(-3).squeeze(-3) + p[..., 0, :, None].transpose(-1, -2)\n",
        id="the-run's-last-axis",
    )
)

FRONT_SILENT += [
    pytest.param(
        "def g(x: Float[Tensor, '*r c'], y: Float[Tensor, '*r c']) -> None: ...\n"
        "def f(x: Float[Tensor, '*b c']) -> Float[Tensor, '*b']:\n"
        "    g(x[0], x[1])\n"
        "    v: Float[Tensor, '*own c'] = x[0]\n"
        "    return x.mean(0)\n",  # as many axes as *b: its sizes are unknown
        id="rows-alike",
    ),
]


@pytest.mark.parametrize("source", FRONT_SILENT)
def test_right_ops_into_a_run_from_the_front_are_silent(tmp_path: Path, source: str) -> None:
    assert check(tmp_path, source) == []


def test_stack_and_cat_before_a_runs_last_axis_take_it_out_of_the_run() -> None:
    # `torch.stack([u, v, w], -2)` of "*B" tensors: the new axis before the run's last one.
    run = Group("B")
    last, rest = run_item(run, -1), Group("B", end=1)
    assert J.stack([(run,)] * 3, -2, ["u", "v", "w"]) == (rest, lit(3), last)
    joined = J.concat([(run, lit(2)), (run, lit(2))], -2, ["a", "b"])
    assert joined is not None and joined[0] == rest and joined[2:] == (lit(2),)
    with pytest.raises(Mismatch, match=re.escape('axis -1 is 2 in a "*B 2" but 3 in b "*B 3"')):
        J.concat([(run, lit(2)), (run, lit(3))], -2, ["a", "b"])


@pytest.mark.parametrize("head", ["b", "*b"], ids=["fixed-rank", "run"])
def test_a_shape_unpacked_into_a_starred_name_keeps_its_sizes(tmp_path: Path, head: str) -> None:
    source = (
        f"def f(x: Float[Tensor, '{head} c h w']) -> Float[Tensor, '{head} c h*w']:\n"
        "    *b, c, h, w = x.shape\n"
        "    return x.reshape(*b, c, {made})\n"
    )
    assert check(tmp_path, source.format(made="h * w")) == []
    assert check(tmp_path, source.format(made="w * w")) == [
        f"3: return of f(): dim 'h*w' is w*w in x.reshape(*b, c, w * w) \"{head} c w*w\", "
        f'expected h*w ("{head} c h*w")'
    ]


def test_a_minus_one_after_a_spliced_run_is_the_product_of_the_rest(tmp_path: Path) -> None:
    source = (
        "def f(x: Float[Tensor, '*b h d'], y: Float[Tensor, '*b {width}']) -> None:\n"
        "    z = x.view(*x.shape[:-2], -1) + y\n"
    )
    assert check(tmp_path, source.format(width="h*d")) == []
    assert check(tmp_path, source.format(width="d")) == [
        """2: x.view(*x.shape[:-2], -1) + y: x.view(*x.shape[:-2], -1) "*b d*h" and y "*b d": """
        "d*h lines up with d (torch would broadcast silently where one is 1, and fail otherwise)"
    ]


def test_a_run_reduced_from_the_back_lines_up_with_the_whole_run() -> None:
    run = Group("d")
    assert T.broadcast((run,), (Group("d", end=1), lit(1)), "x", "s") == (run,)
    with pytest.raises(Mismatch, match=re.escape("each axis of *d lines up with the one before")):
        T.broadcast((run,), (Group("d", end=1),), "x", "s")
    with pytest.raises(Mismatch, match=re.escape("lines up with the one 2 before it")):
        T.broadcast((run,), (Group("d", end=2),), "x", "s")


def test_ops_into_a_run_from_the_front_give_shapes() -> None:
    x: Shape = (Group("b"), lit(3))
    head, rest = run_item(Group("b"), 0), Group("b", cut=1)
    assert T.reduce(x, [0], False) == (rest, lit(3))
    assert T.reduce(x, [0], True) == (T.OP_ONE, rest, lit(3))
    assert T.unsqueeze(x, 0) == (T.OP_ONE, *x)
    assert T.unsqueeze(x, 1) == (head, T.OP_ONE, rest, lit(3))
    assert J.stack([x, x], 0, ["a", "b"]) == (lit(2), *x)
    assert T.moved((Size("name", "n"), Group("b")), 0, -1) == (Group("b"), Size("name", "n"))
    assert T.whole((head, rest, lit(3))) == x
    # Not two axes into a run, nor into an anonymous one.
    assert T.reduce(x, [1], False) is None
    assert T.reduce((anonymous_group(), lit(3)), [0], False) is None


_FRONT_OPS: dict[str, tuple[Callable[[Shape], Shape | None], Callable[[torch.Tensor], object]]] = {
    "x.sum(0)": (lambda s: T.reduce(s, [0], False), lambda t: t.sum(0)),
    "x.sum(0, keepdim=True)": (lambda s: T.reduce(s, [0], True), lambda t: t.sum(0, keepdim=True)),
    "x.sum(1)": (lambda s: T.reduce(s, [1], False), lambda t: t.sum(1)),
    "x.unsqueeze(1)": (lambda s: T.unsqueeze(s, 1), lambda t: t.unsqueeze(1)),
    "x.transpose(0, 1)": (lambda s: T.transpose(s, 0, 1), lambda t: t.transpose(0, 1)),
    "torch.stack([x, x])": (
        lambda s: J.stack([s, s], 0, ["a", "b"]),
        lambda t: torch.stack([t, t]),
    ),
    "torch.cat([x, x])": (lambda s: J.concat([s, s], 0, ["a", "b"]), lambda t: torch.cat([t, t])),
    "x.movedim(0, -1)": (lambda s: T.moved(s, 0, -1), lambda t: t.movedim(0, -1)),
    "x.movedim(-1, 1)": (lambda s: T.moved(s, -1, 1), lambda t: t.movedim(-1, 1)),
    "x.repeat(1, 2, 1, 3)": (
        lambda s: _repeated_run(s, [lit(1), lit(2), lit(1), lit(3)]),
        lambda t: t.repeat(1, 2, 1, 3),
    ),
    "x.repeat(2, 3)": (lambda s: _repeated_run(s, [lit(2), lit(3)]), lambda t: t.repeat(2, 3)),
    "x.sum(-2)": (lambda s: T.reduce(s, [-2], False), lambda t: t.sum(-2)),
    "x.sum(-2, keepdim=True)": (
        lambda s: T.reduce(s, [-2], True),
        lambda t: t.sum(-2, keepdim=True),
    ),
    "x.unsqueeze(-3)": (lambda s: T.unsqueeze(s, -3), lambda t: t.unsqueeze(-3)),
    "x.transpose(-1, -2)": (lambda s: T.transpose(s, -1, -2), lambda t: t.transpose(-1, -2)),
    "x.sum((0, -2))": (lambda s: T.reduce(s, [0, -2], False), lambda t: t.sum((0, -2))),
}


def _expand_run(out: Shape, run: list[int]) -> list[int | None] | None:
    """The sizes `out` stands for where `*batch` is `run`; None for a size of its own (the
    length of a `cat`), and None in all where the run is too short for the axes taken out
    of it."""
    got: list[int | None] = []
    for item in out:
        if isinstance(item, Group):
            if item.cut + item.end > len(run):
                return None
            got += run[item.cut : len(run) - item.end]
        elif item.kind == "int":
            got.append(int(item.value))
        else:
            at = [k for k in range(-3, 4) if item == run_item(Group("batch"), k)]
            if at and not -len(run) <= at[0] < len(run):
                return None
            got.append(run[at[0]] if at else None)
    return got


@settings(max_examples=300, deadline=None)
@given(
    head=st.lists(st.integers(2, 3), max_size=2),
    run=st.lists(st.integers(1, 3), max_size=3),
    tail=st.lists(st.integers(2, 3), max_size=2),
    op=st.sampled_from(sorted(_FRONT_OPS)),
)
def test_ops_into_a_run_from_the_front_agree_with_torch(
    head: list[int], run: list[int], tail: list[int], op: str
) -> None:
    # "h.. *batch t..": where the rule gives a shape and the run has the axes it takes out,
    # the shape is torch's, size for size.
    rule, real_op = _FRONT_OPS[op]
    out = rule((*map(lit, head), Group("batch"), *map(lit, tail)))
    if out is None:
        return
    got = _expand_run(out, run)
    if got is None:
        return
    try:
        real = real_op(torch.empty(head + run + tail, device="meta"))
    except (RuntimeError, IndexError):
        # `repeat` takes no fewer sizes than axes: its shape is for the runs it can repeat.
        if "repeat" in op:
            return
        pytest.fail(f"{op} gives {out} where torch fails")
    assert isinstance(real, torch.Tensor)
    assert len(got) == real.dim()
    assert all(g is None or g == r for g, r in zip(got, real.shape, strict=True))


@settings(max_examples=300, deadline=None)
@given(
    run_a=_sizes,
    run_b=_sizes,
    a=st.lists(st.integers(1, 3), max_size=3),
    b=st.lists(st.integers(1, 3), max_size=4),
    b_has_run=st.booleans(),
)
def test_runs_of_their_own_with_tails_of_any_length_agree_with_torch(
    run_a: list[int], run_b: list[int], a: list[int], b: list[int], b_has_run: bool
) -> None:
    # "... a" and "... b" with runs of their own, or "... a" and "b": where torch broadcasts
    # them, the axes the rule gives after its run are torch's last ones, a size nothing is
    # known of aside.
    if not b_has_run:
        run_b = []
    real = None
    try:
        meta = torch.empty(run_a + a, device="meta") + torch.empty(run_b + b, device="meta")
        real = meta.shape
    except RuntimeError:
        pass
    try:
        sb: Shape = (anonymous_group(), *map(lit, b)) if b_has_run else tuple(map(lit, b))
        rule = T.broadcast((anonymous_group(), *map(lit, a)), sb, "a", "b")
    except Mismatch:
        assert real is None
        return
    if rule is None or real is None:
        return
    assert isinstance(rule[0], Group) and not any(isinstance(i, Group) for i in rule[1:])
    tail = real[len(real) - len(rule) + 1 :]
    assert len(tail) == len(rule) - 1
    for item, size in zip(rule[1:], tail, strict=True):
        assert isinstance(item, Size)
        assert item.kind == "fresh" or item.value == size


@settings(deadline=None)
@given(
    run=_sizes,
    a=st.lists(st.integers(1, 3), max_size=3),
    b=st.lists(st.integers(1, 3), max_size=4),
    dim=st.integers(-4, -1),
    new_axis=st.booleans(),
)
def test_joins_of_a_run_and_a_fixed_shape_agree_with_torch(
    run: list[int], a: list[int], b: list[int], dim: int, new_axis: bool
) -> None:
    # `torch.stack([x, y], dim)` / `torch.cat` of "... a" and "b" (ranks that may differ):
    # where the rule finds them unequal, torch fails; where it gives a shape and torch runs,
    # the axes after its run are torch's last ones.
    shapes: list[Shape] = [(anonymous_group(), *map(lit, a)), tuple(map(lit, b))]
    join = J.stack if new_axis else J.concat
    real = None
    try:
        metas = [torch.empty(run + a, device="meta"), torch.empty(b, device="meta")]
        real = (torch.stack if new_axis else torch.cat)(metas, dim).shape
    except (RuntimeError, IndexError):
        pass
    try:
        rule = join(shapes, dim, ["x", "y"])
    except Mismatch:
        assert real is None
        return
    if rule is None or real is None:
        return
    assert isinstance(rule[0], Group) and not any(isinstance(i, Group) for i in rule[1:])
    tail = real[len(real) - len(rule) + 1 :]
    assert [i.value for i in rule[1:] if isinstance(i, Size)] == list(tail)


def test_a_join_of_a_fixed_shape_and_a_shape_with_a_run(tmp_path: Path) -> None:
    # `t` is "... 3" (one of two branches), `r` "3 3": joined from the back, the axes after
    # the run are known.
    source = """
def f(p: Float[Tensor, "*n 3"], flag: bool) -> Float[Tensor, "3 4"]:
    t = p.mean(0) if flag else torch.zeros(3)
    r = torch.eye(3)
    return torch.cat([r, r @ t[..., None]], dim={dim})
"""
    assert check(tmp_path, source.format(dim=-1)) == []
    assert check(tmp_path, source.format(dim=-2)) == [
        '5: torch.cat: axis -1 is 3 in r "3 3" but 1 in r @ t[..., None] "... 3 1"'
    ]


SHIFTED = """
def last(x: Float[Tensor, "*b 3"]) -> Float[Tensor, " *b"]:
    return x.norm(dim={last})


def pair(x: Float[Tensor, "*#b 3"], y: Float[Tensor, "*#b 3"]) -> Float[Tensor, " *b"]:
    return (x - y).norm(dim={last})
"""


def test_a_return_that_lost_an_axis_of_its_run_for_another(tmp_path: Path) -> None:
    # `x.norm(dim=-2)` of "*b 3" takes the run's last axis out and keeps the 3 in its place:
    # "*b" holds only where that axis is 3.
    assert check(tmp_path, SHIFTED.format(last=-1)) == []
    assert check(tmp_path, SHIFTED.format(last=-2)) == [
        """3: return of last(): dims '*b' are (*b) in x "*b 3" but (*b[:-1] 3) in """
        """x.norm(dim=-2) "*b[:-1] 3\"""",
        """7: return of pair(): dims '*b' are (*b) in x "*b 3" but (*b[:-1] 3) in """
        """(x - y).norm(dim=-2) "*b[:-1] 3\"""",
    ]


def test_a_view_that_flattens_a_run_gives_one_size_for_it(tmp_path: Path) -> None:
    # `image.view(-1, d)` of "*bs d" has as many rows as the run has elements, one size of
    # its own: the same for each such view, and no literal.
    source = (
        "def rows(image: Float[Tensor, '*bs d'], w: Float[Tensor, 'd e']) -> Float[Tensor, '*bs e']:\n"
        "    flat = image.reshape(-1, image.shape[-1])\n"
        "    keep = image[..., 0].reshape(-1) > 0\n"
        "    out = (flat @ w) * keep[:, None]\n"
        "    return out.view(*image.shape[:-1], -1)\n"
        "def centred(image: Float[Tensor, '*bs 3']) -> Float[Tensor, '*bs 3']:\n"
        "    flat = image.view(-1, 3)\n"
        "    return (flat - flat.median(dim=1).values).view(image.shape)\n"
    )
    assert check(tmp_path, source) == [
        '8: flat - flat.median(dim=1).values: flat "prod(*bs) 3" and flat.median(dim=1).values '
        '"prod(*bs)": 3 lines up with prod(*bs) (torch would broadcast silently where one is 1, '
        "and fail otherwise; holds only if prod(*bs) == 3, and nothing here says they are equal)"
    ]


def test_flatten_of_a_whole_run_gives_the_size_a_view_gives(tmp_path: Path) -> None:
    source = (
        "def f(x: Float[Tensor, '*bs d'], m: Float[Tensor, '*bs']) -> Float[Tensor, '*bs d']:\n"
        "    rows = x.flatten(0, -2) * m.flatten()[:, None]\n"
        "    same = rows + x.reshape(-1, x.shape[-1])\n"
        "    bad = x.flatten(end_dim=-2) * m.flatten()\n"
        "    return same.view(x.shape)\n"
    )
    assert check(tmp_path, source) == [
        '4: x.flatten(end_dim=-2) * m.flatten(): x.flatten(end_dim=-2) "prod(*bs) d" and '
        'm.flatten() "prod(*bs)": d lines up with prod(*bs) (torch would broadcast silently '
        "where one is 1, and fail otherwise)"
    ]

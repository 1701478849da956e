"""The static checker on tensors whose leading axes are a run of unknown length (`...`, `*batch`):
ops on the known trailing axes keep what they know about them."""

from pathlib import Path

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from shapesafe._static import _torch as T
from shapesafe._static import check_file
from shapesafe._static._unify import Group, Shape, Size, anonymous_group, lit
from shapesafe._static._values import Mismatch

HEADER = """\
import torch
from jaxtyping import Float
from torch import Tensor
"""


def check(tmp_path: Path, source: str) -> list[str]:
    path = tmp_path / "snippet.py"
    path.write_text(HEADER + source)
    offset = HEADER.count("\n")
    return [f"{f.line - offset}: {f.message}" for f in check_file(path)]


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


@pytest.mark.parametrize(("source", "expected"), FOUND)
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

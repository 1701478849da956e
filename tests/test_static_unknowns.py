"""Every size is a universal unknown: two names, a name and a literal, an int parameter are
independent, a sym is identified by the first size it must equal, and asserts and guards
say which sizes are equal."""

from pathlib import Path

import pytest

from tests.helpers import static_findings

HEADER = """\
import torch
import torch.nn.functional as F
from jaxtyping import Float
from torch import Tensor, nn
"""


def check(tmp_path: Path, body: str) -> list[str]:
    return static_findings(tmp_path, body, HEADER)


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        pytest.param(
            "def f(x: Float[Tensor, 'b c'], y: Float[Tensor, 'b 3']):\n    return x + y\n",
            '6: x + y: x "b c" and y "b 3": c lines up with 3 (torch would broadcast '
            "silently where one is 1, and fail otherwise; holds only if c == 3, and nothing here "
            "says they are equal)",
            id="name-against-a-literal",
        ),
        pytest.param(
            "def f(x: Float[Tensor, 'b d'], n: int):\n    return x @ torch.zeros(n, n)\n",
            '6: x @ torch.zeros(n, n): inner dim is d in x "b d" but n in torch.zeros(n, n) "n n" '
            "(holds only if d == n, and nothing here says they are equal)",
            id="name-against-an-int-parameter",
        ),
        pytest.param(
            "def f(x: Float[Tensor, 'batch seq d'], n_heads: int):\n"
            "    b, s, d = x.shape\n"
            "    q = x.view(b, s, n_heads, d // n_heads)\n"
            "    att: Float[Tensor, 'batch heads seq seq'] = q @ q.transpose(-2, -1)\n"
            "    return att\n",
            "8: att: dim 'seq' is seq in the annotation \"batch heads seq seq\" but n_heads in "
            'q @ q.transpose(-2, -1) "batch seq n_heads n_heads"',
            id="heads-split-but-never-transposed",
        ),
        pytest.param(
            "class M(nn.Module):\n"
            "    def __init__(self, d_model: int, d_hidden: int) -> None:\n"
            "        super().__init__()\n"
            "        self.up = nn.Linear(d_model, d_hidden)\n"
            "    def forward(self, x: Float[Tensor, 'b s d_model']) -> Float[Tensor, 'b s d_model']:\n"
            "        return self.up(x)\n",
            "10: return of forward(): dim 'd_model' is d_model in x \"b s d_model\" but d_hidden "
            'in self.up(x) "b s d_hidden" (holds only if d_model == d_hidden, and nothing here '
            "says they are equal)",
            id="the-wrong-layer-width",
        ),
        pytest.param(
            "import shapesafe as ss\n"
            "def f(x: Float[Tensor, 'batch seq d_model'], n_heads: int):\n"
            "    qh: Float[Tensor, 'batch seq heads head_dim'] = ss.split_heads(x, n_heads)\n"
            "    return qh\n",
            "7: qh: dim 'seq' is seq in the annotation \"batch seq heads head_dim\" but n_heads in "
            'ss.split_heads(x, n_heads) "batch n_heads seq d_model//n_heads"',
            id="a-callee-dim-that-its-body-sets",
        ),
        pytest.param(
            "def f(x: Float[Tensor, 'b s d']) -> Float[Tensor, 'b s d']:\n"
            "    y: Float[Tensor, 'b n n'] = x\n"
            "    return x\n",
            '6: y: dim \'n\' is s in x "b s d" but d in x "b s d"',
            id="a-local-name-bound-twice",
        ),
    ],
)
def test_a_relation_that_needs_two_unknowns_equal_is_a_finding(
    tmp_path: Path, body: str, expected: str
) -> None:
    assert check(tmp_path, body) == [expected]


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(
            "def f(x: Float[Tensor, 'b c']) -> Float[Tensor, 'b 3']:\n"
            "    assert x.shape[-1] == 3\n"
            "    return x\n",
            id="assert",
        ),
        pytest.param(
            "def f(x: Float[Tensor, '*bs c']) -> Float[Tensor, '*bs 3']:\n"
            "    if x.shape[-1] == 3:\n"
            "        return x\n"
            "    raise ValueError\n",
            id="if-guard-around-a-run",
        ),
        pytest.param(
            "def f(x: Float[Tensor, 'b c']) -> Float[Tensor, 'b 3']:\n"
            "    if x.shape[1] != 3:\n"
            "        raise ValueError\n"
            "    return x\n",
            id="guard-that-raises",
        ),
        pytest.param(
            "def f(x: Float[Tensor, 'b c'], y: Float[Tensor, 'b d']):\n"
            "    assert x.shape == y.shape\n"
            "    return x + y\n",
            id="equal-shapes",
        ),
        pytest.param(
            "def f(x: Float[Tensor, 'b c']) -> Float[Tensor, 'b 3']:\n"
            "    if not x.size(1) == 3 or x.ndim != 2:\n"
            "        raise ValueError\n"
            "    return x\n",
            id="negated-guard-that-raises",
        ),
        pytest.param(
            "def f(x: Float[Tensor, 'b c'], n: int):\n"
            "    if n == x.shape[1] and n > 0:\n"
            "        return x @ torch.zeros(n, n)\n",
            id="and",
        ),
        pytest.param(
            "class M(nn.Module):\n"
            "    def __init__(self, cfg) -> None:\n"
            "        super().__init__()\n"
            "        self.up = nn.Linear(cfg.d_model, cfg.d_mlp)\n"
            "        self.down = nn.Linear(cfg.d_mlp, cfg.d_model)\n"
            "    def forward(self, x: Float[Tensor, 'b s d_model']) -> Float[Tensor, 'b s d_model']:\n"
            "        return self.down(self.up(x))\n",
            id="config-attributes-identified-by-construction",
        ),
        pytest.param(
            "class M(nn.Module):\n"
            "    def __init__(self, d_model: int, n_heads: int) -> None:\n"
            "        super().__init__()\n"
            "        self.n_heads, self.d_head = n_heads, d_model // n_heads\n"
            "        self.out = nn.Linear(d_model, d_model)\n"
            "    def forward(self, x: Float[Tensor, 'b s d_model']) -> Float[Tensor, 'b s d_model']:\n"
            "        b, s, _ = x.shape\n"
            "        q = x.view(b, s, self.n_heads, self.d_head).transpose(1, 2)\n"
            "        y = (q @ q.transpose(-2, -1)).softmax(-1) @ q\n"
            "        return self.out(y.transpose(1, 2).reshape(b, s, -1))\n",
            id="heads-from-d_model",
        ),
        pytest.param(
            "class M(nn.Module):\n"
            "    def load(self, pixels) -> None:\n"
            "        self.rgb: Float[Tensor, '1 3 H W'] = torch.from_numpy(pixels)\n"
            "        self.embed(self.rgb)\n"
            "    def embed(self, img: Float[Tensor, 'B 3 256 256']) -> None:\n"
            "        pass\n",
            id="an-attribute-annotation-binds-its-own-names",
        ),
        pytest.param(
            "x: Float[Tensor, 'b d'] = torch.zeros(2, 3)\n",
            id="module-level-annotation-binds-its-names",
        ),
        pytest.param(
            "def slopes(n: int) -> Float[Tensor, 'q k']:\n"
            "    return torch.zeros(n, n)\n"
            "def bias(n_ctx: int) -> Float[Tensor, 'query key']:\n"
            "    slope: Float[Tensor, 'query key'] = slopes(n_ctx)\n"
            "    return slope\n",
            id="a-local-binds-the-names-only-the-return-has",
        ),
    ],
)
def test_facts_make_relations_hold(tmp_path: Path, body: str) -> None:
    assert check(tmp_path, body) == []


def test_a_sym_identified_once_differs_from_another_of_its_class(tmp_path: Path) -> None:
    body = (
        "class M(nn.Module):\n"
        "    def __init__(self, cfg) -> None:\n"
        "        super().__init__()\n"
        "        self.up = nn.Linear(cfg.d_model, cfg.d_mlp)\n"
        "        self.norm = nn.LayerNorm(cfg.d_model)\n"
        "    def forward(self, x: Float[Tensor, 'b s d_model']):\n"
        "        return self.norm(self.up(x))\n"
    )
    assert check(tmp_path, body) == [
        '11: self.norm(self.up(x)): last dim is cfg.d_mlp in self.up(x) "b s cfg.d_mlp" but '
        "the layer's normalized_shape is cfg.d_model (holds only if cfg.d_model == cfg.d_mlp, "
        "and nothing here says they are equal)"
    ]


def test_a_guard_holds_only_where_it_was_checked(tmp_path: Path) -> None:
    body = (
        "def f(x: Float[Tensor, 'b c'], y: Float[Tensor, 'b 3']):\n"
        "    if x.shape[1] == 3:\n"
        "        z = x + y\n"
        "    else:\n"
        "        z = y\n"
        "    return x + y\n"
    )
    assert check(tmp_path, body) == [
        '10: x + y: x "b c" and y "b 3": c lines up with 3 (torch would broadcast silently '
        "where one is 1, and fail otherwise; holds only if c == 3, and nothing here says they "
        "are equal)"
    ]

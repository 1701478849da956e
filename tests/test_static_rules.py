"""Static shape rules of convolutions, pooling, padding, grids, norms over channels and the
matrix ops (diag, cov): their findings, and their shapes against torch's own."""

import tempfile
import warnings
from collections.abc import Callable
from pathlib import Path

import jaxtyping
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import example, given, settings
from hypothesis import strategies as st

from shapesafe._static._rules import dtypes
from shapesafe.shapes import shapes_of
from tests.helpers import static_findings

HEADER = """\
import torch
import torch.nn.functional as F
from jaxtyping import Float
from torch import Tensor, nn
"""


def check_source(tmp_path: Path, source: str) -> list[str]:
    return static_findings(tmp_path, source, HEADER)


def static_shape(
    dims: list[int], expr: str, setup: str = "", other: list[int] | None = None
) -> tuple[str, ...] | None:
    """The shape the checker gives `y = EXPR` in a function of `x` with literal sizes `dims`
    (and of `g` with sizes `other`), after the statement `setup` in its body; None where it
    can't tell, or can't size an axis."""
    params = f'x: Float[Tensor, "{" ".join(map(str, dims))}"]'
    if other is not None:
        params += f', g: Float[Tensor, "{" ".join(map(str, other))}"]'
    body = f"    {setup}\n" if setup else ""
    source = f"{HEADER}\n\ndef f({params}):\n{body}    y = {expr}\n"
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "rule.py"
        path.write_text(source)
        found = [b for b in shapes_of(path) if b.name == "y"]
    if not found or found[0].shape is None or any(s.startswith("?") for s in found[0].shape):
        return None
    return found[0].shape


def torch_shape(fn: Callable[[], torch.Tensor]) -> tuple[str, ...] | None:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # cov of too few observations, say
            return tuple(str(n) for n in fn().shape)
    except (RuntimeError, ValueError, IndexError):
        return None


def agree(rule: tuple[str, ...] | None, real: tuple[str, ...] | None) -> None:
    """Where the rule gives a shape, torch runs and gives that shape."""
    if rule is not None:
        assert rule == real


# Findings


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        pytest.param(
            "class Net(nn.Module):\n"
            "    def __init__(self, c_in: int, c_out: int) -> None:\n"
            "        super().__init__()\n"
            "        self.conv = nn.Conv2d(c_in, c_out, 3, padding=1)\n"
            "        self.bn = nn.BatchNorm2d(c_in)\n"
            "    def forward(self, x: Float[Tensor, 'b c_in h w']):\n"
            "        return self.bn(self.conv(x))\n",
            [
                "11: self.bn(self.conv(x)): channel dim is c_out in self.conv(x) "
                '"b c_out h w" but the layer\'s num_features is c_in'
            ],
            id="batchnorm-after-conv-of-other-width",
        ),
        pytest.param(
            "def f(x: Float[Tensor, 'b 100 16']):\n"
            "    conv = nn.Conv1d(16, 32, 3)\n"
            "    return conv(x)\n",
            ['7: conv(x): channel dim is 100 in x "b 100 16" but the layer\'s in_channels is 16'],
            id="conv1d-on-channels-last",
        ),
        pytest.param(
            "def f(x: Float[Tensor, 'b 3 h w'], w: Float[Tensor, 'o 4 3 3']):\n"
            "    return F.conv2d(x, w)\n",
            [
                '6: F.conv2d(x): channel dim is 3 in x "b 3 h w" but weight w "o 4 3 3" '
                "takes 4; in_channels is 4"
            ],
            id="functional-conv-weight",
        ),
        pytest.param(
            "def f(x: Float[Tensor, 'b 32 h w']):\n"
            "    gn = nn.GroupNorm(8, 64)\n"
            "    return gn(x)\n",
            ['7: gn(x): channel dim is 32 in x "b 32 h w" but the layer\'s num_channels is 64'],
            id="groupnorm",
        ),
        pytest.param(
            "def f(x: Float[Tensor, 'b c']):\n    pool = nn.MaxPool2d(2)\n    return pool(x)\n",
            [
                '7: pool(x): x "b c" has 2 dims, but a 2-d op takes 4 '
                "(batch, channels, 2 spatial) or 3 (no batch)"
            ],
            id="pool-rank",
        ),
        pytest.param(
            "def f(x: Float[Tensor, 'n c h w'], g: Float[Tensor, 'n ho wo 3']):\n"
            "    return F.grid_sample(x, g)\n",
            [
                '6: grid_sample(x, g): last dim of g "n ho wo 3" is 3, but a 4-d input '
                "takes 2 coordinates"
            ],
            id="grid-sample-coordinates",
        ),
        pytest.param(
            "def f(x: Float[Tensor, 'n c h w'], g: Float[Tensor, 'm ho wo 2']):\n"
            "    return F.grid_sample(x, g)\n",
            ['6: grid_sample(x, g): batch dim is n in x "n c h w" but m in g "m ho wo 2"'],
            id="grid-sample-batch",
        ),
        pytest.param(
            "def f(p: Float[Tensor, 'b v'], q: Float[Tensor, 'b k']):\n"
            "    return F.kl_div(p, q, reduction='none')\n",
            [
                '6: kl_div: p "b v" and q "b k": v lines up with k (torch would broadcast '
                "silently where one is 1, and fail otherwise)"
            ],
            id="kl-div-broadcast",
        ),
        pytest.param(
            "def f(x: Float[Tensor, 'a b c']):\n    return torch.diag(x)\n",
            ['6: torch.diag(x): x "a b c" has 3 dims; torch.diag takes 1 or 2'],
            id="diag-rank",
        ),
        pytest.param(
            "def f(x: Float[Tensor, 'v n']) -> Float[Tensor, 'n n']:\n    return torch.cov(x)\n",
            ['6: return of f(): dim \'n\' is n in x "v n" but v in torch.cov(x) "v v"'],
            id="cov-of-rows",
        ),
        pytest.param(
            "def f(x: Float[Tensor, 'b c h w']) -> Float[Tensor, 'b c h w']:\n"
            "    return F.avg_pool2d(x, 2)\n",
            [],
            id="pool-size-unknown-is-silent",
        ),
    ],
)
def test_rule_findings(tmp_path: Path, body: str, expected: list[str]) -> None:
    assert check_source(tmp_path, body) == expected


def test_layers_keep_and_change_the_right_dims(tmp_path: Path) -> None:
    path = tmp_path / "net.py"
    path.write_text(
        HEADER + "class Net(nn.Module):\n"
        "    def __init__(self, c_in: int, c_out: int) -> None:\n"
        "        super().__init__()\n"
        "        self.conv = nn.Conv2d(c_in, c_out, 3, padding='same')\n"
        "        self.norm = nn.InstanceNorm2d(c_out)\n"
        "        self.pool = nn.AdaptiveAvgPool2d((1, None))\n"
        "    def forward(self, x: Float[Tensor, 'b c_in h w']):\n"
        "        y = self.norm(self.conv(x))\n"
        "        z = self.pool(y)\n"
        "        return z\n"
    )
    found = {b.name: b.shape for b in shapes_of(path) if b.name in ("y", "z")}
    assert found == {"y": ("b", "c_out", "h", "w"), "z": ("b", "c_out", "1", "w")}


# Against torch: each shape the rule gives is torch's.

_size = st.integers(1, 7)


@settings(max_examples=40, deadline=None)
@given(
    n=st.integers(1, 3),
    batched=st.booleans(),
    spatial=st.lists(_size, min_size=3, max_size=3),
    cin=st.integers(1, 3),
    kernel=st.integers(1, 3),
    stride=st.integers(1, 3),
    padding=st.sampled_from(["0", "1", "2", "'same'", "'valid'"]),
    dilation=st.integers(1, 2),
)
def test_conv_layer_agrees_with_torch(
    n: int,
    batched: bool,
    spatial: list[int],
    cin: int,
    kernel: int,
    stride: int,
    padding: str,
    dilation: int,
) -> None:
    if padding == "'same'":
        stride = 1  # torch takes 'same' only with stride 1
    dims = [2] * batched + [cin] + spatial[:n]
    args = f"{cin}, 4, {kernel}, stride={stride}, padding={padding}, dilation={dilation}"
    layer = f"conv = nn.Conv{n}d({args})"
    made = eval(f"torch.nn.Conv{n}d({args}, device='meta')")
    agree(
        static_shape(dims, "conv(x)", layer),
        torch_shape(lambda: made(torch.empty(dims, device="meta"))),
    )


@settings(max_examples=40, deadline=None)
@given(
    n=st.integers(1, 3),
    batched=st.booleans(),
    spatial=st.lists(_size, min_size=3, max_size=3),
    kind=st.sampled_from(["Max", "Avg"]),
    kernel=st.integers(1, 3),
    stride=st.sampled_from(["None", "1", "2"]),
    padding=st.integers(0, 1),
)
def test_pool_agrees_with_torch(
    n: int, batched: bool, spatial: list[int], kind: str, kernel: int, stride: str, padding: int
) -> None:
    dims = [2] * batched + [3] + spatial[:n]
    args = f"{kernel}, stride={stride}, padding={padding}"
    x = torch.empty(dims)
    made = eval(f"torch.nn.{kind}Pool{n}d({args})")
    real = torch_shape(lambda: made(x))
    if 2 * padding <= kernel and min(spatial[:n]) >= kernel:
        assert static_shape(dims, "pool(x)", f"pool = nn.{kind}Pool{n}d({args})") == real
    agree(static_shape(dims, "pool(x)", f"pool = nn.{kind}Pool{n}d({args})"), real)
    agree(static_shape(dims, f"F.{kind.lower()}_pool{n}d(x, {args})"), real)


@settings(max_examples=60, deadline=None)
@given(
    dims=st.lists(_size, min_size=1, max_size=3),
    pads=st.lists(st.integers(0, 2), min_size=0, max_size=3).map(lambda p: p * 2),
)
def test_pad_agrees_with_torch(dims: list[int], pads: list[int]) -> None:
    args = ", ".join(map(str, pads))
    agree(
        static_shape(dims, f"F.pad(x, ({args}))"),
        torch_shape(lambda: F.pad(torch.empty(dims), tuple(pads))),
    )


@settings(max_examples=60, deadline=None)
@given(
    dims=st.lists(_size, min_size=0, max_size=3),
    k=st.integers(-2, 2),
    op=st.sampled_from(["diag", "cov", "corrcoef", "diagonal", "diagonal-method"]),
    axes=st.tuples(st.integers(-3, 2), st.integers(-3, 2)),
)
def test_matrix_ops_agree_with_torch(
    dims: list[int], k: int, op: str, axes: tuple[int, int]
) -> None:
    x = torch.ones(dims)
    if op == "diagonal":
        a, b = axes
        expr = f"torch.diagonal(x, {k}, {a}, {b})"
        agree(static_shape(dims, expr), torch_shape(lambda: torch.diagonal(x, k, a, b)))
    elif op == "diagonal-method":
        a, b = axes
        expr = f"x.diagonal(dim1={a}, dim2={b}, offset={k})"
        agree(static_shape(dims, expr), torch_shape(lambda: x.diagonal(k, a, b)))
    elif op == "diag":
        agree(static_shape(dims, f"torch.diag(x, {k})"), torch_shape(lambda: torch.diag(x, k)))
    else:
        fn = getattr(torch, op)
        agree(static_shape(dims, f"torch.{op}(x)"), torch_shape(lambda: fn(x)))


@pytest.mark.parametrize(
    ("expr", "expected"),
    [
        pytest.param(
            "torch.diagonal(covs, dim1=-2, dim2=-1)[..., :, None] * freqs[None, :] ** 2",
            [],
            id="variances-per-frequency",
        ),
        pytest.param(
            "covs.diagonal(dim1=-2, dim2=-1) * freqs[None, :] ** 2",
            [
                "8: covs.diagonal(dim1=-2, dim2=-1) * (freqs[None, :] ** 2): covs.diagonal(dim1=-2, "
                'dim2=-1) "*b d" and (freqs[None, :] ** 2) "1 f": d lines up with f (torch would '
                "broadcast silently where one is 1, and fail otherwise)"
            ],
            id="new-axis-dropped",
        ),
    ],
)
def test_diagonal_beside_a_run(tmp_path: Path, expr: str, expected: list[str]) -> None:
    body = (
        f"\n\ndef f(covs: Float[Tensor, '*b d d'], freqs: Float[Tensor, 'f']):\n    return {expr}\n"
    )
    assert check_source(tmp_path, body) == expected


@settings(max_examples=40, deadline=None)
@given(
    three=st.booleans(),
    sizes=st.lists(_size, min_size=6, max_size=6),
    coords=st.integers(2, 3),
)
def test_grid_sample_agrees_with_torch(three: bool, sizes: list[int], coords: int) -> None:
    n, c, *rest = sizes
    spatial = rest[: 2 + three]
    x_dims = [n, c, *spatial]
    g_dims = [n, *reversed(spatial), coords]
    x, grid = torch.ones(x_dims), torch.zeros(g_dims)
    real = torch_shape(lambda: F.grid_sample(x, grid, align_corners=False))
    agree(static_shape(x_dims, "F.grid_sample(x, g, align_corners=False)", other=g_dims), real)


@settings(max_examples=40, deadline=None)
@given(a=st.lists(st.integers(1, 3), max_size=3), b=st.lists(st.integers(1, 3), max_size=3))
def test_kl_div_agrees_with_torch(a: list[int], b: list[int]) -> None:
    agree(
        static_shape(a, "F.kl_div(x, g, reduction='none')", other=b),
        torch_shape(lambda: F.kl_div(torch.ones(a), torch.ones(b), reduction="none")),
    )


# Subscripts


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        pytest.param(
            "def f(x: Float[Tensor, 'b n d'], m: Bool[Tensor, 'b d']):\n    return x[m]\n",
            ['6: x[m]: mask m "b d" has d at its axis 1 but the axis of x it picks from is n'],
            id="mask-of-other-axes",
        ),
        pytest.param(
            "def f(x: Float[Tensor, 'b n d'], y: Float[Tensor, 'b d']):\n"
            "    x[:, 0] = y\n"
            "    x[:, :, 0] = y\n"
            "    return x\n",
            [
                '7: x[:, :, 0] = y: x[:, :, 0] "b n" and y "b d": n lines up with d (torch '
                "would broadcast silently where one is 1, and fail otherwise)"
            ],
            id="assignment",
        ),
        pytest.param(
            "def f(pos: Float[Tensor, '*batch 3']) -> Float[Tensor, '*batch 3']:\n"
            "    return pos[..., [0, 1]]\n",
            [
                "6: return of f(): dim '3' is 2 in pos[..., [0, 1]] \"*batch 2\", "
                'expected 3 ("*batch 3")'
            ],
            id="literal-list",
        ),
        pytest.param(
            "def f(x: Float[Tensor, 'b h w']):\n"
            "    return (x[:, 1:] != x[:, :-1]), (x[:, 2:] != x[:, :-1])\n",
            [
                '6: x[:, 2:] compared with x[:, :-1]: x[:, 2:] "b h-2 w" and x[:, :-1] '
                '"b h-1 w": h-2 lines up with h-1 (torch would broadcast silently where one '
                "is 1, and fail otherwise)"
            ],
            id="shifted-slices",
        ),
        pytest.param(
            "def f(x: Float[Tensor, 'b n d'], i: int) -> Float[Tensor, 'b d']:\n    return x[i]\n",
            ['6: return of f(): dim \'b\' is b in x "b n d" but n in x[i] "n d"'],
            id="int-variable",
        ),
        pytest.param(
            "def f(x: Float[Tensor, 'b n d'], ids: Int[Tensor, 'b k']) -> Float[Tensor, 'b k d']:\n"
            "    rows = torch.arange(x.shape[0])[:, None]\n"
            "    return x[rows, ids]\n",
            [],
            id="rows-and-columns",
        ),
    ],
)
def test_subscript_findings(tmp_path: Path, body: str, expected: list[str]) -> None:
    source = body.replace("from jaxtyping import Float", "")
    found = check_source(tmp_path, "from jaxtyping import Bool, Int\n" + source)
    assert [f.split(": ", 1)[1] for f in found] == [e.split(": ", 1)[1] for e in expected]


_PARTS = [":", "1:", ":-1", "None", "...", "0", "-1", "i", "[0, 1]", "[1]", "ids", "ids2", ":"]


@settings(max_examples=150, deadline=None)
@given(
    dims=st.lists(st.integers(2, 4), min_size=1, max_size=4),
    parts=st.lists(st.sampled_from(_PARTS), min_size=1, max_size=4),
)
# Two lists apart only by a `...` that stands for no axis are side by side.
@example(dims=[2, 2], parts=["None", "[0, 1]", "...", "[0, 1]"])
def test_subscript_agrees_with_torch(dims: list[int], parts: list[str]) -> None:
    # Each axis the checker sizes is torch's, and it gives as many axes as torch.
    index = ", ".join(parts)
    spec = " ".join(map(str, dims))
    source = (
        f'{HEADER}from jaxtyping import Int\n\n\ndef f(x: Float[Tensor, "{spec}"], i: int, '
        f'ids: Int[Tensor, "2"], ids2: Int[Tensor, "3 1"]):\n    y = x[{index}]\n'
    )
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "rule.py"
        path.write_text(source)
        found = [b for b in shapes_of(path) if b.name == "y"]
    env = {
        "x": torch.zeros(dims),
        "i": 1,
        "ids": torch.zeros(2, dtype=torch.long),
        "ids2": torch.ones(3, 1, dtype=torch.long),
    }
    real = torch_shape(lambda: eval(f"x[{index}]", env))
    rule = found[0].shape if found else None
    if rule is None:
        return
    assert real is not None, (index, rule)
    assert len(rule) == len(real), (index, rule, real)
    assert all(a in ("_", b) for a, b in zip(rule, real, strict=True)), (index, rule, real)


# Dtypes of arguments


def test_argument_of_another_dtype_kind(tmp_path: Path) -> None:
    source = (
        "from jaxtyping import Bool, Int\n"
        "def g(ids: Int[Tensor, 'a'], mask: Bool[Tensor, 'a']) -> Int[Tensor, 'a']:\n"
        "    return ids\n"
        "def either(x: Float[Tensor, 'n'] | Int[Tensor, 'n']) -> None: ...\n"
        "def f(mask: Bool[Tensor, 'a'], ids: Int[Tensor, 'a'], z: Float[Tensor, 'a']):\n"
        "    either(ids)\n"
        "    g(ids, mask)\n"
        "    return g(mask, ids)\n"
    )
    assert check_source(tmp_path, source) == [
        "12: g(mask, ids): mask is Bool[...] but parameter 'ids' takes Int[...]",
        "12: g(mask, ids): ids is Int[...] but parameter 'mask' takes Bool[...]",
    ]


@pytest.mark.parametrize(
    ("given", "wanted", "clashes"),
    [
        ("Bool", "Int", True),
        ("Int", "Float", True),
        ("Float", "Inexact", False),
        ("Int", "Integer", False),
        ("Bool", "Shaped", False),
        ("UInt", "Real", False),
        ("Complex", "Real", True),
    ],
)
def test_dtype_labels_against_torch(given: str, wanted: str, clashes: bool) -> None:
    # The labels clash exactly when no torch dtype of one passes jaxtyping's other.
    dts = [torch.bool, torch.uint8, torch.int32, torch.int64, torch.float32, torch.complex64]

    def admits(label: str, dt: torch.dtype) -> bool:
        return isinstance(torch.zeros(1, dtype=dt), getattr(jaxtyping, label)[torch.Tensor, "1"])

    both = [dt for dt in dts if admits(given, dt) and admits(wanted, dt)]
    assert dtypes.clash(given, wanted) is clashes
    assert (not both) is clashes


def test_a_dtype_the_function_tests_is_not_taken_from_its_annotation(tmp_path: Path) -> None:
    source = (
        "from jaxtyping import Bool\n"
        "def as_colors(mask: Bool[Tensor, 'n 1']) -> Float[Tensor, 'n 3']:\n"
        "    return mask.float().expand(-1, 3)\n"
        "def show(image: Float[Tensor, 'n 1']) -> Float[Tensor, 'n 3']:\n"
        "    if image.dtype == torch.bool:\n"
        "        return as_colors(image)\n"
        "    return image.expand(-1, 3)\n"
    )
    assert check_source(tmp_path, source) == []


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        pytest.param(
            "def f(c: Float[Tensor, '1 3'], rays: Float[Tensor, '*b 3']):\n"
            "    p = torch.zeros((3, 4))\n"
            "    p[:3, 3] = c\n"
            "    flat = rays.view(-1, 3)\n"
            "    lines = torch.empty((flat.shape[0] * 2, 3))\n"
            "    lines[0::2] = flat\n",
            [],
            id="leading-ones-dropped",
        ),
        pytest.param(
            "def f(w: Float[Tensor, 'batch']):\n    m = torch.eye(4)\n    m[2, 3] = -w\n",
            [
                '7: m[2, 3] = -w: -w "batch" has more dims than m[2, 3] "", and its extra '
                "leading axes are not 1 (holds only if batch == 1)"
            ],
            id="more-dims",
        ),
    ],
)
def test_assignment_into_a_subscript(tmp_path: Path, body: str, expected: list[str]) -> None:
    assert check_source(tmp_path, body) == expected


# numpy's functions, against numpy

_NUMPY_CALLS = [
    "np.sum(x, axis=-1)",
    "np.sum(x, axis=0, keepdims=True)",
    "x.sum(axis=-1, keepdims=True)",
    "x.mean(axis=0)",
    "np.max(x, axis=-1)",
    "np.concatenate([x, x], axis=-1)",
    "np.concatenate([x, x])",
    "np.stack([x, x], axis=1)",
    "np.expand_dims(x, 0)",
    "np.transpose(x)",
    "np.linalg.norm(x, axis=-1)",
    "np.exp(x)",
    "np.where(x > 0, x, 0.0)",
    "np.maximum(x, x[..., :1])",
    "np.zeros((2, 3))",
    "np.squeeze(x[None], 0)",
    "np.reshape(x, (-1,))",
    "np.linalg.inv(x)",
    "np.linalg.det(x)",
    "np.cov(x)",
    "np.diag(x)",
    "np.einsum('...i,...i->...', x, x)",
    "np.matmul(x, x)",
    "np.random.rand(*x[..., :1].shape)",
    "np.random.randn(*x.shape)",
    "np.random.rand(2, 3)",
    "x.astype(np.float32)",
    "x[..., :0]",
    "x[2:1]",
]


@settings(max_examples=80, deadline=None)
@given(dims=st.lists(st.integers(1, 4), min_size=1, max_size=3), call=st.sampled_from(_NUMPY_CALLS))
def test_numpy_rules_agree_with_numpy(dims: list[int], call: str) -> None:
    spec = " ".join(map(str, dims))
    source = (
        f"import numpy as np\nfrom jaxtyping import Float\n\n\n"
        f'def f(x: Float[np.ndarray, "{spec}"]):\n    y = {call}\n'
    )
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "arrays.py"
        path.write_text(source)
        found = [b for b in shapes_of(path) if b.name == "y"]
    rule = found[0].shape if found and found[0].shape is not None else None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the covariance of one observation, say
            x = np.ones(dims)
            if len(dims) >= 2 and dims[-1] == dims[-2]:
                x = np.broadcast_to(np.eye(dims[-1]), dims).copy()  # invertible
            made = eval(call, {"np": np, "x": x})
        real: tuple[str, ...] | None = tuple(str(n) for n in np.shape(made))
    except (ValueError, IndexError, np.linalg.LinAlgError):
        real = None
    if rule is not None and "_" not in rule:
        assert rule == real, call


def test_noise_of_an_empty_slice_is_a_finding(tmp_path: Path) -> None:
    source = (
        "import numpy as np\n"
        "def f(x: Float[np.ndarray, '*B H W C']) -> Float[np.ndarray, '*B H W C']:\n"
        "    noise = np.random.rand(*x[..., :{k}].shape).astype(np.float32) - 0.5\n"
        "    return 256.0 * x + noise\n"
    )
    assert check_source(tmp_path, source.format(k=1)) == []
    assert check_source(tmp_path, source.format(k=0)) == [
        '8: (256.0 * x) + noise: (256.0 * x) "*B H W C" and noise "*B H W 0": C lines up with '
        "0 (torch would broadcast silently where one is 1, and fail otherwise; holds only if "
        "C == 0, and nothing here says they are equal)"
    ]


@settings(max_examples=60, deadline=None)
@given(
    dims=st.lists(st.integers(1, 4), min_size=1, max_size=3),
    axis=st.integers(-3, 2),
    call=st.sampled_from(
        [
            "torch.cat((x, x), axis={a})",
            "torch.stack((x, x), axis={a})",
            "x.sum(axis={a}, keepdims=True)",
            "x.mean(axis={a})",
            "x.argmax(axis={a})",
        ]
    ),
)
def test_axis_is_dim_as_torch_takes_it(dims: list[int], axis: int, call: str) -> None:
    expr = call.format(a=axis)
    real = torch_shape(lambda: eval(expr, {"torch": torch, "x": torch.ones(dims)}))
    agree(static_shape(dims, expr), real)


def test_transformer_lens_hook_point_gives_its_input_back(tmp_path: Path) -> None:
    source = (
        "from transformer_lens.hook_points import HookPoint\n"
        "class SAE(nn.Module):\n"
        "    def __init__(self) -> None:\n"
        "        super().__init__()\n"
        "        self.hook_acts = HookPoint()\n"
        "    def encode(\n"
        "        self, x: Float[Tensor, 'b d_in'], w: Float[Tensor, 'd_in d_sae']\n"
        "    ) -> Float[Tensor, 'b d_sae']:\n"
        "        acts = self.hook_acts(x @ w)\n"
        "        return self.hook_acts(x)\n"
    )
    assert check_source(tmp_path, source) == [
        "14: return of encode(): dim 'd_sae' is d_sae in w \"d_in d_sae\" but d_in in "
        'self.hook_acts(x) "b d_in"'
    ]


# Helpers that code defines: `default(y, x)`


@pytest.mark.parametrize(
    ("helper", "call", "expected"),
    [
        pytest.param(
            "def default(x, y):\n    return x if x is not None else y\n",
            "default(y, x)",
            [],
            id="given",
        ),
        pytest.param(
            "def default(x, y):\n    return x if x is not None else y\n",
            "default(x, y)",
            [
                "12: return of f(): dim 'r' is r in y \"r m\" but p in "
                'x.unsqueeze(1) - z.unsqueeze(0) "p p m"'
            ],
            id="swapped",
        ),
        pytest.param(
            "def exists(v):\n    return v is not None\n"
            "def default(val, d):\n    '''val, or d.'''\n    return val if exists(val) else d\n",
            "default(y, x)",
            [],
            id="exists",
        ),
        pytest.param(
            "def default(x, y):\n    return y if x is None else x\n",
            "default(x, y)",
            [
                "12: return of f(): dim 'r' is r in y \"r m\" but p in "
                'x.unsqueeze(1) - z.unsqueeze(0) "p p m"'
            ],
            id="is-none",
        ),
    ],
)
def test_a_defaulting_helper_gives_what_is_given(
    tmp_path: Path, helper: str, call: str, expected: list[str]
) -> None:
    source = (
        f"{helper}\n"
        "def f(x: Float[Tensor, 'p m'], y: Float[Tensor, 'r m'] | None = None)"
        " -> Float[Tensor, 'p r m']:\n"
        f"    z = {call}\n"
        "    return x.unsqueeze(1) - z.unsqueeze(0)\n"
    )
    found = check_source(tmp_path, source)
    lines = source.count("\n") + HEADER.count("\n")
    assert [f.split(": ", 1)[1] for f in found] == [e.split(": ", 1)[1] for e in expected]
    assert all(int(f.split(":")[0]) == lines for f in found)


# Slices of a named size


@settings(max_examples=60, deadline=None)
@given(
    n=st.integers(0, 6),
    lo=st.sampled_from(["", "0", "1", "2", "-1", "-2"]),
    hi=st.sampled_from(["", "1", "-1", "-2", "3"]),
)
def test_slice_of_a_named_size_agrees_with_torch(n: int, lo: str, hi: str) -> None:
    # "2 n+1"[:, lo:hi] gives a size in n: torch's, where the axis is as long as the slice
    # drops (torch gives 0 where it is shorter), and as long as a literal end `hi`, which
    # code that slices to hi means to reach.
    expr = f"x[:, {lo}:{hi}]"
    source = f'{HEADER}\n\ndef f(x: Float[Tensor, "2 n+1"]):\n    y = {expr}\n'
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "slices.py"
        path.write_text(source)
        found = [b for b in shapes_of(path) if b.name == "y"]
    assert found and found[0].shape is not None
    size = found[0].shape[1]
    real = eval(expr, {"x": torch.zeros(2, n + 1)}).shape[1]
    if not size.startswith("?"):
        value = eval(size, {"n": n})
        short = hi.isdigit() and n + 1 < int(hi)
        assert value == real or (value < 0 and real == 0) or short, (expr, size)


@settings(max_examples=40, deadline=None)
@given(n=st.integers(0, 4), lo=st.integers(0, 3), hi=st.integers(0, 3))
def test_a_slice_within_the_least_a_size_can_be_is_exact(n: int, lo: int, hi: int) -> None:
    # An axis of `n+3` is never shorter than 3, so `[lo:hi]` with 0 <= lo <= hi <= 3 keeps
    # hi - lo of it, whatever n is; torch agrees.
    expr = f"x[:, {lo}:{hi}]"
    source = f'{HEADER}\n\ndef f(x: Float[Tensor, "2 n+3"]):\n    y = {expr}\n'
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "slices.py"
        path.write_text(source)
        found = [b for b in shapes_of(path) if b.name == "y"]
    assert found and found[0].shape is not None
    real = eval(expr, {"x": torch.zeros(2, n + 3)}).shape[1]
    if lo <= hi:
        assert found[0].shape[1] == str(real)


def test_slices_of_the_fixed_part_of_a_size_are_checked(tmp_path: Path) -> None:
    source = (
        "def split(sgs: Float[Tensor, 'n 4+m'], normal: Float[Tensor, 'n 3']) -> Float[Tensor, 'n']:\n"
        "    lobes = sgs[..., :3]\n"
        "    lam = sgs[..., 3:4]\n"
        "    return (lobes * normal).sum(-1) * lam[..., 0]\n"
        "def wrong(sgs: Float[Tensor, 'n 4+m'], normal: Float[Tensor, 'n 3']) -> Float[Tensor, 'n']:\n"
        "    lobes = sgs[..., :2]\n"
        "    return (lobes * normal).sum(-1)\n"
    )
    assert check_source(tmp_path, source) == [
        '11: lobes * normal: lobes "n 2" and normal "n 3": 2 lines up with 3 (torch would '
        "broadcast silently where one is 1, and fail otherwise)"
    ]


def test_a_loop_variable_over_range_indexes_as_an_int(tmp_path: Path) -> None:
    source = (
        "def f(x: Float[Tensor, 'b c n']) -> Float[Tensor, 'b c n']:\n"
        "    for i in range(x.shape[1]):\n"
        "        row = x[..., i, :]\n"
        "        bad = x[i] + row\n"
        "    return x\n"
    )
    assert check_source(tmp_path, source) == [
        '8: x[i] + row: x[i] "c n" and row "b n": c lines up with b (torch would '
        "broadcast silently where one is 1, and fail otherwise)"
    ]


def test_the_components_of_a_low_rank_pca_have_the_rank_asked_for(tmp_path: Path) -> None:
    source = (
        "def project(x: Float[Tensor, 'n d']) -> Float[Tensor, 'n 3']:\n"
        "    _, _, v = torch.pca_lowrank(x, q=3)\n"
        "    return x @ v\n"
        "def wrong(x: Float[Tensor, 'n d']) -> Float[Tensor, 'n 3']:\n"
        "    _, _, v = torch.pca_lowrank(x, q=3)\n"
        "    return x @ v.T\n"
    )
    assert check_source(tmp_path, source) == [
        '10: x @ v.T: inner dim is d in x "n d" but 3 in v.T "3 d"; did you mean v?'
    ]


# Ops of several tensors, and of lookups, against torch

_Op = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
_MORE_CALLS: list[tuple[str, _Op]] = [
    ("torch.cdist(x, g)", lambda x, g: torch.cdist(x, g)),
    ("torch.outer(x, g)", lambda x, g: torch.outer(x, g)),
    ("torch.trace(x)", lambda x, g: torch.trace(x)),
    ("torch.lerp(x, g, 0.5)", lambda x, g: torch.lerp(x, g, 0.5)),
    ("torch.addcmul(x, g, x)", lambda x, g: torch.addcmul(x, g, x)),
    ("torch.isin(x, g)", lambda x, g: torch.isin(x, g)),
    ("torch.bucketize(x, g.flatten())", lambda x, g: torch.bucketize(x, g.flatten())),
    ("F.one_hot(x.long(), 5)", lambda x, g: F.one_hot(x.long(), 5)),
    ("torch.randperm(x.shape[0])", lambda x, g: torch.randperm(x.shape[0])),
    ("torch.pca_lowrank(x, q=1)[2]", lambda x, g: torch.pca_lowrank(x, q=1)[2]),
    ("torch.svd_lowrank(x, 1)[0]", lambda x, g: torch.svd_lowrank(x, 1)[0]),
    ("torch.pca_lowrank(x, q=1)[1]", lambda x, g: torch.pca_lowrank(x, q=1)[1]),
]


@settings(max_examples=80, deadline=None)
@given(
    a=st.lists(st.integers(1, 3), min_size=1, max_size=3),
    b=st.lists(st.integers(1, 3), min_size=1, max_size=3),
    which=st.integers(0, len(_MORE_CALLS) - 1),
)
def test_more_ops_agree_with_torch(a: list[int], b: list[int], which: int) -> None:
    expr, fn = _MORE_CALLS[which]
    x, g = torch.zeros(a), torch.ones(b)
    agree(static_shape(a, expr, other=b), torch_shape(lambda: fn(x, g)))


# Containers and reshaping layers


def test_sequential_applies_its_layers_in_turn(tmp_path: Path) -> None:
    source = (
        "class Net(nn.Module):\n"
        "    def __init__(self, d_in: int, d_hidden: int, d_out: int) -> None:\n"
        "        super().__init__()\n"
        "        self.ok = nn.Sequential(\n"
        "            nn.Linear(d_in, d_hidden), nn.ReLU(), nn.Linear(d_hidden, d_out)\n"
        "        )\n"
        "        self.bad = nn.Sequential(nn.Linear(d_in, d_hidden), nn.Linear(d_in, d_out))\n"
        "    def forward(self, x: Float[Tensor, 'b d_in']):\n"
        "        y = self.ok(x)\n"
        "        return self.bad(x)\n"
    )
    assert check_source(tmp_path, source) == [
        "14: self.bad[1](self.bad[0](x)): last dim is d_hidden in self.bad[0](x) "
        '"b d_hidden" but the layer\'s in_features is d_in (holds only if d_in == d_hidden, '
        "and nothing here says they are equal)"
    ]
    path = tmp_path / "snippet.py"
    assert [b.shape for b in shapes_of(path) if b.name == "y"] == [("b", "d_out")]


@settings(max_examples=60, deadline=None)
@given(
    dims=st.lists(st.integers(1, 4), min_size=1, max_size=4),
    start=st.integers(-3, 2),
    end=st.integers(-3, 2),
    scale=st.sampled_from(["size=5", "size=(2, 3)", "scale_factor=2"]),
)
def test_flatten_and_upsample_layers_agree_with_torch(
    dims: list[int], start: int, end: int, scale: str
) -> None:
    x = torch.zeros(dims)
    flat = torch.nn.Flatten(start, end)
    agree(
        static_shape(dims, "flat(x)", f"flat = nn.Flatten({start}, {end})"),
        torch_shape(lambda: flat(x)),
    )
    up = eval(f"torch.nn.Upsample({scale})")
    real = torch_shape(lambda: up(x))
    rule = static_shape(dims, "up(x)", f"up = nn.Upsample({scale})")
    agree(rule, real)


@settings(deadline=None, max_examples=60)
@given(
    dims=st.lists(st.integers(1, 4), min_size=1, max_size=3),
    dim=st.integers(-3, 2),
    keep=st.booleans(),
    call=st.sampled_from(
        [
            "torch.quantile(x, 0.5, dim={d}, keepdim={k})",
            "x.nanquantile(g, dim={d}, keepdim={k})",
            "torch.quantile(x, g)",
            "torch.std_mean(x, dim={d}, keepdim={k})[0]",
            "torch.var_mean(x, {d})[1]",
            "torch.aminmax(x, dim={d}, keepdim={k}).max",
            "x.kthvalue(1, {d}, {k}).indices",
            "x.kthvalue(1).values",
            "torch.special.logsumexp(x, {d}, keepdim={k})",
        ]
    ),
)
def test_more_reductions_agree_with_torch(dims: list[int], dim: int, keep: bool, call: str) -> None:
    expr = call.format(d=dim, k=keep)
    x, g = torch.rand(dims), torch.rand(2)
    want = torch_shape(lambda: eval(expr, {"torch": torch, "x": x, "g": g}))
    got = static_shape(dims, expr, other=[2])
    if got is not None:
        assert got == want, expr
    else:
        assert want is None or dim >= len(dims) or dim < -len(dims), expr


def test_a_stack_with_some_items_of_unknown_shape_takes_the_known_ones(tmp_path: Path) -> None:
    # `scale` is unknown, so `a` is; torch stacks only equal shapes, so a is "n" as c is.
    source = """
def f(x: Float[Tensor, "n 3"], scale) -> Float[Tensor, "n 3"]:
    a = scale * x[:, 0]
    c = x[:, 2] + 1
    return torch.stack([a, a, c], {dim})
"""
    assert check_source(tmp_path, source.format(dim=-1)) == []
    assert check_source(tmp_path, source.format(dim=0)) == [
        '9: return of f(): dim \'n\' is n in x "n 3" but 3 in torch.stack([a, a, c], 0) "3 n" '
        "(holds only if n == 3, and nothing here says they are equal)"
    ]


def test_a_cat_with_an_item_of_unknown_shape_keeps_the_other_axes(tmp_path: Path) -> None:
    # `emb(x)` is unknown: along the joined axis the size is unknown, the others are x's.
    source = """
def f(x: Float[Tensor, "b n 3"], emb) -> Float[Tensor, "b n 6"]:
    return torch.cat([x, emb(x)], dim={dim})
"""
    assert check_source(tmp_path, source.format(dim=-1)) == []
    assert check_source(tmp_path, source.format(dim=-2)) == [
        "7: return of f(): dim '6' is 3 in torch.cat([x, emb(x)], dim=-2) "
        '"b ? 3", expected 6 ("b n 6") (? is an unknown size)'
    ]


def test_a_tensor_made_from_the_shape_of_an_unknown_attribute_is_unknown(tmp_path: Path) -> None:
    # `self.mean.shape` is a whole shape, not one size named `self.mean.shape`: the noise is
    # of unknown rank, and so is the cat of it with u along axis 1.
    source = """
class Posterior:
    def __init__(self, p):
        self.mean, self.logvar = torch.chunk(p, 2, dim=1)

    def sample(self):
        return self.mean + torch.randn(self.mean.shape)


def f(u, p) -> None:
    z = Posterior(p).sample()
    y = torch.cat([u, z], dim=1)
"""
    assert check_source(tmp_path, source) == []

"""Static rules of the functional norms (F.layer_norm, F.rms_norm, F.group_norm): their
findings, and that they agree with torch on literal sizes."""

from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from shapesafe._static import check_file

HEADER = """\
import torch.nn.functional as F
from jaxtyping import Float
from torch import Tensor
"""


def findings(tmp_path: Path, source: str) -> list[str]:
    path = tmp_path / "snippet.py"
    path.write_text(HEADER + source)
    return [f.message for f in check_file(path)]


def fn(params: str, body: str) -> str:
    return f"\n\ndef f({params}) -> Tensor:\n    return {body}\n"


X = 'x: Float[Tensor, "batch seq embed"]'


@pytest.mark.parametrize(
    ("params", "body", "expected"),
    [
        pytest.param(
            f'{X}, w: Float[Tensor, "embed"], b: Float[Tensor, "seq"]',
            "F.layer_norm(x, (x.shape[-1],), w, b)",
            'F.layer_norm(x, (x.shape[-1],), w, b): bias b "seq" has seq where '
            'normalized_shape (x.shape[-1],) is "embed"',
            id="bias",
        ),
        pytest.param(
            f'{X}, w: Float[Tensor, "seq"]',
            "F.layer_norm(x, normalized_shape=(x.shape[-1],), weight=w)",
            'F.layer_norm(x, normalized_shape=(x.shape[-1],), weight=w): weight w "seq" has '
            'seq where normalized_shape (x.shape[-1],) is "embed"',
            id="keywords",
        ),
        pytest.param(
            X,
            "F.layer_norm(x, (x.shape[1],))",
            'F.layer_norm(x, (x.shape[1],)): x "batch seq embed" ends in embed where '
            'normalized_shape (x.shape[1],) is "seq"',
            id="normalized-shape-not-trailing",
        ),
        pytest.param(
            f'{X}, w: Float[Tensor, "seq embed"]',
            "F.layer_norm(x, (x.shape[-1],), w)",
            'F.layer_norm(x, (x.shape[-1],), w): weight w "seq embed" has 2 dims but '
            'normalized_shape (x.shape[-1],) is "embed"',
            id="weight-rank",
        ),
        pytest.param(
            f'{X}, w: Float[Tensor, "8"]',
            "F.layer_norm(x, (x.shape[-1],), w)",
            'F.layer_norm(x, (x.shape[-1],), w): weight w "8" has 8 where normalized_shape '
            '(x.shape[-1],) is "embed" (holds only if embed == 8, and nothing here says they '
            "are equal)",
            id="weight-literal",
        ),
        pytest.param(
            f'{X}, w: Float[Tensor, "seq"]',
            "F.rms_norm(x, w.shape, w)",
            'F.rms_norm(x, w.shape, w): x "batch seq embed" ends in embed where '
            'normalized_shape w.shape is "seq"',
            id="rms-norm",
        ),
        pytest.param(
            'x: Float[Tensor, "batch c h w"], g: Float[Tensor, "h"]',
            "F.group_norm(x, 4, g)",
            'F.group_norm(x, 4, g): weight g "h" has h where x "batch c h w" has c channels '
            "(dim 1)",
            id="group-norm",
        ),
    ],
)
def test_norm_findings(tmp_path: Path, params: str, body: str, expected: str) -> None:
    assert findings(tmp_path, fn(params, body)) == [expected]


@pytest.mark.parametrize(
    ("params", "body"),
    [
        pytest.param(f'{X}, w: Float[Tensor, "embed"]', "F.layer_norm(x, x.shape[-1:], w)"),
        pytest.param(f'{X}, w: Float[Tensor, "embed"]', "F.layer_norm(x, w.shape, w, w)"),
        pytest.param(
            'x: Float[Tensor, "*b embed"], w: Float[Tensor, "embed"]',
            "F.layer_norm(x, w.shape, weight=w, bias=None, eps=1e-5)",
        ),
        pytest.param(f'{X}, w: Float[Tensor, "seq embed"]', "F.layer_norm(x, x.shape[-2:], w, w)"),
        pytest.param(f'{X}, w: Float[Tensor, "embed"]', "F.rms_norm(x, (x.shape[-1],), w)"),
        pytest.param(
            'x: Float[Tensor, "batch c h w"], g: Float[Tensor, "c"]', "F.group_norm(x, 2, g, g)"
        ),
        pytest.param(f"{X}, norm_shape: tuple[int]", "F.layer_norm(x, norm_shape)"),
    ],
)
def test_norms_of_the_right_sizes_are_silent(tmp_path: Path, params: str, body: str) -> None:
    assert findings(tmp_path, fn(params, body)) == []


dims = st.lists(st.integers(1, 4), min_size=1, max_size=3)


@settings(max_examples=40, deadline=None)
@given(x=dims, normalized=dims, weight=dims, bias=dims)
def test_layer_norm_agrees_with_torch(
    tmp_path_factory: pytest.TempPathFactory,
    x: list[int],
    normalized: list[int],
    weight: list[int],
    bias: list[int],
) -> None:
    # A finding exactly where torch refuses the call.
    try:
        F.layer_norm(torch.zeros(x), normalized, torch.ones(weight), torch.zeros(bias))
        refused = False
    except RuntimeError:
        refused = True
    spec = {n: " ".join(map(str, d)) for n, d in (("x", x), ("w", weight), ("b", bias))}
    params = ", ".join(f'{n}: Float[Tensor, "{s}"]' for n, s in spec.items())
    body = f"F.layer_norm(x, ({', '.join(map(str, normalized))},), w, b)"
    tmp = tmp_path_factory.mktemp("norm")
    assert bool(findings(tmp, fn(params, body))) == refused

"""Activations, dropout and RMS norm: values against torch, and the errors each catches."""

import re
from collections.abc import Callable
from typing import Any

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st
from torch.testing import assert_close

import shapesafe as ss
from tests.helpers import check_grads, expect_shape_error, randn

Shape = tuple[int, ...]
shapes = st.lists(st.integers(1, 4), min_size=0, max_size=4).map(tuple)


def _hf_rms_norm(x: torch.Tensor, weight: torch.Tensor, eps: float = 1e-6) -> torch.Tensor:
    """torch's own RMS norm, in float32 and cast back as Llama's RMSNorm does."""
    return weight * F.rms_norm(x.float(), (x.shape[-1],), eps=eps).to(x.dtype)


VALUE_CASES = [
    pytest.param(ss.relu, (randn(2, 3, 4),), F.relu, id="relu"),
    pytest.param(ss.silu, (randn(2, 3, 4),), F.silu, id="silu"),
    pytest.param(ss.gelu, (randn(2, 3, 4),), F.gelu, id="gelu"),
    pytest.param(
        ss.gelu, (randn(5), "tanh"), lambda x, a: F.gelu(x, approximate=a), id="gelu-tanh"
    ),
    pytest.param(ss.relu, (torch.tensor(-2.0),), F.relu, id="relu-0d"),
    pytest.param(ss.rms_norm, (randn(2, 3, 8), randn(8)), _hf_rms_norm, id="rms_norm"),
    pytest.param(
        ss.rms_norm,
        (randn(4, 8), randn(8), 1e-5),
        lambda x, w, eps: _hf_rms_norm(x, w, eps),
        id="rms_norm-eps",
    ),
    pytest.param(
        ss.dropout, (randn(3, 4), 0.5, False), lambda x, p, t: F.dropout(x, p, t), id="dropout-eval"
    ),
]


@pytest.mark.parametrize(("op", "args", "reference"), VALUE_CASES)
def test_values_match_torch(
    op: Callable[..., Any], args: tuple[Any, ...], reference: Callable[..., Any]
) -> None:
    assert_close(op(*args), reference(*args))


@pytest.mark.parametrize(("op", "args", "reference"), VALUE_CASES)
def test_gradients_reach_every_input(
    op: Callable[..., Any], args: tuple[Any, ...], reference: Callable[..., Any]
) -> None:
    leaves = [
        a.detach().clone().requires_grad_(True) if isinstance(a, torch.Tensor) else a for a in args
    ]
    check_grads(op(*leaves), [a for a in leaves if isinstance(a, torch.Tensor)])


def test_rms_norm_works_in_float32_and_casts_back() -> None:
    x = (randn(2, 3, 64) * 30).to(torch.bfloat16)
    weight = randn(64).to(torch.bfloat16)
    out = ss.rms_norm(x, weight)
    assert out.dtype == torch.bfloat16
    wide = x.float()
    expected = weight * (wide * torch.rsqrt(wide.pow(2).mean(-1, keepdim=True) + 1e-6)).to(x.dtype)
    assert_close(out, expected, rtol=0, atol=0)
    # A float32 weight, as a model kept in float32 with bfloat16 activations has, promotes.
    assert ss.rms_norm(x, weight.float()).dtype == torch.float32


def test_dropout_in_training_matches_torch_with_the_same_seed() -> None:
    x = randn(8, 16)
    torch.manual_seed(0)
    out = ss.dropout(x, 0.25, True)
    torch.manual_seed(0)
    assert_close(out, F.dropout(x, 0.25, True))
    assert ss.dropout(x, 0.25, False) is x or torch.equal(ss.dropout(x, 0.25, False), x)


def test_dropout_needs_to_be_told_whether_it_is_training() -> None:
    with pytest.raises(TypeError, match="training"):
        ss.dropout(randn(3), 0.1)  # type: ignore[call-arg]


@pytest.mark.parametrize("p", [-0.1, 1.5, True])
def test_dropout_probability_out_of_range_is_a_value_error(p: Any) -> None:
    with pytest.raises(ValueError, match=re.escape("dropout(): p must be a probability in [0, 1]")):
        ss.dropout(randn(3), p, True)


def test_gelu_approximation_must_be_none_or_tanh() -> None:
    with pytest.raises(ValueError, match=re.escape("gelu(): approximate must be 'none' or 'tanh'")):
        ss.gelu(randn(3), "erf")


ERROR_CASES = [
    pytest.param(ss.relu, (torch.arange(3),), "x", None, id="relu-int"),
    pytest.param(ss.silu, ([1.0, 2.0],), "x", None, id="silu-list"),
    pytest.param(ss.gelu, (torch.ones(2, dtype=torch.bool),), "x", None, id="gelu-bool"),
    pytest.param(ss.rms_norm, (randn(2, 3, 8), randn(3)), "weight", "e", id="rms_norm-weight-size"),
    pytest.param(
        ss.rms_norm, (randn(2, 3, 8), randn(1, 8)), "weight", None, id="rms_norm-weight-2d"
    ),
    pytest.param(ss.rms_norm, (torch.tensor(1.0), randn(1)), "x", None, id="rms_norm-scalar"),
]


@pytest.mark.parametrize(("op", "args", "argument", "dim"), ERROR_CASES)
def test_errors_name_the_argument(
    op: Callable[..., Any], args: tuple[Any, ...], argument: str, dim: str | None
) -> None:
    expect_shape_error(op, args, argument, dim)


def test_rms_norm_weight_for_the_wrong_axis_message() -> None:
    with pytest.raises(ss.ShapeError) as info:
        ss.rms_norm(randn(2, 3, 8), randn(3))
    assert str(info.value).splitlines()[0] == (
        "rms_norm(): argument 'weight' dim 'e' is 3 at weight.shape[0], expected 8 "
        "(bound by x.shape[2])"
    )


def test_rms_norm_weight_on_another_device_names_it() -> None:
    err = expect_shape_error(ss.rms_norm, (randn(2, 4), torch.randn(4, device="meta")), "weight")
    assert str(err).splitlines()[0] == (
        "rms_norm(): argument 'weight' has device meta, expected cpu like 'x'"
    )


@pytest.mark.parametrize(
    ("op", "reference"),
    [
        pytest.param(ss.relu, F.relu, id="relu"),
        pytest.param(ss.silu, F.silu, id="silu"),
        pytest.param(ss.gelu, F.gelu, id="gelu"),
        pytest.param(lambda x: ss.dropout(x, 0.3, False), lambda x: x, id="dropout-eval"),
    ],
)
@settings(max_examples=30, deadline=None)
@given(shape=shapes, floating=st.booleans())
def test_activations_take_any_float_shape(
    op: Callable[..., Any], reference: Callable[..., Any], shape: Shape, floating: bool
) -> None:
    x = torch.randn(shape) if floating else torch.randint(0, 5, shape)
    if floating:
        assert_close(op(x), reference(x))
    else:
        with pytest.raises(ss.ShapeError):
            op(x)


@settings(max_examples=60, deadline=None)
@given(pair=st.tuples(shapes, shapes, st.booleans()))
def test_rms_norm_pairs(pair: tuple[Shape, Shape, bool]) -> None:
    x_shape, w_shape, related = pair
    if related and x_shape:
        w_shape = x_shape[-1:]
    x, w = torch.randn(x_shape), torch.randn(w_shape)
    if len(x_shape) >= 1 and len(w_shape) == 1 and x_shape[-1] == w_shape[0]:
        assert_close(ss.rms_norm(x, w), _hf_rms_norm(x, w))
    else:
        with pytest.raises(ss.ShapeError):
            ss.rms_norm(x, w)
